package demodata_test

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/demodata"
	"tickwire/ticks"
)

func TestDemodataParses(t *testing.T) {
	r, err := ticks.NewReader(demodata.Open(), demodata.Name, ticks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != ticks.FormatOANDA {
		t.Fatalf("format %v, want oanda", r.Format())
	}
	ts, err := ticks.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for i, tk := range ts {
		n[tk.Symbol]++
		if i > 0 && tk.Time.Before(ts[i-1].Time) {
			t.Fatalf("tick %d goes back in time", i)
		}
	}
	if len(ts) != 39473 || n["EURUSD"] != 33834 || n["NZDUSD"] != 5639 || len(n) != 2 {
		t.Fatalf("%d ticks %v; want 39473: EURUSD 33834, NZDUSD 5639", len(ts), n)
	}
	// The window named in the file: [12:28, 13:28) UTC on 2014-05-08.
	from := time.Date(2014, 5, 8, 12, 28, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	first, last := ts[0].Time, ts[len(ts)-1].Time
	if first.Before(from) || !last.Before(to) {
		t.Errorf("ticks span %v to %v, outside [%v, %v)", first, last, from, to)
	}
	if span := last.Sub(first); span < 59*time.Minute {
		t.Errorf("span %v, want about 60 minutes", span)
	}
	if !strings.Contains(demodata.Name, "_1228-1328.csv.gz") {
		t.Errorf("Name %q does not name the window", demodata.Name)
	}
}

// TestDemodataVerbatim checks the excerpt against the full recorded file in
// ../shared/data/ticks (skipped when absent): the same header, then exactly
// the original rows with 12:28 <= time < 13:28, byte for byte.
func TestDemodataVerbatim(t *testing.T) {
	dir := sharedTicksDir(t)
	f, err := os.Open(filepath.Join(dir, "oanda_eurusd_nzdusd_2014-05-08_ticks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(want) == 0 || (line >= "2014-05-08T12:28:00" && line < "2014-05-08T13:28:00") {
			want = append(want, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(demodata.Open())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(want, "\n") + "\n"; string(b) != got {
		t.Fatalf("embedded rows differ from the original window (%d vs %d bytes)", len(b), len(got))
	}
}

// sharedTicksDir returns ../shared/data/ticks relative to the repository
// root, or skips the test.
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
			tb.Skip("repository root (go.mod) not found; skipping")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared", "data", "ticks")
	if fi, err := os.Stat(shared); err != nil || !fi.IsDir() {
		tb.Skipf("real tick data not found at %s (expected a copy of shared/ beside the repository clone); skipping", shared)
	}
	return shared
}
