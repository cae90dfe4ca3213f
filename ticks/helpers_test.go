package ticks

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

const (
	oandaTestdata   = "testdata/oanda_head50.csv"    // header + first 50 rows of the real OANDA file
	binanceTestdata = "testdata/binance_head70.csv"  // header + first 70 rows of the real Binance file
	tickwireGolden  = "testdata/tickwire_merged.csv" // Writer output for Merge(oanda, binance) testdata
)

// sharedTicksDir returns the directory holding the full recorded files,
// ../shared/data/ticks relative to the repository root (CI keeps a copy of
// shared/ beside the clone). It skips the test when the directory is absent.
func sharedTicksDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("real tick data: repository root (go.mod) not found; skipping")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared", "data", "ticks")
	if fi, err := os.Stat(shared); err != nil || !fi.IsDir() {
		tb.Skipf("real tick data not found at %s (expected a copy of shared/ beside the repository clone); skipping", shared)
	}
	return shared
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAllFile opens path and reads every tick, failing the test on error.
func readAllFile(tb testing.TB, path string, opt Options) []Tick {
	tb.Helper()
	r, err := Open(path, opt)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	ts, err := ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

// readAllString parses s with NewReader, returning the ticks read before
// any error.
func readAllString(tb testing.TB, s string, opt Options) ([]Tick, *Reader, error) {
	tb.Helper()
	r, err := NewReader(bytes.NewReader([]byte(s)), "test.csv", opt)
	if err != nil {
		return nil, nil, err
	}
	ts, err := ReadAll(r)
	return ts, r, err
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// tickEqual compares ticks field by field, times with Equal.
func tickEqual(a, b Tick) bool {
	return a.Time.Equal(b.Time) && a.Symbol == b.Symbol && a.Kind == b.Kind &&
		a.Bid == b.Bid && a.BidSize == b.BidSize && a.Ask == b.Ask && a.AskSize == b.AskSize &&
		a.Price == b.Price && a.Size == b.Size && a.Aggressor == b.Aggressor
}

func ticksEqual(tb testing.TB, got, want []Tick) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d ticks, want %d", len(got), len(want))
	}
	for i := range got {
		if !tickEqual(got[i], want[i]) {
			tb.Fatalf("tick %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}
