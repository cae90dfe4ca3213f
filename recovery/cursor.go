package recovery

import (
	"context"
	"fmt"
)

// Cursor reads one stream from a position onwards: first the history from
// the journal, then live entries from a subscription, handing over between
// the two without gap or duplicate. Next returns the entries with Seq
// after.Seq+1, after.Seq+2, ... in order, each exactly once, blocking at the
// head until the next entry is committed.
//
// How: the cursor subscribes before it reads, so an entry committed during
// the read is either in the read or on the subscription (or both); it then
// drops live entries at or below its position (duplicates) and, on a gap
// (which only a lagged or re-established subscription can cause), goes back to
// reading the journal. A subscription dropped for lagging is re-established
// the same way. The position check of the first read decides recoverability:
// ErrEpochMismatch, ErrPositionTooOld and ErrPositionAhead are returned by
// Next, wrapped in *PositionError.
//
// A Cursor is owned by one goroutine. Close it to release its subscription.
type Cursor struct {
	j      Journal
	stream string
	pos    Position
	opts   CursorOptions

	sub      *Subscription
	needRead bool
	buf      []Entry // read from history, not yet returned
	err      error   // sticky
}

// CursorOptions tunes a Cursor. The zero value is fine.
type CursorOptions struct {
	// ReadLimit is the page size of history reads. Default DefaultReadLimit.
	ReadLimit int
	// Buffer is the live subscription's buffer. Default
	// DefaultSubscribeBuffer. A reader that falls further behind than this
	// continues from the journal.
	Buffer int
}

// NewCursor returns a cursor over stream that will next return the entry
// after the position after. It does no I/O until Next.
func NewCursor(j Journal, stream string, after Position, opts CursorOptions) *Cursor {
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = DefaultReadLimit
	}
	return &Cursor{j: j, stream: stream, pos: after, opts: opts}
}

// Position returns the position of the last entry returned by Next (the
// starting position before the first).
func (c *Cursor) Position() Position { return c.pos }

// Next returns the next entry, waiting for it to be appended if needed. It
// fails with ctx's error, ErrClosed when the journal closes, or a
// *PositionError when the starting position cannot be recovered. After an
// error other than a context error, Next keeps failing.
func (c *Cursor) Next(ctx context.Context) (Entry, error) {
	if c.err != nil {
		return Entry{}, c.err
	}
	for {
		if len(c.buf) > 0 {
			e := c.buf[0]
			c.buf = c.buf[1:]
			if ok, err := c.accept(e); err != nil {
				return Entry{}, c.fail(err)
			} else if ok {
				return e, nil
			}
			continue
		}
		if c.sub == nil {
			sub, err := c.j.Subscribe(c.stream, c.opts.Buffer)
			if err != nil {
				return Entry{}, c.fail(err)
			}
			c.sub = sub
			c.needRead = true
		}
		if c.needRead {
			es, err := c.j.ReadFrom(ctx, c.stream, c.pos, c.opts.ReadLimit)
			if err != nil {
				if ctx.Err() != nil {
					return Entry{}, err
				}
				return Entry{}, c.fail(err)
			}
			c.needRead = len(es) == c.opts.ReadLimit
			c.buf = es
			continue
		}
		select {
		case e, ok := <-c.sub.C:
			if !ok {
				err := c.sub.Err()
				c.sub = nil
				if err == ErrLagged {
					continue // resubscribe, then read what was missed
				}
				if err == nil {
					err = ErrClosed
				}
				return Entry{}, c.fail(err)
			}
			if ok, err := c.accept(e); err != nil {
				return Entry{}, c.fail(err)
			} else if ok {
				return e, nil
			}
			if e.Seq > c.pos.Seq+1 {
				c.needRead = true // gap: fetch the missing entries
			}
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// accept reports whether e is the next entry and, if so, advances.
// Entries at or below the position are duplicates; entries beyond the next
// one are a gap (the caller re-reads).
func (c *Cursor) accept(e Entry) (bool, error) {
	if c.pos.Epoch != "" && e.Epoch != c.pos.Epoch {
		return false, &PositionError{Stream: c.stream, Pos: c.pos, Head: e.Position(), Err: fmt.Errorf("%w: live entry of epoch %q", ErrEpochMismatch, e.Epoch)}
	}
	if e.Seq != c.pos.Seq+1 {
		return false, nil
	}
	c.pos = e.Position()
	return true, nil
}

func (c *Cursor) fail(err error) error {
	c.err = err
	c.release()
	return err
}

func (c *Cursor) release() {
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	c.buf = nil
}

// Close releases the cursor's subscription. Next then fails with ErrClosed.
func (c *Cursor) Close() {
	if c.err == nil {
		c.err = ErrClosed
	}
	c.release()
}

// Catchup calls fn with every entry of stream after the position after, in
// order, exactly once: the history first, then live entries as they are
// committed. It returns when ctx is done (ctx.Err()), when fn returns an error
// (that error), or on a journal error (see Cursor.Next). fn runs on the
// caller's goroutine; while it runs, live entries queue in a buffer of
// opts.Buffer and, past that, are re-read from the journal.
func Catchup(ctx context.Context, j Journal, stream string, after Position, opts CursorOptions, fn func(Entry) error) error {
	c := NewCursor(j, stream, after, opts)
	defer c.Close()
	for {
		e, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
