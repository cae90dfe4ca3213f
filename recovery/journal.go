package recovery

import (
	"context"
	"errors"
	"time"
)

// Journal is a set of per-stream, sequenced, append-only histories.
//
// The interface is deliberately small and made of deterministic operations
// (Append assigns sequence numbers, Trim takes a sequence number, not a
// clock) so that a replicated log can implement it by proposing each call as
// one log command. Implementations: BoltJournal, MemJournal; every
// implementation must pass journaltest.Run.
type Journal interface {
	// Append atomically appends recs to stream, which is created (and its
	// epoch minted) by its first Append. The records get contiguous sequence
	// numbers, never interleaved with another Append's; the first record of a
	// stream gets 1. Append returns the position of the last record once the
	// records are durable per the journal's sync policy (BoltJournal: fsynced
	// by default) and visible to ReadFrom. Appending no records returns the
	// current head.
	//
	// A nil error means the records are in the journal. An error means they
	// are not, except after a storage failure (a failed commit or fsync), where
	// the outcome is unknown and the journal refuses further appends.
	Append(ctx context.Context, stream string, recs ...Record) (Position, error)

	// ReadFrom returns up to limit (> 0) entries of stream with Seq >
	// after.Seq, in order. Fewer than limit entries means the head was
	// reached at the time of the read. Reading after the head returns no
	// entries and no error. The position is checked first: errors wrap
	// (as *PositionError) ErrEpochMismatch, ErrPositionAhead or
	// ErrPositionTooOld. The zero Position reads from the start of a stream
	// that has never been trimmed, including one that does not exist yet.
	ReadFrom(ctx context.Context, stream string, after Position, limit int) ([]Entry, error)

	// Head returns the position of the last entry appended to stream, or the
	// zero Position if the stream has no history. Trimming does not move it.
	Head(stream string) (Position, error)

	// Streams lists the streams that have a history, sorted.
	Streams() ([]string, error)

	// Subscribe delivers, on the returned subscription's channel, every entry
	// of stream committed after Subscribe returns, in sequence order with no
	// gap, until the subscription is closed, the journal is closed, or the
	// subscriber falls more than buffer entries behind (then the channel is
	// closed and Err returns ErrLagged). It may also deliver entries committed
	// shortly before. A subscription alone is not a recovery mechanism: use
	// Cursor or Catchup to continue from a position.
	Subscribe(stream string, buffer int) (*Subscription, error)

	// Trim removes the entries of stream with Seq <= through. The head and
	// the epoch stay; readers from a position before through get
	// ErrPositionTooOld. Trimming at or below what is already trimmed does
	// nothing; through beyond the head is ErrPositionAhead.
	Trim(ctx context.Context, stream string, through uint64) error

	// Close waits for pending appends, closes subscriptions and releases the
	// storage. Later calls fail with ErrClosed.
	Close() error
}

// Retention bounds what a journal keeps, per stream. The zero value keeps
// everything. When both limits are set, an entry is dropped if either says
// so. Retention is applied by calling Trim, so it is replicated like any
// other trim.
type Retention struct {
	// MaxEntries keeps at most this many newest entries per stream. 0: no
	// count limit.
	MaxEntries uint64
	// MaxAge drops the oldest entries whose Time is before now-MaxAge. Only a
	// prefix is dropped: trimming stops at the first entry young enough, so
	// caller-supplied times that go backwards never punch holes. 0: no age
	// limit.
	MaxAge time.Duration
}

// IsZero reports whether r keeps everything.
func (r Retention) IsZero() bool { return r.MaxEntries == 0 && r.MaxAge <= 0 }

// DefaultReadLimit is a sensible limit for ReadFrom calls in loops.
const DefaultReadLimit = 1024

// EnforceRetention trims every stream of j according to r, as of now, using
// only the Journal interface (it reads the entries it is about to drop to
// check their times, in pages of DefaultReadLimit). It returns the number of
// entries removed. Implementations may offer a faster equivalent
// (BoltJournal applies BoltOptions.Retention by itself).
func EnforceRetention(ctx context.Context, j Journal, r Retention, now time.Time) (uint64, error) {
	if r.IsZero() {
		return 0, nil
	}
	streams, err := j.Streams()
	if err != nil {
		return 0, err
	}
	var removed uint64
	for _, s := range streams {
		n, err := EnforceStreamRetention(ctx, j, s, r, now)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// EnforceStreamRetention is EnforceRetention for one stream, for a caller
// that exempts some streams (a replicated journal whose order book and FIX
// store streams must keep their whole history).
func EnforceStreamRetention(ctx context.Context, j Journal, stream string, r Retention, now time.Time) (uint64, error) {
	if r.IsZero() {
		return 0, nil
	}
	head, err := j.Head(stream)
	if err != nil || head.Seq == 0 {
		return 0, err
	}
	first, err := firstRetained(ctx, j, stream, head)
	if err != nil {
		return 0, err
	}
	var through uint64
	if r.MaxEntries > 0 && head.Seq > r.MaxEntries {
		through = head.Seq - r.MaxEntries
	}
	if r.MaxAge > 0 {
		// Walk the retained prefix older than the cutoff.
		cutoff := now.Add(-r.MaxAge).UnixNano()
		pos := Position{Seq: first - 1, Epoch: head.Epoch}
	scan:
		for pos.Seq < head.Seq {
			es, err := j.ReadFrom(ctx, stream, pos, DefaultReadLimit)
			if err != nil {
				return 0, err
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				if e.Seq > head.Seq || e.Time >= cutoff {
					break scan
				}
				pos = e.Position()
			}
		}
		through = max(through, pos.Seq)
	}
	if through < first {
		return 0, nil
	}
	if err := j.Trim(ctx, stream, through); err != nil {
		return 0, err
	}
	return through - first + 1, nil
}

// firstRetained returns the lowest retained sequence number of stream
// (head+1 if none), learnt from the PositionError of a read from the start.
func firstRetained(ctx context.Context, j Journal, stream string, head Position) (uint64, error) {
	_, err := j.ReadFrom(ctx, stream, Position{Epoch: head.Epoch}, 1)
	if err == nil {
		return 1, nil
	}
	var pe *PositionError
	if errors.As(err, &pe) && errors.Is(pe.Err, ErrPositionTooOld) {
		return pe.First, nil
	}
	return 0, err
}
