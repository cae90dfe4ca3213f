package ticks

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func writeAll(tb testing.TB, ts []Tick) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, tk := range ts {
		if err := w.Write(tk); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func testdataMerged(tb testing.TB) []Tick {
	tb.Helper()
	a, err := Open(oandaTestdata, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := Open(binanceTestdata, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	m := Merge(a, b)
	defer m.(io.Closer).Close()
	ts, err := ReadAll(m)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

// TestWriterGolden pins the tickwire format: the merged testdata written by
// Writer must match testdata/tickwire_merged.csv (go test -update rewrites it).
func TestWriterGolden(t *testing.T) {
	ts := testdataMerged(t)
	got := writeAll(t, ts)
	if *update {
		if err := os.WriteFile(tickwireGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readFile(t, tickwireGolden)
	if !bytes.Equal(got, want) {
		t.Fatalf("Writer output differs from %s (run go test -update to accept)\n got:\n%.600s", tickwireGolden, got)
	}
	// The golden file reads back exactly, as the tickwire format.
	r, err := Open(tickwireGolden, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != FormatTickwire {
		t.Fatalf("format %v", r.Format())
	}
	back, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	ticksEqual(t, back, ts)
}

func TestWriterRoundTripEdges(t *testing.T) {
	base := time.Date(2024, 8, 8, 23, 54, 14, 123456789, time.UTC)
	ts := []Tick{
		{Time: base, Symbol: "EURUSD", Kind: KindQuote, Bid: 1.0842, Ask: 1.0841}, // crossed
		{Time: base.Add(1), Symbol: "BTCUSDT", Kind: KindTrade, Price: 61837.63, Size: 0.1 + 0.2, Aggressor: 'B'},
		{Time: base.Add(2), Symbol: "X", Kind: KindTrade, Price: math.SmallestNonzeroFloat64, Size: math.MaxFloat64, Aggressor: 'S'},
		{Time: base.Add(3), Symbol: "NEG", Kind: KindQuote, Bid: -37.63, BidSize: math.Copysign(0, -1), Ask: 1e-300, AskSize: 1e21},
		{Time: base, Symbol: `A,"B"`, Kind: KindQuote, Bid: 1, Ask: 2},            // needs CSV quoting
		{Time: base, Symbol: " SPACED ", Kind: KindTrade, Price: 3, Size: 4},      // spaces kept
		{Time: minTime, Symbol: "MIN", Kind: KindQuote, Price: 5, Aggressor: 'S'}, // odd but representable
		{Time: maxTime, Symbol: "MAX", Kind: KindTrade},
		{Time: time.Unix(0, 0).UTC(), Symbol: "ÉTÉ€", Kind: KindQuote},
	}
	got, _, err := readAllString(t, string(writeAll(t, ts)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticksEqual(t, got, ts)
	if !math.Signbit(got[3].BidSize) {
		t.Errorf("-0 lost its sign")
	}
	// Times in another zone come back as the same instant, in UTC.
	nyc := time.FixedZone("EDT", -4*3600)
	got, _, err = readAllString(t, string(writeAll(t, []Tick{{Time: base.In(nyc), Symbol: "Z", Kind: KindQuote}})), Options{})
	if err != nil || !got[0].Time.Equal(base) || got[0].Time.Location() != time.UTC {
		t.Fatalf("zoned time: %v, %v", got, err)
	}
}

func TestWriterRejects(t *testing.T) {
	good := Tick{Time: time.Unix(1, 0), Symbol: "EURUSD", Kind: KindQuote, Bid: 1, Ask: 2}
	for _, tc := range []struct {
		name string
		mod  func(*Tick)
		want error
	}{
		{"kind", func(t *Tick) { t.Kind = 'X' }, ErrBadKind},
		{"zero kind", func(t *Tick) { t.Kind = 0 }, ErrBadKind},
		{"empty symbol", func(t *Tick) { t.Symbol = "" }, ErrBadSymbol},
		{"newline symbol", func(t *Tick) { t.Symbol = "EUR\nUSD" }, ErrBadSymbol},
		{"zero time", func(t *Tick) { t.Time = time.Time{} }, ErrBadTime},
		{"NaN", func(t *Tick) { t.Ask = math.NaN() }, ErrBadNumber},
		{"Inf", func(t *Tick) { t.Size = math.Inf(-1) }, ErrBadNumber},
		{"aggressor", func(t *Tick) { t.Aggressor = 'b' }, ErrBadAggressor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			bad := good
			tc.mod(&bad)
			if err := w.Write(bad); !errors.Is(err, tc.want) {
				t.Fatalf("Write = %v, want %v", err, tc.want)
			}
			// Nothing written for the bad tick; the Writer stays usable.
			if err := w.Write(good); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			got, _, err := readAllString(t, buf.String(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			ticksEqual(t, got, []Tick{good})
		})
	}
}

func TestWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != strings.Join(tickwireHeader, ",")+"\n" {
		t.Fatalf("empty file = %q", buf.String())
	}
	ts, r, err := readAllString(t, buf.String(), Options{})
	if err != nil || len(ts) != 0 || r.Format() != FormatTickwire {
		t.Fatalf("read back: %v %v", ts, err)
	}
}

type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errDiskFull
}

func TestWriterStickyError(t *testing.T) {
	fw := &failWriter{}
	w := NewWriter(fw)
	tk := Tick{Time: time.Unix(1, 0), Symbol: "EURUSD", Kind: KindQuote}
	if err := w.Write(tk); err != nil {
		t.Fatal(err) // buffered
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush = %v", err)
	}
	if err := w.Write(tk); !errors.Is(err, errDiskFull) {
		t.Fatalf("Write after error = %v", err)
	}
	if fw.n != 1 {
		t.Fatalf("underlying writer called %d times after the error", fw.n)
	}
}

// TestCreate: Create writes a plain or (for .gz) gzipped file that Open reads
// back; after Flush, before Close, a reader already sees every tick written.
func TestCreate(t *testing.T) {
	ts := spaced(5, time.Millisecond)
	for _, name := range []string{"out.csv", "out.csv.gz"} {
		path := t.TempDir() + "/" + name
		w, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range ts[:3] {
			if err := w.Write(tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		readBack := func() []Tick {
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := ReadAll(r)
			if err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && strings.HasSuffix(name, ".gz")) {
				t.Fatalf("%s: %v", name, err)
			}
			return got
		}
		if got := readBack(); len(got) != 3 {
			t.Errorf("%s: %d ticks after Flush, want 3", name, len(got))
		}
		for _, tk := range ts[3:] {
			if err := w.Write(tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readBack(); len(got) != len(ts) || !got[4].Time.Equal(ts[4].Time) {
			t.Errorf("%s: %d ticks after Close, want %d", name, len(got), len(ts))
		}
		b, _ := os.ReadFile(path)
		if gz := len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b; gz != strings.HasSuffix(name, ".gz") {
			t.Errorf("%s: gzipped %v", name, gz)
		}
	}
}
