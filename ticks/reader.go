package ticks

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"unique"
)

// Options configures a Reader. The zero value is strict: the first bad row
// is an error.
type Options struct {
	// SkipBad skips rows that do not parse (wrong column count, bad number,
	// time, kind, aggressor or symbol, CSV syntax) and counts them in
	// Reader.Skipped, instead of failing. A bad header, I/O errors and gzip
	// errors still fail.
	SkipBad bool
}

const (
	// readBufSize is the buffer in front of the file and again behind gzip.
	// encoding/csv reuses a *bufio.Reader this big instead of adding one.
	readBufSize = 64 << 10
	// maxInterned bounds the per-Reader symbol table, so a hostile file with
	// endless distinct symbols cannot grow it without limit. Past it,
	// symbols are still canonicalised through package unique, just without
	// the local fast path.
	maxInterned = 4096
)

// Reader reads ticks from a recorded CSV file in any known Format, plain or
// gzipped. It implements Source and io.Closer. A Reader is not safe for
// concurrent use.
type Reader struct {
	name    string
	opt     Options
	format  Format
	nfields int
	csv     *csv.Reader
	gz      *gzip.Reader // non-nil when the input is gzipped
	file    *os.File     // non-nil when opened by Open; closed by Close
	syms    map[string]string
	skipped int
	err     error // sticky: io.EOF, the first fatal error, or closed
	closed  bool
}

// Open opens the file at path and reads its header; see NewReader. Close the
// Reader to close the file.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// Opener returns a func that opens path with opt each time it is called, in
// the shape Replay wants.
func Opener(path string, opt Options) func() (Source, error) {
	return func() (Source, error) {
		r, err := Open(path, opt)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// NewReader reads ticks from r. Gzip is detected by its magic bytes, not by
// name. The header line is read now and picks the Format; an empty input or
// an unknown header is an error. name is used in errors only. Close does
// not close r.
func NewReader(r io.Reader, name string, opt Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, readBufSize)
	rd := &Reader{name: name, opt: opt, syms: make(map[string]string)}

	var in io.Reader = br
	magic, err := br.Peek(2)
	switch {
	case len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, gzErr := gzip.NewReader(br)
		if gzErr != nil {
			return nil, &ParseError{File: name, Err: fmt.Errorf("gzip: %w", gzErr)}
		}
		rd.gz = gz
		in = bufio.NewReaderSize(gz, readBufSize)
	case err != nil && err != io.EOF:
		return nil, &ParseError{File: name, Err: err}
	}

	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1 // we check counts per format, to report our own error
	cr.ReuseRecord = true
	rd.csv = cr

	rec, err := cr.Read()
	if err != nil {
		return nil, rd.readError(err)
	}
	rd.format = detectFormat(rec)
	if rd.format == 0 {
		h := strings.Join(rec, ",")
		if len(h) > 120 {
			h = h[:120] + "..."
		}
		line, _ := cr.FieldPos(0)
		return nil, &ParseError{File: name, Line: line,
			Err: fmt.Errorf("%w %q (want an oanda, binance or tickwire header)", ErrUnknownHeader, h)}
	}
	rd.nfields = len(oandaHeader)
	if rd.format != FormatOANDA {
		rd.nfields = len(binanceHeader)
	}
	return rd, nil
}

// readError turns an error from csv.Reader.Read into a ParseError. It
// returns io.EOF as is.
func (r *Reader) readError(err error) error {
	if err == io.EOF {
		if r.format == 0 {
			return &ParseError{File: r.name, Line: 1, Err: ErrNoHeader}
		}
		return io.EOF
	}
	var ce *csv.ParseError
	if errors.As(err, &ce) {
		return &ParseError{File: r.name, Line: ce.Line, Err: fmt.Errorf("%w: %w", ErrSyntax, ce.Err)}
	}
	// An I/O or gzip error from below the csv.Reader: not tied to a row.
	return &ParseError{File: r.name, Err: err}
}

// Name returns the name given to NewReader, or the path given to Open.
func (r *Reader) Name() string { return r.name }

// Format returns the detected file format.
func (r *Reader) Format() Format { return r.format }

// Skipped returns how many bad rows were skipped so far (Options.SkipBad).
func (r *Reader) Skipped() int { return r.skipped }

// Next returns the next tick, or io.EOF after the last. A bad row returns a
// *ParseError with the 1-based line number, unless Options.SkipBad is set.
// Errors are sticky: once Next fails it keeps returning the same error.
func (r *Reader) Next() (Tick, error) {
	if r.err != nil {
		return Tick{}, r.err
	}
	for {
		before := r.csv.InputOffset()
		rec, err := r.csv.Read()
		if err != nil {
			err = r.readError(err)
			// csv.Reader resumes at the next line after a syntax error;
			// the offset check guards against ever spinning in place.
			if r.opt.SkipBad && errors.Is(err, ErrSyntax) && r.csv.InputOffset() > before {
				r.skipped++
				continue
			}
			r.err = err
			return Tick{}, err
		}
		t, err := r.parse(rec)
		if err != nil {
			if r.opt.SkipBad {
				r.skipped++
				continue
			}
			line, _ := r.csv.FieldPos(0)
			r.err = &ParseError{File: r.name, Line: line, Err: err}
			return Tick{}, r.err
		}
		return t, nil
	}
}

// Close releases the gzip reader and closes the file if Open opened it.
// Next returns an error after Close. Close is idempotent.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.err = &ParseError{File: r.name, Err: fs.ErrClosed}
	if r.gz != nil {
		r.gz.Close() // only reports decompression errors Next already saw
	}
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

func (r *Reader) parse(rec []string) (Tick, error) {
	if len(rec) != r.nfields {
		return Tick{}, fmt.Errorf("%w: want %d, got %d", ErrFieldCount, r.nfields, len(rec))
	}
	switch r.format {
	case FormatOANDA:
		return r.parseOANDA(rec)
	case FormatBinance:
		return r.parseBinance(rec)
	default:
		return r.parseTickwire(rec)
	}
}

// parseOANDA: ts_utc,symbol,bid,ask.
func (r *Reader) parseOANDA(rec []string) (t Tick, err error) {
	t.Kind = KindQuote
	if t.Time, err = parseRFC3339(rec[0]); err != nil {
		return t, err
	}
	if t.Symbol, err = r.symbol(rec[1]); err != nil {
		return t, err
	}
	if t.Bid, err = parseNum("bid", rec[2], false); err != nil {
		return t, err
	}
	if t.Ask, err = parseNum("ask", rec[3], false); err != nil {
		return t, err
	}
	return t, nil
}

// parseBinance: ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,trade_px,
// trade_qty,aggressor. Columns that do not apply to the row's type are
// ignored.
func (r *Reader) parseBinance(rec []string) (t Tick, err error) {
	us, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return t, fmt.Errorf("%w: ts_us %q", ErrBadTime, rec[0])
	}
	t.Time = time.UnixMicro(us).UTC()
	if !timeInRange(t.Time) {
		return t, fmt.Errorf("%w: ts_us %q out of range", ErrBadTime, rec[0])
	}
	if t.Symbol, err = r.symbol(rec[1]); err != nil {
		return t, err
	}
	if t.Kind, err = parseKind("type", rec[2]); err != nil {
		return t, err
	}
	if t.Kind == KindQuote {
		if t.Bid, err = parseNum("bid_px", rec[3], false); err != nil {
			return t, err
		}
		if t.BidSize, err = parseNum("bid_qty", rec[4], false); err != nil {
			return t, err
		}
		if t.Ask, err = parseNum("ask_px", rec[5], false); err != nil {
			return t, err
		}
		if t.AskSize, err = parseNum("ask_qty", rec[6], false); err != nil {
			return t, err
		}
		return t, nil
	}
	if t.Price, err = parseNum("trade_px", rec[7], false); err != nil {
		return t, err
	}
	if t.Size, err = parseNum("trade_qty", rec[8], false); err != nil {
		return t, err
	}
	if t.Aggressor, err = parseAggressor(rec[9]); err != nil {
		return t, err
	}
	return t, nil
}

// parseTickwire: time_ns,symbol,kind,bid,bid_size,ask,ask_size,price,size,
// aggressor. Every numeric column may be empty, meaning 0.
func (r *Reader) parseTickwire(rec []string) (t Tick, err error) {
	ns, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return t, fmt.Errorf("%w: time_ns %q", ErrBadTime, rec[0])
	}
	t.Time = time.Unix(0, ns).UTC()
	if t.Symbol, err = r.symbol(rec[1]); err != nil {
		return t, err
	}
	if t.Kind, err = parseKind("kind", rec[2]); err != nil {
		return t, err
	}
	if t.Bid, err = parseNum("bid", rec[3], true); err != nil {
		return t, err
	}
	if t.BidSize, err = parseNum("bid_size", rec[4], true); err != nil {
		return t, err
	}
	if t.Ask, err = parseNum("ask", rec[5], true); err != nil {
		return t, err
	}
	if t.AskSize, err = parseNum("ask_size", rec[6], true); err != nil {
		return t, err
	}
	if t.Price, err = parseNum("price", rec[7], true); err != nil {
		return t, err
	}
	if t.Size, err = parseNum("size", rec[8], true); err != nil {
		return t, err
	}
	if t.Aggressor, err = parseAggressor(rec[9]); err != nil {
		return t, err
	}
	return t, nil
}

// symbol validates and interns s: identical symbols share one string, and
// the result never pins the csv.Reader's line buffer. Hits in the local map
// cost no allocation and skip validation (they passed it on insertion).
func (r *Reader) symbol(s string) (string, error) {
	if v, ok := r.syms[s]; ok {
		return v, nil
	}
	if err := checkSymbol(s); err != nil {
		return "", err
	}
	// unique.Make clones s and returns the process-wide canonical copy, so
	// readers of different files share symbol strings too.
	v := unique.Make(s).Value()
	if len(r.syms) < maxInterned {
		r.syms[v] = v
	}
	return v, nil
}

// checkSymbol rejects empty symbols and ASCII control characters.
func checkSymbol(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrBadSymbol)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w %q: control character", ErrBadSymbol, s)
		}
	}
	return nil
}

// parseRFC3339 parses an RFC 3339 timestamp such as
// 2014-05-08T00:00:00.036Z into UTC. time.Parse has an allocation-free fast
// path for this layout.
func parseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadTime, s)
	}
	t = t.UTC()
	if !timeInRange(t) {
		return time.Time{}, fmt.Errorf("%w: %q out of range", ErrBadTime, s)
	}
	return t, nil
}

// parseNum parses a finite float. An empty field is 0 if allowEmpty, else
// an error.
func parseNum(col, s string, allowEmpty bool) (float64, error) {
	if s == "" {
		if allowEmpty {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: %s is empty", ErrBadNumber, col)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(f) {
		return 0, fmt.Errorf("%w: %s %q", ErrBadNumber, col, s)
	}
	return f, nil
}

func parseKind(col, s string) (Kind, error) {
	if len(s) == 1 {
		if k := Kind(s[0]); k.Valid() {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: %s %q (want Q or T)", ErrBadKind, col, s)
}

func parseAggressor(s string) (byte, error) {
	switch s {
	case "":
		return 0, nil
	case "B":
		return AggressorBuy, nil
	case "S":
		return AggressorSell, nil
	}
	return 0, fmt.Errorf("%w %q (want B, S or empty)", ErrBadAggressor, s)
}
