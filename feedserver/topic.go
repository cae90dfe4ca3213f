package feedserver

import (
	"fmt"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/auth"
	"tickwire/protocol"
)

// TopicKind fixes a topic's delivery semantics.
type TopicKind uint8

// Topic kinds.
const (
	// ConflatedReplace: a client holds at most one pending value; a newer one
	// replaces it. A client that skipped values gets the latest as a Snapshot.
	ConflatedReplace TopicKind = iota
	// ConflatedMerge: a client holds at most one pending value; a newer one
	// is merged into it field by field under the topic's Ops (sum of volume,
	// high/low, ...), so nothing is lost by conflating.
	ConflatedMerge
	// Sequenced: every event, in order, never conflated or dropped (orders,
	// fills, alerts), kept in the journal (Config.Journal). A client that
	// falls behind the in-memory window catches up from the journal; one
	// whose position the journal no longer has is told so (history lost),
	// never silently skipped.
	Sequenced
)

// String returns the kind's configuration name.
func (k TopicKind) String() string {
	switch k {
	case ConflatedReplace:
		return "replace"
	case ConflatedMerge:
		return "merge"
	case Sequenced:
		return "sequenced"
	}
	return fmt.Sprintf("TopicKind(%d)", uint8(k))
}

// TopicRule gives the topics whose names match Pattern their semantics.
type TopicRule struct {
	// Pattern is a path.Match pattern over topic names, e.g. "orders.*".
	Pattern string
	Kind    TopicKind
	// Ops is the merge operation of a ConflatedMerge topic (e.g. protocol.OpsTrade).
	Ops protocol.Ops
	// Behaviours merge fields of a conflated topic as the built-in Ops
	// cannot (a VWAP, an open, a mid): behaviour.go. A topic with any
	// travels as already merged values (Snapshot ops 0, Updates of the
	// changed fields), whatever its kind.
	Behaviours []BehaviourRule
	// StaleAfter is the source's expected interval bound: a conflated topic
	// silent for longer is published as stale until its next value. 0 never.
	StaleAfter time.Duration
	// Window is how many of a Sequenced topic's newest events stay encoded
	// in memory, a cache in front of the journal. Default 4096. The cache
	// grows with use: room for a few events first, doubling up to Window.
	Window int
	// WindowBytes bounds the same cache in bytes of encoded events (it
	// keeps at least the newest event). Default 1 MiB.
	WindowBytes int
}

// DefaultTopicRules: orders, fills and alerts are sequenced; "*.trades"
// merge as trades; everything else is a replaced quote.
func DefaultTopicRules() []TopicRule {
	return []TopicRule{
		{Pattern: "orders.*", Kind: Sequenced},
		{Pattern: "fills.*", Kind: Sequenced},
		{Pattern: "alerts", Kind: Sequenced},
		{Pattern: "alerts.*", Kind: Sequenced},
		{Pattern: "*.trades", Kind: ConflatedMerge, Ops: protocol.OpsTrade},
	}
}

// ruleFor returns the first rule matching name, or the default quote rule.
func ruleFor(rules []TopicRule, name string, staleAfter time.Duration) TopicRule {
	for _, r := range rules {
		if ok, _ := path.Match(r.Pattern, name); ok {
			if r.Kind == Sequenced && r.Window <= 0 {
				r.Window = 4096
			}
			if r.Kind == Sequenced && r.WindowBytes <= 0 {
				r.WindowBytes = 1 << 20
			}
			if r.Kind != Sequenced && r.StaleAfter == 0 {
				r.StaleAfter = staleAfter
			}
			return r
		}
	}
	return TopicRule{Pattern: "*", Kind: ConflatedReplace, StaleAfter: staleAfter}
}

// topic is one topic: its latest value (conflated) or its retained events
// (sequenced), and its subscribers. Every field is guarded by the owning
// shard's mutex.
type topic struct {
	name    string
	rule    TopicRule
	value   protocol.Quote // conflated: latest full value
	cur     *version       // conflated: latest published version; nil before the first
	lastPub time.Time      // conflated: when the source last published (monotonic)
	stale   bool           // conflated: published as stale, no value since
	paused  bool           // ingest paused by an operator: source publishes are dropped
	events  ring           // sequenced: retained events
	idem    *idemIndex     // sequenced: remembered idempotency keys; nil before the first keyed publish
	subs    map[*Conn]*sub
	members []member // the same subscribers as a slice, replaced (never mutated) on change
	// pushed: the conflated subscribers offered every version (the ones
	// without a rate limit); rate-limited ones pull latest on the wheel's
	// tick (wheel.go). Mutated and read under the shard's write lock.
	pushed []member
	// latest is cur for readers without the shard lock: the wheel's pulls.
	latest atomic.Pointer[version]
	// behaviours: the rule's behaviours bound to this topic, each enabled
	// or disabled by a failure (behaviour.go); nil for most topics.
	behaviours []topicBehaviour
	// slot: the topic counts against the topic limits (Hub.slots): it has a
	// value or a history, or a publish is about to give it one. owner is
	// the publisher it counts for ("" for nobody).
	slot  bool
	owner string
}

// empty reports whether the topic holds nothing but its name: no
// subscriber, no value, no event, no slot, no operator's pause. Caller
// holds the shard lock.
func (tp *topic) empty() bool {
	return len(tp.subs) == 0 && tp.cur == nil && !tp.paused && tp.events.head == 0 && len(tp.events.early) == 0 && !tp.slot
}

// publisher is who publishes, for the per-publisher topic limit: its
// principal and remote address. The zero publisher is one of the server's
// own sources (replay, FIX gateway), never refused a topic.
type publisher struct {
	principal *auth.Principal
	addr      string
}

// key names p in the per-publisher counts: its principal's subject or, in
// open mode (everyone is the same anonymous principal), its IP address; ""
// for the server's own sources.
func (p publisher) key() string {
	switch {
	case p.principal == nil:
		return ""
	case p.principal.Method == auth.MethodNone:
		return "address " + addrKey(p.addr)
	}
	return "subject " + p.principal.Subject
}

// topicSlots counts the topics that hold a slot, in all and by publisher
// key, against Config.MaxHubTopics and MaxTopicsPerPublisher. Lock order:
// shard, then topicSlots.
type topicSlots struct {
	mu     sync.Mutex
	max    int // slots in all
	perPub int // slots per publisher
	n      int
	by     map[string]int // publisher key: slots counted for it
}

// take takes a slot for publisher key, or refuses it over a limit. The
// server's own sources (key "") are never refused, but count in all.
func (ts *topicSlots) take(key string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if key != "" {
		if ts.max > 0 && ts.n >= ts.max {
			return fmt.Errorf("%w: the server holds its maximum of %d topics", ErrTopicLimit, ts.max)
		}
		if ts.perPub > 0 && ts.by[key] >= ts.perPub {
			return fmt.Errorf("%w: publisher %s has made its maximum of %d topics", ErrTopicLimit, key, ts.perPub)
		}
		if ts.by == nil {
			ts.by = make(map[string]int)
		}
		ts.by[key]++
	}
	ts.n++
	return nil
}

// release gives back a slot taken for key.
func (ts *topicSlots) release(key string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.n--
	if key != "" {
		if ts.by[key]--; ts.by[key] <= 0 {
			delete(ts.by, key)
		}
	}
}

// member is one subscriber of a topic.
type member struct {
	c  *Conn
	sb *sub
}

// version is one published value of a conflated topic. It is immutable once
// published, except for the lazily encoded snapshot frame, so any number of
// client queues and writers can share it.
type version struct {
	topic  string
	seq    uint64
	time   int64
	stored int64 // server clock when the value was stored (Hub.clock); a stale mark keeps its value's
	flags  protocol.Flags
	ops    protocol.Ops
	value  protocol.Quote // the full value at this version
	input  protocol.Quote // what the source published (merge topics fold these)
	// reset: input does not lead from the version before to this one (a
	// value another node merged, Hub.PublishMerged): clients get its
	// snapshot, and no pending value is folded across it (queue.offer).
	reset bool
	delta []byte // Update frame from seq-1 to seq
	full  atomic.Pointer[[]byte]
}

// snapshot returns the Snapshot frame of v, encoding it on first use. Racing
// callers may both encode; one result wins and both are identical.
func (v *version) snapshot(enc *protocol.Encoder) []byte {
	if p := v.full.Load(); p != nil {
		return *p
	}
	p := protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Stored: v.stored, Flags: v.flags, Ops: v.ops, Quote: v.value}
	b, err := enc.AppendPrice(nil, &p)
	if err != nil {
		panic(err) // only an invalid frame type fails, and ours is constant
	}
	v.full.CompareAndSwap(nil, &b)
	return *v.full.Load()
}

// event is one retained event of a sequenced topic.
type event struct {
	seq   uint64
	frame []byte
}

// ring caches the newest events of a sequenced topic, lo..head: at most the
// rule's Window of them and WindowBytes of frames; the journal has them all.
// Its buffer starts at ringMin events on the first event and doubles as the
// cache fills, so a topic with a few events costs a few events' worth.
type ring struct {
	buf   []event
	head  uint64           // seq of the newest event in the topic's history; 0 before the first
	lo    uint64           // seq of the oldest cached event (head+1 when none)
	bytes int              // frame bytes of the cached events
	epoch string           // the history's epoch ("" before the first event)
	early map[uint64]event // events whose Append returned before an earlier one's was added
}

// ringMin is the size of a ring's first buffer, in events.
const ringMin = 8

// add caches ev, which must be event head+1, growing the buffer up to
// window events and evicting the oldest beyond window events or maxBytes
// bytes (never ev itself).
func (r *ring) add(ev event, window, maxBytes int) {
	if r.lo == 0 {
		r.lo = 1
	}
	if n := int(r.head + 1 - r.lo); n == len(r.buf) {
		if n < window {
			r.grow(min(max(2*n, ringMin), window))
		} else {
			r.evict()
		}
	}
	r.buf[ev.seq%uint64(len(r.buf))] = ev
	r.head = ev.seq
	r.bytes += len(ev.frame)
	for r.bytes > maxBytes && r.lo < r.head {
		r.evict()
	}
}

// grow moves the cached events to a buffer of size events.
func (r *ring) grow(size int) {
	buf := make([]event, size)
	for seq := r.lo; seq <= r.head; seq++ {
		buf[seq%uint64(size)] = r.buf[seq%uint64(len(r.buf))]
	}
	r.buf = buf
}

// evict drops the oldest cached event.
func (r *ring) evict() {
	i := r.lo % uint64(len(r.buf))
	r.bytes -= len(r.buf[i].frame)
	r.buf[i] = event{}
	r.lo++
}

// reset empties the cache and frees its buffer: the history is at head in
// epoch.
func (r *ring) reset(head uint64, epoch string) {
	*r = ring{head: head, lo: head + 1, epoch: epoch}
}

// sub is one client's subscription to one topic: the slot of the client's
// virtual queue for that topic. All fields but topic and seq are guarded by the
// client's queue mutex unless noted otherwise.
type sub struct {
	topic   *topic
	seqd    bool     // sequenced topic: next says where the client is
	pending *version // conflated: at most one pending value per topic
	merged  bool     // conflated-merge: fold holds the inputs since sent
	fold    *protocol.Quote
	queued  bool // in the queue's dirty list
	// deferred: the pending value waits for the client's rate limit or
	// bandwidth budget, and the writer's due timer will come back for it:
	// offers replace it without waking the writer. Guarded by the queue mutex.
	deferred bool
	sent     uint64 // conflated: seq of the last version written to the client
	dead     bool   // unsubscribed: the writer drops its pending value

	// gapAfter (conflated, resumed session): the seq last written on the
	// session's previous connection (not necessarily received); if not 0, the
	// first snapshot carries FlagGap. Guarded by the queue mutex.
	gapAfter uint64
	// held (sequenced, resumed session): nothing is delivered until the
	// reader has read the rest of the resuming message, which may move the
	// cursor to the client's own position. Guarded by the queue mutex.
	held bool
	// marks (sequenced): publishes that reached the subscription since the
	// writer last took it, counted to 2: two mean the writer did not get
	// to run between them (Config.CoalesceWindow). Guarded by the queue
	// mutex.
	marks uint8

	// The sequenced cursor: written by the writer under the shard's read
	// lock (only this client's writer moves it), by the reader before the
	// subscription is published or while held, and read at the end under the
	// write lock.
	next   uint64 // sequenced: next seq to write
	epoch  string // sequenced: epoch of the position next-1 ("" before any history)
	verify bool   // sequenced: check the position against the journal before serving it
	lost   int    // sequenced: history-lost markers in a row; writer only
	avg    int    // sequenced: mean encoded size of the events last read from the journal; writer only
	// aheadSince (sequenced, cluster): when the position was first found
	// ahead of this node's journal (sequenced.go, replicaBehind). Writer
	// goroutine only.
	aheadSince time.Time

	minInterval time.Duration // the client's requested maximum rate, as an interval
	lastWrite   time.Time
	// pull (conflated, minInterval > 0): the subscription is not offered
	// each version; the wheel's visits take the topic's latest for it
	// (queue.pull). pulledAt: the last such visit that took one, or the
	// subscription's start. Guarded by the queue mutex.
	pull     bool
	pulledAt time.Time
}
