package tickfeed

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"tickwire/demodata"
	"tickwire/ticks"
)

// Embedded is the file name that stands for the shipped OANDA excerpt
// (package demodata).
const Embedded = "embedded"

// Files are the tick files of a replay, merged in time order (ticks with
// equal times in the order of Names). Open opens them afresh for each pass;
// Skipped counts the bad rows their readers skipped. Files is safe for
// concurrent use; do not copy it after first use.
type Files struct {
	Names   []string // paths, or Embedded
	Options ticks.Options

	mu       sync.Mutex
	readers  []*ticks.Reader // the current pass's
	skippedN int             // by the readers of earlier passes
}

func (f *Files) openAll() ([]ticks.Source, []*ticks.Reader, error) {
	srcs := make([]ticks.Source, 0, len(f.Names))
	rs := make([]*ticks.Reader, 0, len(f.Names))
	for _, n := range f.Names {
		var r *ticks.Reader
		var err error
		if n == Embedded {
			r, err = ticks.NewReader(demodata.Open(), demodata.Name, f.Options)
		} else {
			r, err = ticks.Open(n, f.Options)
		}
		if err != nil {
			for _, r := range rs {
				_ = r.Close()
			}
			return nil, nil, err
		}
		rs = append(rs, r)
		srcs = append(srcs, r)
	}
	return srcs, rs, nil
}

// Open opens every file and returns them merged in time order: the open
// function of ticks.Replay.
func (f *Files) Open() (ticks.Source, error) {
	srcs, rs, err := f.openAll()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	for _, r := range f.readers { // the previous pass's, closed by now
		f.skippedN += r.Skipped()
	}
	f.readers = rs
	f.mu.Unlock()
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	return ticks.Merge(srcs...), nil
}

// First returns the recorded time of the first tick of the merged files, so
// that a missing file, a bad header or a bad first row fails before a replay
// starts. Its readers are not counted in Skipped.
func (f *Files) First() (time.Time, error) {
	if len(f.Names) == 0 {
		return time.Time{}, errors.New("no tick files")
	}
	srcs, _, err := f.openAll()
	if err != nil {
		return time.Time{}, err
	}
	m := ticks.Merge(srcs...)
	defer m.(io.Closer).Close()
	t, err := m.Next()
	if err == io.EOF {
		return time.Time{}, fmt.Errorf("%s: no ticks", strings.Join(f.Names, ", "))
	}
	return t.Time, err
}

// Skipped returns the bad rows skipped by every reader Open opened.
func (f *Files) Skipped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.skippedN
	for _, r := range f.readers {
		n += r.Skipped()
	}
	return n
}

// ParseWindow parses --from and --to (ParseTime) into the window of
// recorded times From <= t < To: from counts from first (the first tick's
// time), to from From, or from first without --from. A zero time is
// unbounded; To must be after From. Errors name the flag.
func ParseWindow(from, to string, first time.Time) (From, To time.Time, err error) {
	if From, err = ParseTime(from, first); err != nil {
		return From, To, fmt.Errorf("--from: %w", err)
	}
	base := first
	if !From.IsZero() {
		base = From
	}
	if To, err = ParseTime(to, base); err != nil {
		return From, To, fmt.Errorf("--to: %w", err)
	}
	if !From.IsZero() && !To.IsZero() && !To.After(From) {
		return From, To, fmt.Errorf("--to %s is not after --from %s", To.Format(time.RFC3339Nano), From.Format(time.RFC3339Nano))
	}
	return From, To, nil
}

// ParseTime parses a --from/--to time: RFC 3339 (2014-05-08T00:00:14Z), a
// clock time HH:MM[:SS[.frac]] on the UTC day of base, or +DURATION after
// base. "" is the zero time (unbounded).
func ParseTime(s string, base time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutPrefix(s, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			return time.Time{}, fmt.Errorf("%q: want +DURATION such as +90s", s)
		}
		return base.Add(dur), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if c, err := time.Parse(layout, s); err == nil {
			y, m, d := base.UTC().Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2014-05-08T00:00:14Z), HH:MM[:SS[.frac]] or +DURATION", s)
}
