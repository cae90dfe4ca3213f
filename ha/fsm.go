package ha

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"

	"github.com/hashicorp/raft"

	"tickwire/recovery"
)

// fsm is the journal state every node builds by applying the raft log: the
// streams (retained entries, head, epoch) and the members records. Apply
// never panics on a command: a bad one gets an ErrBadCommand result, the
// same on every node, and changes nothing.
type fsm struct {
	mu      sync.RWMutex
	streams map[string]*stream // guarded by mu
	members map[string]Peer    // guarded by mu; by node id
	applied uint64             // guarded by mu; raft index of the last applied log
	// appliedCh is closed (and replaced) whenever applied moves: WaitApplied.
	appliedCh chan struct{}               // guarded by mu
	handles   map[*Journal]struct{}       // guarded by mu; publish targets
	watchers  map[*streamWatcher]struct{} // guarded by mu
	// notify, if set, is poked (never blocking) after each batch, so the
	// node's status loop sees catch-up promptly.
	notify chan struct{}
}

// stream is one stream's retained history. entries is only ever appended
// to or replaced (never modified in place), so a snapshot can keep a slice
// of it while Apply continues.
type stream struct {
	epoch   string
	first   uint64           // seq of entries[0]
	head    uint64           // last seq appended
	entries []recovery.Entry // first..head
}

// applyResult is what Apply returns for a journal command, handed back to
// the proposer through raft's ApplyFuture.Response.
type applyResult struct {
	pos recovery.Position
	err error
}

type streamWatcher struct {
	c       chan string
	dropped uint64 // guarded by fsm.mu
}

func newFSM() *fsm {
	return &fsm{
		streams:   make(map[string]*stream),
		members:   make(map[string]Peer),
		appliedCh: make(chan struct{}),
		handles:   make(map[*Journal]struct{}),
		watchers:  make(map[*streamWatcher]struct{}),
	}
}

var _ raft.BatchingFSM = (*fsm)(nil)

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: one lock for a batch of commits.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			out[i] = f.applyLocked(l)
		}
		f.applied = l.Index
	}
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.mu.Unlock()
	if f.notify != nil {
		select {
		case f.notify <- struct{}{}:
		default:
		}
	}
	return out
}

// applyLocked applies one command. Caller holds f.mu.
func (f *fsm) applyLocked(l *raft.Log) (res any) {
	defer func() {
		// Belt and braces: a bug in decoding must not take every node down
		// with the same panic; the command gets an error result instead.
		if r := recover(); r != nil {
			res = applyResult{err: fmt.Errorf("%w: index %d: panic: %v", ErrBadCommand, l.Index, r)}
		}
	}()
	if len(l.Data) > MaxCommandBytes+64 {
		return applyResult{err: fmt.Errorf("%w: index %d: %d bytes, max %d", ErrBadCommand, l.Index, len(l.Data), MaxCommandBytes)}
	}
	d := decoder{b: l.Data}
	op := d.header()
	if d.err != nil {
		return applyResult{err: fmt.Errorf("%w: index %d: %v", ErrBadCommand, l.Index, d.err)}
	}
	switch op {
	case opAppend:
		c, err := decodeAppend(&d)
		if err != nil {
			return applyResult{err: fmt.Errorf("%w: index %d: append: %v", ErrBadCommand, l.Index, err)}
		}
		return f.appendLocked(l.Index, c)
	case opTrim:
		s, through, err := decodeTrim(&d)
		if err != nil {
			return applyResult{err: fmt.Errorf("%w: index %d: trim: %v", ErrBadCommand, l.Index, err)}
		}
		return applyResult{err: f.trimLocked(s, through)}
	case opMember:
		p, remove, err := decodeMember(&d)
		if err != nil {
			return applyResult{err: fmt.Errorf("%w: index %d: member: %v", ErrBadCommand, l.Index, err)}
		}
		if remove {
			delete(f.members, p.ID)
		} else {
			f.members[p.ID] = p
		}
		return applyResult{}
	case opBarrier:
		if len(d.b) != 0 {
			return applyResult{err: fmt.Errorf("%w: index %d: barrier with %d trailing bytes", ErrBadCommand, l.Index, len(d.b))}
		}
		return applyResult{}
	default:
		return applyResult{err: fmt.Errorf("%w: index %d: unknown op %d", ErrBadCommand, l.Index, op)}
	}
}

// appendLocked appends c's records. Caller holds f.mu.
func (f *fsm) appendLocked(index uint64, c appendCmd) applyResult {
	s := f.streams[c.stream]
	created := false
	if s == nil {
		epoch := c.epoch
		if epoch == "" {
			// The proposer always mints one for a stream it does not know;
			// derive one from the log index should it not, so that every
			// node still agrees.
			h := fnv.New64a()
			_ = binary.Write(h, binary.BigEndian, index)
			epoch = fmt.Sprintf("%016x", h.Sum64())
		}
		s = &stream{epoch: epoch, first: 1}
		f.streams[c.stream] = s
		created = true
	}
	if len(c.recs) == 0 {
		return applyResult{pos: recovery.Position{Seq: s.head, Epoch: s.epoch}}
	}
	// One arena for the payloads: the entries must not share the log's
	// buffer, which raft may reuse or keep in its cache.
	size := 0
	for _, r := range c.recs {
		size += len(r.Data)
	}
	arena := make([]byte, 0, size)
	entries := make([]recovery.Entry, len(c.recs))
	for i, r := range c.recs {
		off := len(arena)
		arena = append(arena, r.Data...)
		s.head++
		entries[i] = recovery.Entry{Stream: c.stream, Seq: s.head, Epoch: s.epoch, Time: r.Time, Data: arena[off:len(arena):len(arena)], Key: r.Key}
	}
	s.entries = append(s.entries, entries...)
	// Publishing under f.mu keeps publications in sequence order.
	for j := range f.handles {
		if j.hub.HasSubscribers(c.stream) {
			j.hub.Publish(c.stream, entries)
		}
	}
	if created {
		f.announceLocked(c.stream)
	}
	return applyResult{pos: recovery.Position{Seq: s.head, Epoch: s.epoch}}
}

// trimLocked drops entries through seq through. Caller holds f.mu.
func (f *fsm) trimLocked(name string, through uint64) error {
	s := f.streams[name]
	var epoch string
	var first, head uint64 = 1, 0
	if s != nil {
		epoch, first, head = s.epoch, s.first, s.head
	}
	if through > head {
		return &recovery.PositionError{Stream: name, Pos: recovery.Position{Seq: through, Epoch: epoch}, Head: recovery.Position{Seq: head, Epoch: epoch}, First: first, Err: recovery.ErrPositionAhead}
	}
	if s == nil || through < s.first {
		return nil
	}
	n := through + 1 - s.first
	// A new slice, not a reslice: the dropped entries (and their arenas,
	// unless shared with survivors) become garbage, and snapshots holding
	// the old slice are unaffected.
	s.entries = slices.Clone(s.entries[n:])
	s.first = through + 1
	return nil
}

func (f *fsm) announceLocked(name string) {
	for w := range f.watchers {
		select {
		case w.c <- name:
		default:
			w.dropped++
		}
	}
}

// waitCh returns the applied index and a channel closed when it moves.
func (f *fsm) waitCh() (uint64, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied, f.appliedCh
}

func (f *fsm) appliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

// epochOf returns stream's epoch, "" if it has no history here.
func (f *fsm) epochOf(name string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if s := f.streams[name]; s != nil {
		return s.epoch
	}
	return ""
}

func (f *fsm) member(id string) (Peer, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, ok := f.members[id]
	return p, ok
}

func (f *fsm) memberList() []Peer {
	f.mu.RLock()
	out := slices.Collect(maps.Values(f.members))
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b Peer) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}
