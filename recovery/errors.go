package recovery

import (
	"errors"
	"fmt"
)

// Errors returned by journals. Test them with errors.Is: implementations wrap
// them with context (stream, path, positions).
var (
	// ErrPositionTooOld: entries after the position were trimmed by
	// retention; the caller cannot catch up from it and must re-snapshot.
	ErrPositionTooOld = errors.New("recovery: position too old (history trimmed)")

	// ErrEpochMismatch: the position belongs to another history of the
	// stream (the journal was wiped or replaced, or the position carries a
	// sequence number without an epoch). Not recoverable: re-snapshot.
	ErrEpochMismatch = errors.New("recovery: epoch mismatch (history lost)")

	// ErrPositionAhead: the position is beyond the stream's head. It was
	// never handed out by this history: a client bug, or a journal that lost
	// acknowledged writes (see docs/recovery.md on fsync policies).
	ErrPositionAhead = errors.New("recovery: position ahead of head")

	// ErrClosed: the journal or subscription is closed.
	ErrClosed = errors.New("recovery: journal closed")

	// ErrLagged: a subscriber did not drain its channel fast enough and was
	// dropped; it must read the missed entries from the journal (Cursor does
	// this by itself).
	ErrLagged = errors.New("recovery: subscriber lagged")

	// ErrCorrupt: the journal file is not a valid journal (not a bbolt file,
	// a bbolt file of something else, or internally inconsistent). Nothing is
	// written to such a file.
	ErrCorrupt = errors.New("recovery: not a valid journal")

	// ErrInvalidArgument: a bad stream name, record or limit.
	ErrInvalidArgument = errors.New("recovery: invalid argument")
)

// PositionError is returned by ReadFrom (and Trim) when a position cannot be
// served. Err is one of ErrPositionTooOld, ErrEpochMismatch, ErrPositionAhead;
// Head and First describe the stream at the time of the call so that the
// caller can re-snapshot and resume from Head.
type PositionError struct {
	Stream string
	Pos    Position // the position asked for
	Head   Position // the stream's head (Epoch "" if the stream has no history)
	First  uint64   // lowest retained sequence number (Head.Seq+1 if none)
	Err    error
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("%v: stream %q position %s, head %s, first retained %d",
		e.Err, e.Stream, e.Pos, e.Head, e.First)
}

func (e *PositionError) Unwrap() error { return e.Err }

// MaxStreamName is the longest stream name accepted, in bytes.
const MaxStreamName = 1024

// MaxRecordKey bounds Record.Key.
const MaxRecordKey = 256

// checkKeys refuses a record whose Key is over MaxRecordKey bytes.
func checkKeys(recs []Record) error {
	for i, r := range recs {
		if len(r.Key) > MaxRecordKey {
			return fmt.Errorf("%w: record %d has a %d-byte key, max %d", ErrInvalidArgument, i, len(r.Key), MaxRecordKey)
		}
	}
	return nil
}

func checkStream(stream string) error {
	if stream == "" || len(stream) > MaxStreamName {
		return fmt.Errorf("%w: stream name must be 1..%d bytes, got %d", ErrInvalidArgument, MaxStreamName, len(stream))
	}
	return nil
}

// CheckRead validates a read position against a stream's state, the rule
// every Journal's ReadFrom applies. epoch is "" and head 0 when the stream
// has no history. first is the lowest retained sequence number (head+1
// when nothing is retained).
func CheckRead(stream string, after Position, epoch string, first, head uint64) error {
	var err error
	switch {
	case after.Epoch != "" && after.Epoch != epoch:
		err = ErrEpochMismatch
	case after.Epoch == "" && after.Seq > 0:
		// A sequence number without an epoch cannot be vouched for.
		err = ErrEpochMismatch
	case after.Seq > head:
		err = ErrPositionAhead
	case after.Seq+1 < first:
		err = ErrPositionTooOld
	default:
		return nil
	}
	return &PositionError{Stream: stream, Pos: after, Head: Position{Seq: head, Epoch: epoch}, First: first, Err: err}
}
