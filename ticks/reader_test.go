package ticks

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestReadOANDATestdata(t *testing.T) {
	r, err := Open(oandaTestdata, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != FormatOANDA {
		t.Fatalf("format %v, want oanda", r.Format())
	}
	ts, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 50 {
		t.Fatalf("got %d ticks, want 50", len(ts))
	}
	want := map[int]Tick{
		0:  {Time: mustTime(t, "2014-05-08T00:00:00.036Z"), Symbol: "NZDUSD", Kind: KindQuote, Bid: 0.86478, Ask: 0.86503},
		49: {Time: mustTime(t, "2014-05-08T00:00:48.286Z"), Symbol: "NZDUSD", Kind: KindQuote, Bid: 0.86472, Ask: 0.86496},
	}
	for i, w := range want {
		if !tickEqual(ts[i], w) {
			t.Errorf("tick %d = %+v, want %+v", i, ts[i], w)
		}
	}
	n := map[string]int{}
	for i, tk := range ts {
		n[tk.Symbol]++
		if tk.Kind != KindQuote || tk.BidSize != 0 || tk.AskSize != 0 || tk.Price != 0 || tk.Aggressor != 0 {
			t.Errorf("tick %d: %+v: want a quote without sizes", i, tk)
		}
		if tk.Time.Location() != time.UTC {
			t.Errorf("tick %d: location %v, want UTC", i, tk.Time.Location())
		}
		if tk.Symbol == "EURUSD" && n["EURUSD"] == 1 {
			w := Tick{Time: mustTime(t, "2014-05-08T00:00:08.715Z"), Symbol: "EURUSD", Kind: KindQuote, Bid: 1.39101, Ask: 1.39114}
			if !tickEqual(tk, w) {
				t.Errorf("first EURUSD = %+v, want %+v", tk, w)
			}
		}
	}
	if n["EURUSD"] != 7 || n["NZDUSD"] != 43 || len(n) != 2 {
		t.Errorf("symbol counts %v, want EURUSD:7 NZDUSD:43", n)
	}
}

func TestReadBinanceTestdata(t *testing.T) {
	r, err := Open(binanceTestdata, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != FormatBinance {
		t.Fatalf("format %v, want binance", r.Format())
	}
	ts, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 70 {
		t.Fatalf("got %d ticks, want 70", len(ts))
	}
	want := map[int]Tick{
		0: {Time: time.UnixMicro(1723161254024619).UTC(), Symbol: "ETHUSDT", Kind: KindQuote,
			Bid: 2683.8, BidSize: 3.0292, Ask: 2683.81, AskSize: 31.4395},
		2: {Time: time.UnixMicro(1723161254087896).UTC(), Symbol: "BTCUSDT", Kind: KindTrade,
			Price: 61837.63, Size: 0.02, Aggressor: 'S'},
		69: {Time: time.UnixMicro(1723161254340869).UTC(), Symbol: "ETHUSDT", Kind: KindTrade,
			Price: 2683.61, Size: 0.002, Aggressor: 'S'},
	}
	for i, w := range want {
		if !tickEqual(ts[i], w) {
			t.Errorf("tick %d = %+v, want %+v", i, ts[i], w)
		}
	}
	kinds := map[Kind]int{}
	syms := map[string]int{}
	for i, tk := range ts {
		kinds[tk.Kind]++
		syms[tk.Symbol]++
		if i > 0 && tk.Time.Before(ts[i-1].Time) {
			t.Errorf("tick %d goes back in time", i)
		}
	}
	if kinds[KindQuote] != 58 || kinds[KindTrade] != 12 {
		t.Errorf("kinds %v, want 58 quotes and 12 trades", kinds)
	}
	if syms["BTCUSDT"] != 48 || syms["ETHUSDT"] != 22 {
		t.Errorf("symbols %v, want BTCUSDT:48 ETHUSDT:22", syms)
	}
}

func TestSymbolsInterned(t *testing.T) {
	ts := readAllFile(t, binanceTestdata, Options{})
	ts2 := readAllFile(t, binanceTestdata, Options{})
	ptr := map[string]*byte{}
	for _, tk := range append(ts, ts2...) {
		p := unsafe.StringData(tk.Symbol)
		if q, ok := ptr[tk.Symbol]; ok && q != p {
			t.Fatalf("symbol %q not interned: two backing arrays", tk.Symbol)
		}
		ptr[tk.Symbol] = p
	}
}

func TestReadBinanceBuyAggressorAndIgnoredColumns(t *testing.T) {
	in := "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n" +
		"1723161254585058,BTCUSDT,T,,,,,61828.02,0.0081,B\n" +
		"1723161254585059,BTCUSDT,T,1,2,3,4,61828.03,1e-3,\n" + // quote columns ignored on a trade
		"1723161254585060,BTCUSDT,Q,1.5,2,3,4,9,9,X\n" // trade columns ignored on a quote
	ts, _, err := readAllString(t, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Tick{
		{Time: time.UnixMicro(1723161254585058).UTC(), Symbol: "BTCUSDT", Kind: KindTrade, Price: 61828.02, Size: 0.0081, Aggressor: 'B'},
		{Time: time.UnixMicro(1723161254585059).UTC(), Symbol: "BTCUSDT", Kind: KindTrade, Price: 61828.03, Size: 0.001},
		{Time: time.UnixMicro(1723161254585060).UTC(), Symbol: "BTCUSDT", Kind: KindQuote, Bid: 1.5, BidSize: 2, Ask: 3, AskSize: 4},
	}
	ticksEqual(t, ts, want)
}

func TestReadGzip(t *testing.T) {
	plain := readFile(t, binanceTestdata)
	want := readAllFile(t, binanceTestdata, Options{})
	gz := gzipBytes(t, plain)

	// NewReader: detection by magic bytes; the name does not matter.
	r, err := NewReader(bytes.NewReader(gz), "no-extension", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	ticksEqual(t, got, want)

	// Open: a gzipped file named .csv.
	path := filepath.Join(t.TempDir(), "misnamed.csv")
	if err := os.WriteFile(path, gz, 0o644); err != nil {
		t.Fatal(err)
	}
	ticksEqual(t, readAllFile(t, path, Options{}), want)

	// Concatenated gzip members read as one stream.
	half := bytes.Index(plain, []byte("\n1723161254274832"))
	two := append(gzipBytes(t, plain[:half+1]), gzipBytes(t, plain[half+1:])...)
	r, err = NewReader(bytes.NewReader(two), "two-members", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err = ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	ticksEqual(t, got, want)

	// A truncated gzip stream fails with an error naming the input, even
	// with SkipBad (it is not a bad row).
	r, err = NewReader(bytes.NewReader(gz[:len(gz)-40]), "truncated.gz", Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadAll(r)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != "truncated.gz" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated gzip: err = %v, want a ParseError wrapping io.ErrUnexpectedEOF", err)
	}

	// A corrupt gzip header fails in NewReader.
	_, err = NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), "bad.gz", Options{})
	if !errors.As(err, &pe) || pe.File != "bad.gz" {
		t.Fatalf("bad gzip header: err = %v", err)
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNoHeader},
		{"unknown", "time,sym,px\n1,2,3\n", ErrUnknownHeader},
		{"short oanda", "ts_utc,symbol,bid\n", ErrUnknownHeader},
		{"bad quote", "\"ts_utc,symbol,bid,ask\n", ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.in), "feed.csv", Options{SkipBad: true})
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want a ParseError wrapping %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "feed.csv:1: ") {
				t.Errorf("error %q does not start with the file name and line", err)
			}
		})
	}
}

func TestHeaderVariants(t *testing.T) {
	// BOM, case, spaces, CRLF line ends.
	in := "\ufeffTS_UTC, Symbol ,BID,ask\r\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\r\n\r\n" +
		"2014-05-08T00:00:01+00:00,NZDUSD,0.9,0.8\r\n" // offset form; crossed book is fine
	ts, r, err := readAllString(t, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatOANDA || len(ts) != 2 {
		t.Fatalf("format %v, %d ticks", r.Format(), len(ts))
	}
	if ts[1].Bid != 0.9 || ts[1].Ask != 0.8 || !ts[1].Time.Equal(mustTime(t, "2014-05-08T00:00:01Z")) ||
		ts[1].Time.Location() != time.UTC {
		t.Errorf("crossed row = %+v", ts[1])
	}
}

// badRowCases each hold one bad row; wantLine is its 1-based line number.
var badRowCases = []struct {
	name     string
	in       string
	wantLine int
	want     error
}{
	{"oanda field count", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n2014-05-08T00:00:00.287Z,NZDUSD,0.86478\n", 3, ErrFieldCount},
	{"oanda bad number", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n\n2014-05-08T00:00:00.287Z,NZDUSD,0.8647x,0.86501\n", 4, ErrBadNumber},
	{"oanda empty number", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.287Z,NZDUSD,,0.86501\n", 2, ErrBadNumber},
	{"oanda NaN", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.287Z,NZDUSD,NaN,0.86501\n", 2, ErrBadNumber},
	{"oanda Inf", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.287Z,NZDUSD,1,+Inf\n", 2, ErrBadNumber},
	{"oanda bad time", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n2014-05-08 00:00:00.287,NZDUSD,0.86478,0.86501\n", 3, ErrBadTime},
	{"oanda month 13", "ts_utc,symbol,bid,ask\n2014-13-08T00:00:00.287Z,NZDUSD,0.86478,0.86501\n", 2, ErrBadTime},
	{"oanda year 9999", "ts_utc,symbol,bid,ask\n9999-01-01T00:00:00Z,NZDUSD,0.86478,0.86501\n", 2, ErrBadTime},
	{"oanda empty symbol", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.287Z,,0.86478,0.86501\n", 2, ErrBadSymbol},
	{"oanda control symbol", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.287Z,NZD\tUSD,0.86478,0.86501\n", 2, ErrBadSymbol},
	{"csv bare quote", "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n2014-05-08T00:00:00.287Z,NZ\"DUSD,0.86478,0.86501\n", 3, ErrSyntax},
	{"binance unknown kind", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254024619,ETHUSDT,Q,2683.8,3.0292,2683.81,31.4395,,,\n1723161254087896,BTCUSDT,X,,,,,61837.63,0.02,S\n", 3, ErrBadKind},
	{"binance bad ts", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254.5,ETHUSDT,Q,2683.8,3.0292,2683.81,31.4395,,,\n", 2, ErrBadTime},
	{"binance ts out of range", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n9223372036854775807,ETHUSDT,Q,2683.8,3.0292,2683.81,31.4395,,,\n", 2, ErrBadTime},
	{"binance bad aggressor", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254087896,BTCUSDT,T,,,,,61837.63,0.02,buy\n", 2, ErrBadAggressor},
	{"binance quote missing size", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254024619,ETHUSDT,Q,2683.8,,2683.81,31.4395,,,\n", 2, ErrBadNumber},
	{"binance trade missing price", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254087896,BTCUSDT,T,,,,,,0.02,S\n", 2, ErrBadNumber},
	{"binance field count", "ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,trade_qty,aggressor\n1723161254087896,BTCUSDT,T,,,,,61837.63,0.02,S,extra\n", 2, ErrFieldCount},
	{"tickwire bad kind", "time_ns,symbol,kind,bid,bid_size,ask,ask_size,price,size,aggressor\n1,EURUSD,QQ,1,,2,,,,\n", 2, ErrBadKind},
	{"tickwire bad time", "time_ns,symbol,kind,bid,bid_size,ask,ask_size,price,size,aggressor\n1e9,EURUSD,Q,1,,2,,,,\n", 2, ErrBadTime},
	{"multi-line quoted field", "time_ns,symbol,kind,bid,bid_size,ask,ask_size,price,size,aggressor\n1,EURUSD,Q,1,,2,,,,\n2,\"EUR\nUSD\",Q,1,,2,,,,\n", 3, ErrBadSymbol},
}

func TestBadRows(t *testing.T) {
	for _, tc := range badRowCases {
		t.Run(tc.name, func(t *testing.T) {
			ts, r, err := readAllString(t, tc.in, Options{})
			if r == nil {
				t.Fatalf("NewReader: %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *ParseError", err, err)
			}
			if pe.File != "test.csv" || pe.Line != tc.wantLine || !errors.Is(err, tc.want) {
				t.Errorf("err = %v; want test.csv line %d wrapping %v", err, tc.wantLine, tc.want)
			}
			if want := "test.csv:" + strconv.Itoa(tc.wantLine) + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q does not start with %q", err, want)
			}
			if n := strings.Count(tc.in, "\n") - 1; len(ts) >= n {
				t.Errorf("read %d ticks from %d rows despite the bad one", len(ts), n)
			}
			// Errors are sticky.
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next: %v, want the same error", err2)
			}

			// With SkipBad the bad row is counted and the rest is read.
			ts2, r2, err := readAllString(t, tc.in, Options{SkipBad: true})
			if err != nil {
				t.Fatalf("SkipBad: %v", err)
			}
			if r2.Skipped() != 1 {
				t.Errorf("SkipBad: skipped %d, want 1", r2.Skipped())
			}
			ticksEqual(t, ts2[:len(ts)], ts)
		})
	}
}

func TestSkipBadCounts(t *testing.T) {
	in := "ts_utc,symbol,bid,ask\n" +
		"2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n" + // 2 good
		"2014-05-08T00:00:00.100Z,NZDUSD,x,0.86503\n" + // 3 bad number
		"2014-05-08T00:00:00.200Z,NZDUSD,0.86478\n" + // 4 field count
		"2014-05-08T00:00:00.300Z,EURUSD,1.39101,1.39114\n" + // 5 good
		"2014-05-08T00:00:00.400Z,EU\"RUSD,1.39101,1.39114\n" + // 6 bare quote
		"garbage\n" + // 7 field count
		"2014-05-08T00:00:00.500Z,EURUSD,1.39102,1.39115\n" + // 8 good
		"2014-05-08T00:00:00.600Z,EURUSD,1.39102,1.39115,9\n" // 9 field count
	ts, r, err := readAllString(t, in, Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || r.Skipped() != 5 {
		t.Fatalf("got %d ticks, %d skipped; want 3 and 5", len(ts), r.Skipped())
	}
	if ts[2].Bid != 1.39102 || ts[1].Symbol != "EURUSD" {
		t.Errorf("ticks %+v", ts)
	}
	// Without SkipBad the first bad row, line 3, stops the read.
	_, _, err = readAllString(t, in, Options{})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 {
		t.Fatalf("err = %v, want line 3", err)
	}
}

func TestReaderClose(t *testing.T) {
	r, err := Open(oandaTestdata, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Next after Close: %v, want fs.ErrClosed", err)
	}
	// Open of a missing file names it.
	if _, err := Open("testdata/nope.csv", Options{}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.csv") {
		t.Fatalf("Open missing: %v", err)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindQuote: "quote", KindTrade: "trade", 'x': "Kind(0x78)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
	for f, want := range map[Format]string{FormatOANDA: "oanda", FormatBinance: "binance", FormatTickwire: "tickwire", 9: "Format(9)"} {
		if f.String() != want {
			t.Errorf("Format.String() = %q, want %q", f.String(), want)
		}
	}
}
