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
	// Retention per stream (NewMemRetaining); 0: no bound.
	keep      int // entries
	keepBytes int // payload bytes
}

type memStream struct {
	epoch   string
	first   uint64  // seq of entries[0]
	entries []Entry // retained entries, first..head
	// opens[i]: entries[i] is the first of an arena (one per Append, or
	// per trim's copy): the entries after it up to the next open share it.
	opens []bool
	bytes int // payload bytes of entries
	head  uint64
}

// NewMem returns an empty in-memory journal that keeps everything.
func NewMem() *MemJournal { return NewMemRetaining(0, 0) }

// NewMemRetaining returns an empty in-memory journal that bounds each
// stream by entries and by payload bytes: an Append that brings a stream to
// twice keep entries or twice keepBytes bytes drops its oldest entries until
// it holds at most keep entries and keepBytes bytes (always the newest
// one). So a stream holds at most 2×keep entries and 2×keepBytes bytes (or
// its one newest entry), trimming costs O(1) per entry and byte, amortised,
// and memory stays bounded without a sweeper. A bound <= 0 is no bound.
func NewMemRetaining(keep, keepBytes int) *MemJournal {
	return &MemJournal{
		streams:   make(map[string]*memStream),
		hub:       NewHub(),
		now:       func() int64 { return time.Now().UnixNano() },
		keep:      max(keep, 0),
		keepBytes: max(keepBytes, 0),
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
	if err := checkKeys(recs); err != nil {
		return Position{}, err
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
		entries[i] = Entry{Stream: stream, Time: t, Data: arena[off:len(arena):len(arena)], Key: r.Key}
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
	s.opens = append(s.opens, true)
	for range len(entries) - 1 {
		s.opens = append(s.opens, false)
	}
	s.bytes += size
	m.retainLocked(s)
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
		return nil, CheckRead(stream, after, "", 1, 0)
	}
	if err := CheckRead(stream, after, s.epoch, s.first, s.head); err != nil {
		return nil, err
	}
	i := after.Seq + 1 - s.first
	if i >= uint64(len(s.entries)) {
		return nil, nil
	}
	n := min(uint64(limit), uint64(len(s.entries))-i)
	// Data is never modified after append, but give callers their own copy
	// as BoltJournal does, so that a test of another package cannot corrupt
	// the journal by writing into an entry.
	return CloneEntries(s.entries[i : i+n]), nil
}

// CloneEntries returns a copy of es whose payloads share one new arena, so
// that a caller cannot write into a journal's memory.
func CloneEntries(es []Entry) []Entry { return cloneEntries(es, 0) }

// cloneEntries is CloneEntries with a capacity of at least room entries.
func cloneEntries(es []Entry, room int) []Entry {
	out := slices.Clone(es)
	if room > len(es) {
		out = append(make([]Entry, 0, room), es...)
	}
	copyPayloads(out)
	return out
}

// copyPayloads points es's payloads at copies in one new arena.
func copyPayloads(es []Entry) {
	size := 0
	for _, e := range es {
		size += len(e.Data)
	}
	arena := make([]byte, 0, size)
	for k := range es {
		off := len(arena)
		arena = append(arena, es[k].Data...)
		es[k].Data = arena[off:len(arena):len(arena)]
	}
}

// retainLocked applies the journal's retention to s once s holds twice
// either bound (NewMemRetaining). Caller holds m.mu.
func (m *MemJournal) retainLocked(s *memStream) {
	n := len(s.entries)
	if (m.keep == 0 || n < 2*m.keep) && (m.keepBytes == 0 || s.bytes < 2*m.keepBytes) {
		return
	}
	drop, bytes := 0, s.bytes
	for drop < n-1 && ((m.keep > 0 && n-drop > m.keep) || (m.keepBytes > 0 && bytes > m.keepBytes)) {
		bytes -= len(s.entries[drop].Data)
		drop++
	}
	// The survivors' slice has room for the appends up to the next trim by
	// entries (twice keep), at most twice the survivors (a bound in bytes
	// may trim long before): growing it on the way, by a quarter at a
	// time, copied the whole slice four times per trim, the largest cost
	// of an Append after the payload copy. The slice it had is reused
	// when it is no larger than twice that.
	s.drop(drop, min(2*m.keep, 2*(n-drop)))
}

// drop removes the oldest n entries of s, leaving room for at least room
// entries in all (0: no more than the survivors).
func (s *memStream) drop(n, room int) {
	for _, e := range s.entries[:n] {
		s.bytes -= len(e.Data)
	}
	// The dropped prefix, and the arenas it shares with survivors, must be
	// collectable, so that the bytes counted are the bytes held: the
	// survivors sharing an arena with a dropped entry (the rest of a cut
	// Append, at most) get their payloads copied. Entries handed out
	// (ReadFrom, the hub) are copies: the slice itself can be reused.
	if room > 0 && cap(s.entries) >= room && cap(s.entries) <= 2*room {
		cut := n
		for cut < len(s.entries) && !s.opens[cut] {
			cut++
		}
		if cut > n {
			copyPayloads(s.entries[n:cut])
			s.opens[n] = true
		}
		k := copy(s.entries, s.entries[n:])
		copy(s.opens, s.opens[n:])
		clear(s.entries[k:])
		s.entries, s.opens = s.entries[:k], s.opens[:k]
	} else {
		// Copied whole, payloads included: one arena for all.
		s.entries = cloneEntries(s.entries[n:], room)
		s.opens = make([]bool, len(s.entries), cap(s.entries))
		if len(s.opens) > 0 {
			s.opens[0] = true
		}
	}
	s.first += uint64(n)
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
	s.drop(int(through+1-s.first), 0)
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
