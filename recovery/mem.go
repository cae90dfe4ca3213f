package recovery

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemJournal is a Journal in memory: same semantics as BoltJournal (the
// conformance suite checks both) without durability. Every MemJournal is a
// new history: its streams get fresh epochs, so positions from a previous
// process are rejected with ErrEpochMismatch, as they should be.
type MemJournal struct {
	mu      sync.RWMutex
	streams map[string]*memStream // guarded by mu
	closed  bool                  // guarded by mu
	hub     *Hub
	now     func() int64
	keep    int // retention per stream (NewMemRetaining); 0: everything
}

type memStream struct {
	epoch   string
	first   uint64  // seq of entries[0]
	entries []Entry // retained entries, first..head
	head    uint64
}

// NewMem returns an empty in-memory journal that keeps everything.
func NewMem() *MemJournal { return NewMemRetaining(0) }

// NewMemRetaining returns an empty in-memory journal that keeps at least
// the newest keep entries of each stream and at most twice that: an Append
// that brings a stream to 2×keep drops all but the newest keep, so trimming
// costs O(1) per entry, amortised, and memory stays bounded without a
// sweeper. keep <= 0 keeps everything.
func NewMemRetaining(keep int) *MemJournal {
	return &MemJournal{
		streams: make(map[string]*memStream),
		hub:     NewHub(),
		now:     func() int64 { return time.Now().UnixNano() },
		keep:    max(keep, 0),
	}
}

var _ Journal = (*MemJournal)(nil)

// Append implements Journal. The records are visible and published when it
// returns; nothing is durable.
func (m *MemJournal) Append(ctx context.Context, stream string, recs ...Record) (Position, error) {
	if err := checkStream(stream); err != nil {
		return Position{}, err
	}
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	if len(recs) == 0 {
		return m.Head(stream)
	}
	// Copy outside the lock: one allocation for all payloads.
	size := 0
	for _, r := range recs {
		size += len(r.Data)
	}
	arena := make([]byte, 0, size)
	entries := make([]Entry, len(recs))
	now := m.now()
	for i, r := range recs {
		off := len(arena)
		arena = append(arena, r.Data...)
		t := r.Time
		if t == 0 {
			t = now
		}
		entries[i] = Entry{Stream: stream, Time: t, Data: arena[off:len(arena):len(arena)]}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Position{}, ErrClosed
	}
	s := m.streams[stream]
	if s == nil {
		s = &memStream{epoch: NewEpoch(), first: 1}
		m.streams[stream] = s
	}
	for i := range entries {
		s.head++
		entries[i].Seq = s.head
		entries[i].Epoch = s.epoch
	}
	s.entries = append(s.entries, entries...)
	if m.keep > 0 && len(s.entries) >= 2*m.keep {
		drop := len(s.entries) - m.keep
		// Copy the survivors so the dropped prefix can be collected.
		s.entries = slices.Clone(s.entries[drop:])
		s.first += uint64(drop)
	}
	// Publishing under m.mu keeps publications in sequence order.
	m.hub.Publish(stream, entries)
	return Position{Seq: s.head, Epoch: s.epoch}, nil
}

// ReadFrom implements Journal.
func (m *MemJournal) ReadFrom(ctx context.Context, stream string, after Position, limit int) ([]Entry, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalidArgument, limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := m.streams[stream]
	if s == nil {
		return nil, checkRead(stream, after, "", 1, 0)
	}
	if err := checkRead(stream, after, s.epoch, s.first, s.head); err != nil {
		return nil, err
	}
	i := after.Seq + 1 - s.first
	if i >= uint64(len(s.entries)) {
		return nil, nil
	}
	n := min(uint64(limit), uint64(len(s.entries))-i)
	out := make([]Entry, n)
	copy(out, s.entries[i:i+n])
	// Data is never modified after append, but give callers their own copy
	// as BoltJournal does, so that a test of another package cannot corrupt
	// the journal by writing into an entry.
	size := 0
	for _, e := range out {
		size += len(e.Data)
	}
	arena := make([]byte, 0, size)
	for k := range out {
		off := len(arena)
		arena = append(arena, out[k].Data...)
		out[k].Data = arena[off:len(arena):len(arena)]
	}
	return out, nil
}

// Head implements Journal.
func (m *MemJournal) Head(stream string) (Position, error) {
	if err := checkStream(stream); err != nil {
		return Position{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Position{}, ErrClosed
	}
	s := m.streams[stream]
	if s == nil {
		return Position{}, nil
	}
	return Position{Seq: s.head, Epoch: s.epoch}, nil
}

// Streams implements Journal.
func (m *MemJournal) Streams() ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]string, 0, len(m.streams))
	for name := range m.streams {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// Subscribe implements Journal.
func (m *MemJournal) Subscribe(stream string, buffer int) (*Subscription, error) {
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	return m.hub.Subscribe(stream, buffer)
}

// Trim implements Journal.
func (m *MemJournal) Trim(ctx context.Context, stream string, through uint64) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	s := m.streams[stream]
	var epoch string
	var first, head uint64 = 1, 0
	if s != nil {
		epoch, first, head = s.epoch, s.first, s.head
	}
	if through > head {
		return &PositionError{Stream: stream, Pos: Position{Seq: through, Epoch: epoch}, Head: Position{Seq: head, Epoch: epoch}, First: first, Err: ErrPositionAhead}
	}
	if s == nil || through < s.first {
		return nil
	}
	n := through + 1 - s.first
	// Copy the survivors so the trimmed prefix can be collected.
	s.entries = slices.Clone(s.entries[n:])
	s.first = through + 1
	return nil
}

// Close implements Journal. Closing twice is not an error.
func (m *MemJournal) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.hub.Close()
	}
	return nil
}
