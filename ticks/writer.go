package ticks

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Writer writes ticks in the tickwire format (FormatTickwire, described in
// docs/ticks.md), which Reader reads back exactly: times are integer
// nanoseconds and floats use the shortest representation that round-trips
// (strconv 'g', -1). A Writer is not safe for concurrent use.
type Writer struct {
	bw     *bufio.Writer
	buf    []byte
	header bool  // header written
	err    error // sticky I/O error

	gz   *gzip.Writer // between bw and file, for Create of a .gz path
	file *os.File     // opened by Create, closed by Close
}

// NewWriter returns a Writer that buffers output to w. The header is written
// with the first tick, or by Flush for an empty file. Call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 256)}
}

// Create creates (or truncates) the file at path and returns a Writer to it,
// gzipped when path ends in ".gz". Close the Writer to finish the file.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		w := NewWriter(f)
		w.file = f
		return w, nil
	}
	gz := gzip.NewWriter(f)
	w := NewWriter(gz)
	w.gz, w.file = gz, f
	return w, nil
}

// Write writes one tick. A tick the format cannot carry (invalid Kind or
// Aggressor, empty symbol or one with control characters, a time outside
// years 1678 to 2262, NaN or infinite numbers) is rejected with an error
// wrapping the matching Err* value, and nothing is written; the Writer stays
// usable. I/O errors are sticky.
func (w *Writer) Write(t Tick) error {
	if w.err != nil {
		return w.err
	}
	if err := checkWritable(t); err != nil {
		return fmt.Errorf("ticks: write: %w", err)
	}
	b := w.buf[:0]
	if !w.header {
		b = append(b, strings.Join(tickwireHeader, ",")...)
		b = append(b, '\n')
		w.header = true
	}
	b = strconv.AppendInt(b, t.Time.UnixNano(), 10)
	b = append(b, ',')
	b = appendSymbol(b, t.Symbol)
	b = append(b, ',', byte(t.Kind), ',')
	for i, f := range [...]float64{t.Bid, t.BidSize, t.Ask, t.AskSize, t.Price, t.Size} {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, f)
	}
	b = append(b, ',')
	if t.Aggressor != 0 {
		b = append(b, t.Aggressor)
	}
	b = append(b, '\n')
	w.buf = b
	_, w.err = w.bw.Write(b)
	return w.err
}

// Flush writes the header if no tick was written yet, then flushes buffered
// data to the underlying io.Writer. For a gzipped file from Create it also
// ends a gzip block, so a reader sees everything written so far even if the
// writer is killed before Close.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		w.header = true
		if _, w.err = w.bw.WriteString(strings.Join(tickwireHeader, ",") + "\n"); w.err != nil {
			return w.err
		}
	}
	if w.err = w.bw.Flush(); w.err == nil && w.gz != nil {
		w.err = w.gz.Flush()
	}
	return w.err
}

// Close flushes the Writer and, for one from Create, ends the gzip stream
// and closes the file. For one from NewWriter it only flushes: the io.Writer
// is the caller's.
func (w *Writer) Close() error {
	err := w.Flush()
	if w.gz != nil {
		err = errors.Join(err, w.gz.Close())
		w.gz = nil
	}
	if w.file != nil {
		err = errors.Join(err, w.file.Close())
		w.file = nil
	}
	return err
}

// Copy writes every tick of src to w until io.EOF and flushes w. It returns
// the number of ticks written.
func Copy(w *Writer, src Source) (int, error) {
	n := 0
	for {
		t, err := src.Next()
		if err == io.EOF {
			return n, w.Flush()
		}
		if err != nil {
			return n, err
		}
		if err := w.Write(t); err != nil {
			return n, err
		}
		n++
	}
}

func checkWritable(t Tick) error {
	if !t.Kind.Valid() {
		return fmt.Errorf("%w: %v", ErrBadKind, t.Kind)
	}
	if err := checkSymbol(t.Symbol); err != nil {
		return err
	}
	if !timeInRange(t.Time) {
		return fmt.Errorf("%w: %v out of range", ErrBadTime, t.Time)
	}
	for _, f := range [...]float64{t.Bid, t.BidSize, t.Ask, t.AskSize, t.Price, t.Size} {
		if !finite(f) {
			return fmt.Errorf("%w: %v", ErrBadNumber, f)
		}
	}
	if t.Aggressor != 0 && t.Aggressor != AggressorBuy && t.Aggressor != AggressorSell {
		return fmt.Errorf("%w %q", ErrBadAggressor, t.Aggressor)
	}
	return nil
}

// appendNum appends f in shortest round-trip form, or nothing for +0 (an
// empty field reads back as 0). -0 is written as "-0" to keep its sign.
func appendNum(b []byte, f float64) []byte {
	if f == 0 && !math.Signbit(f) {
		return b
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendSymbol quotes the symbol CSV-style if it holds a comma or a quote.
// checkSymbol already rejected CR and LF, which CSV cannot round-trip.
func appendSymbol(b []byte, s string) []byte {
	if !strings.ContainsAny(s, `,"`) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
