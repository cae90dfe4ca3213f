package ticks

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchInput repeats the data rows of a testdata file until the input holds
// at least rows rows (timestamps repeat; the reader does not care).
func benchInput(b *testing.B, path string, rows int) ([]byte, int) {
	b.Helper()
	lines := strings.SplitAfter(string(readFile(b, path)), "\n")
	header, body := lines[0], strings.Join(lines[1:], "")
	per := len(lines) - 1
	if lines[len(lines)-1] == "" {
		per--
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	n := 0
	for n < rows {
		buf.WriteString(body)
		n += per
	}
	return buf.Bytes(), n
}

// benchRead reads data (rows rows, plainSize bytes before any gzip) per op.
func benchRead(b *testing.B, data []byte, rows, plainSize int) {
	b.SetBytes(int64(plainSize))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), "bench", Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/tick")
}

// BenchmarkReader reads 100k-row in-memory inputs in each format; MB/s
// counts uncompressed CSV bytes, for gzip too.
// allocs/op divided by the row count is the per-row allocation rate
// (encoding/csv allocates one string per record; symbols are interned).
func BenchmarkReader(b *testing.B) {
	for _, tc := range []struct{ name, path string }{
		{"format=oanda", oandaTestdata},
		{"format=binance", binanceTestdata},
		{"format=tickwire", tickwireGolden},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data, rows := benchInput(b, tc.path, 100_000)
			benchRead(b, data, rows, len(data))
		})
		b.Run(tc.name+"/gzip", func(b *testing.B) {
			data, rows := benchInput(b, tc.path, 100_000)
			benchRead(b, gzipBytes(b, data), rows, len(data))
		})
	}
}

// BenchmarkReaderRealFiles reads the full recorded files when
// ../shared/data/ticks is present.
func BenchmarkReaderRealFiles(b *testing.B) {
	dir := sharedTicksDir(b)
	for _, tc := range []struct {
		name, file string
		rows       int
	}{
		{"file=oanda", realOANDA, 137707},
		{"file=binance", realBinance, 166351},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := readFile(b, filepath.Join(dir, tc.file))
			benchRead(b, data, tc.rows, len(data))
		})
	}
}

// BenchmarkWriter writes the merged testdata 100 times over per op.
func BenchmarkWriter(b *testing.B) {
	var ts []Tick
	for range 100 {
		ts = append(ts, testdataMerged(b)...)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter(io.Discard)
		for _, tk := range ts {
			if err := w.Write(tk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/tick")
}

func BenchmarkMerge(b *testing.B) {
	const k, n = 8, 10_000
	srcs := make([][]Tick, k)
	for i := range srcs {
		srcs[i] = spaced(n, time.Duration(i+1)*time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		ss := make([]Source, k)
		for i := range ss {
			ss[i] = FromSlice(srcs[i])
		}
		m := Merge(ss...)
		for {
			if _, err := m.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k*n), "ns/tick")
}

// BenchmarkReplayDrift measures pacing accuracy: each iteration replays 100
// ticks spaced 1ms apart at speed 1 (100ms of wall time) and records how
// late each emit was against its due time. It reports the worst and the
// mean lateness in microseconds. Go timers on Linux resolve to about 1ms,
// which bounds what pacing can achieve without spinning.
func BenchmarkReplayDrift(b *testing.B) {
	const n, gap = 100, time.Millisecond
	ts := spaced(n, gap)
	open := func() (Source, error) { return FromSlice(ts), nil }
	b.Run("spacing=1ms/speed=1", func(b *testing.B) {
		var maxDrift time.Duration
		var sum time.Duration
		var count int
		for b.Loop() {
			var start time.Time
			i := 0
			st, err := Replay(context.Background(), open, ReplayOptions{Speed: 1}, func(tk Tick) error {
				now := time.Now()
				if i == 0 {
					start = now
				}
				sum += now.Sub(start) - time.Duration(i)*gap
				count++
				i++
				return nil
			})
			if err != nil || st.Ticks != n {
				b.Fatalf("%+v %v", st, err)
			}
			maxDrift = max(maxDrift, st.MaxDrift)
		}
		b.ReportMetric(float64(maxDrift.Microseconds()), "max-drift-µs")
		b.ReportMetric(float64(sum.Microseconds())/float64(count), "mean-drift-µs")
	})
}

// BenchmarkReplayUnpaced is the cost of Replay itself per tick (Speed 0).
func BenchmarkReplayUnpaced(b *testing.B) {
	ts := spaced(10_000, time.Millisecond)
	open := func() (Source, error) { return FromSlice(ts), nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(context.Background(), open, ReplayOptions{}, func(Tick) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/tick")
}
