package ticks

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The full recorded files from ../shared/data/ticks (see SOURCES.txt
// there). These tests skip when that directory is absent.
const (
	realOANDA   = "oanda_eurusd_nzdusd_2014-05-08_ticks.csv"
	realBinance = "binance_spot_btcusdt_ethusdt_2024-08-08T2354Z_ticks.csv"
)

type realCounts struct {
	rows        int
	symbols     map[string]int
	kinds       map[Kind]int
	aggressors  map[byte]int
	first, last time.Time
}

func countReal(t *testing.T, path string) realCounts {
	t.Helper()
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := realCounts{symbols: map[string]int{}, kinds: map[Kind]int{}, aggressors: map[byte]int{}}
	for {
		tk, err := r.Next()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatal(err)
		}
		if c.rows > 0 && tk.Time.Before(c.last) {
			t.Fatalf("row %d goes back in time: %v < %v", c.rows+2, tk.Time, c.last)
		}
		if c.rows == 0 {
			c.first = tk.Time
		}
		c.last = tk.Time
		c.rows++
		c.symbols[tk.Symbol]++
		c.kinds[tk.Kind]++
		if tk.Kind == KindTrade {
			c.aggressors[tk.Aggressor]++
		}
	}
	if r.Skipped() != 0 {
		t.Errorf("skipped %d rows", r.Skipped())
	}
	return c
}

func TestRealOANDAFile(t *testing.T) {
	dir := sharedTicksDir(t)
	c := countReal(t, filepath.Join(dir, realOANDA))
	if c.rows != 137707 || c.symbols["EURUSD"] != 87833 || c.symbols["NZDUSD"] != 49874 || c.kinds[KindQuote] != c.rows {
		t.Errorf("rows %d symbols %v kinds %v; want 137707 quotes, EURUSD 87833, NZDUSD 49874", c.rows, c.symbols, c.kinds)
	}
	if want := time.Date(2014, 5, 8, 0, 0, 0, 36e6, time.UTC); !c.first.Equal(want) {
		t.Errorf("first %v, want %v", c.first, want)
	}
	if want := time.Date(2014, 5, 8, 23, 59, 58, 220e6, time.UTC); !c.last.Equal(want) {
		t.Errorf("last %v, want %v", c.last, want)
	}
}

func TestRealBinanceFile(t *testing.T) {
	dir := sharedTicksDir(t)
	c := countReal(t, filepath.Join(dir, realBinance))
	if c.rows != 166351 || c.kinds[KindQuote] != 131932 || c.kinds[KindTrade] != 34419 {
		t.Errorf("rows %d kinds %v; want 166351 = 131932 Q + 34419 T", c.rows, c.kinds)
	}
	if c.symbols["BTCUSDT"] != 93078 || c.symbols["ETHUSDT"] != 73273 {
		t.Errorf("symbols %v, want BTCUSDT 93078, ETHUSDT 73273", c.symbols)
	}
	if c.aggressors['B'] != 16685 || c.aggressors['S'] != 17734 || c.aggressors[0] != 0 {
		t.Errorf("aggressors %v, want B 16685, S 17734", c.aggressors)
	}
	if !c.first.Equal(time.UnixMicro(1723161254024619)) || !c.last.Equal(time.UnixMicro(1723161904543279)) {
		t.Errorf("first %v last %v", c.first, c.last)
	}
}

// TestRealFilesRoundTrip merges both real files, writes the tickwire format
// and reads it back exactly. It streams rather than holding 300k ticks.
func TestRealFilesRoundTrip(t *testing.T) {
	dir := sharedTicksDir(t)
	merged := func() Source {
		a, err := Open(filepath.Join(dir, realOANDA), Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(filepath.Join(dir, realBinance), Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := Merge(a, b)
		t.Cleanup(func() { m.(io.Closer).Close() })
		return m
	}
	path := filepath.Join(t.TempDir(), "all.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Copy(NewWriter(f), merged())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 137707+166351 {
		t.Fatalf("wrote %d ticks, want %d", n, 137707+166351)
	}
	back, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	ref := merged()
	var prev time.Time
	for i := 0; ; i++ {
		want, err1 := ref.Next()
		got, err2 := back.Next()
		if err1 != err2 {
			t.Fatalf("tick %d: errors %v / %v", i, err1, err2)
		}
		if err1 == io.EOF {
			break
		}
		if err1 != nil {
			t.Fatal(err1)
		}
		if !tickEqual(got, want) {
			t.Fatalf("tick %d: got %+v, want %+v", i, got, want)
		}
		if got.Time.Before(prev) {
			t.Fatalf("tick %d: merge went back in time", i)
		}
		prev = got.Time
	}
}
