package ticks

import (
	"errors"
	"strconv"
)

// Errors wrapped by ParseError and returned by Writer and Replay. Test with
// errors.Is.
var (
	// ErrUnknownHeader: the first line is not one of the known headers.
	ErrUnknownHeader = errors.New("unknown header")
	// ErrNoHeader: the input is empty.
	ErrNoHeader = errors.New("empty input, no header")
	// ErrFieldCount: a row has the wrong number of columns.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrSyntax: a row is not valid CSV (stray or unbalanced quotes).
	ErrSyntax = errors.New("csv syntax error")
	// ErrBadNumber: a price or size is not a finite decimal number.
	ErrBadNumber = errors.New("bad number")
	// ErrBadTime: a timestamp does not parse or is outside the int64
	// nanosecond range (years 1678 to 2262).
	ErrBadTime = errors.New("bad time")
	// ErrBadKind: a row's kind/type is neither Q nor T.
	ErrBadKind = errors.New("bad kind")
	// ErrBadAggressor: a trade's aggressor is neither B, S nor empty.
	ErrBadAggressor = errors.New("bad aggressor")
	// ErrBadSymbol: a symbol is empty or holds a control character.
	ErrBadSymbol = errors.New("bad symbol")
	// ErrNoTicks: a Replay pass emitted no ticks (empty source or a From/To
	// window that holds none).
	ErrNoTicks = errors.New("ticks: replay: no ticks in window")
)

// ParseError reports a problem in a named input at a 1-based line. Line is 0
// for errors not tied to a line (I/O, gzip).
type ParseError struct {
	File string
	Line int
	Err  error
}

// Error returns "FILE:LINE: ERR", or "FILE: ERR" when Line is 0.
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }
