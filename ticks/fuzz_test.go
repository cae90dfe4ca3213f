package ticks

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader, strict and with SkipBad.
// It must never panic; every error must be a *ParseError; every tick must be
// well formed; and whatever was read must survive a Writer round trip
// exactly. Run with: go test -fuzz FuzzReader ./ticks/
func FuzzReader(f *testing.F) {
	for _, path := range []string{oandaTestdata, binanceTestdata, tickwireGolden} {
		b := readFile(f, path)
		f.Add(b)
		// And each data row alone under its header.
		lines := strings.SplitAfter(string(b), "\n")
		for _, row := range lines[1:] {
			if row != "" {
				f.Add([]byte(lines[0] + row))
			}
		}
		f.Add(gzipBytes(f, b))
	}
	for _, tc := range badRowCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(""))
	f.Add([]byte("\ufeffts_utc,symbol,bid,ask\r\n2014-05-08T00:00:00+01:00,\"A,\"\"B\",1e308,-0\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []Options{{}, {SkipBad: true}} {
			r, err := NewReader(bytes.NewReader(data), "fuzz", opt)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.File != "fuzz" {
					t.Fatalf("NewReader error %v (%T), want a *ParseError naming the input", err, err)
				}
				return
			}
			var ts []Tick
			for len(ts) < 100_000 {
				tk, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var pe *ParseError
					if !errors.As(err, &pe) {
						t.Fatalf("Next error %v (%T), want *ParseError", err, err)
					}
					break
				}
				if !tk.Kind.Valid() || checkSymbol(tk.Symbol) != nil || !timeInRange(tk.Time) {
					t.Fatalf("malformed tick %+v", tk)
				}
				ts = append(ts, tk)
			}
			r.Close()

			var buf bytes.Buffer
			w := NewWriter(&buf)
			for _, tk := range ts {
				if err := w.Write(tk); err != nil {
					t.Fatalf("Write(%+v): %v", tk, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r2, err := NewReader(&buf, "roundtrip", Options{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := ReadAll(r2)
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			if len(back) != len(ts) {
				t.Fatalf("round trip: %d ticks, want %d", len(back), len(ts))
			}
			for i := range ts {
				if !tickEqual(back[i], ts[i]) {
					t.Fatalf("round trip tick %d: %+v, want %+v", i, back[i], ts[i])
				}
			}
		}
	})
}
