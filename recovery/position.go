package recovery

import "strconv"

// Position identifies a point in one stream's history: the last sequence
// number seen and the epoch of the history it was seen in. The zero Position
// means "nothing seen yet": reading after it starts at sequence 1.
type Position struct {
	Seq   uint64
	Epoch string
}

// IsZero reports whether p is the zero Position.
func (p Position) IsZero() bool { return p.Seq == 0 && p.Epoch == "" }

// String formats p as "seq@epoch", for logs.
func (p Position) String() string {
	return strconv.FormatUint(p.Seq, 10) + "@" + p.Epoch
}

// Record is one event handed to Append.
type Record struct {
	// Time is the event time in unix nanoseconds. Callers should set it (the
	// time of the order event itself) so that a replay is deterministic. If it
	// is zero the journal stamps the wall-clock time of the commit. Either way
	// the stored value is what every later read returns.
	Time int64
	// Data is the opaque payload. Append copies it: the caller may reuse the
	// slice once Append returns.
	Data []byte
	// Key, if not empty, is stored with the record and returned with its
	// Entry: opaque to the journal (the feed server keeps a publish's
	// idempotency key in it, see docs/recovery.md), at most MaxRecordKey
	// bytes. It is kept, read and trimmed with the record.
	Key string
}

// Entry is one journaled event.
type Entry struct {
	Stream string
	Seq    uint64
	Epoch  string
	Time   int64 // unix nanoseconds, as stored at append
	Data   []byte
	Key    string // the Record's Key
}

// Position returns the position just after e: reading after it continues
// with the entry following e.
func (e Entry) Position() Position { return Position{Seq: e.Seq, Epoch: e.Epoch} }
