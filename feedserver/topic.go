package feedserver

import (
	"fmt"
	"path"
	"sync/atomic"
	"time"

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
	// fills, alerts). A client that falls behind the retained window is
	// disconnected with a reason, never silently skipped.
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
	// StaleAfter is the source's expected interval bound: a conflated topic
	// silent for longer is published as stale until its next value. 0 never.
	StaleAfter time.Duration
	// Window is how many events of a Sequenced topic stay in memory for
	// clients catching up. Default 4096.
	Window int
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
	subs    map[*Client]*sub
	members []member // the same subscribers as a slice, replaced (never mutated) on change
}

// member is one subscriber of a topic.
type member struct {
	c  *Client
	sb *sub
}

// version is one published value of a conflated topic. It is immutable once
// published, except for the lazily encoded snapshot frame, so any number of
// client queues and writers can share it.
type version struct {
	topic string
	seq   uint64
	time  int64
	flags protocol.Flags
	ops   protocol.Ops
	value protocol.Quote // the full value at this version
	input protocol.Quote // what the source published (merge topics fold these)
	delta []byte         // Update frame from seq-1 to seq
	full  atomic.Pointer[[]byte]
}

// snapshot returns the Snapshot frame of v, encoding it on first use. Racing
// callers may both encode; one result wins and both are identical.
func (v *version) snapshot(enc *protocol.Encoder) []byte {
	if p := v.full.Load(); p != nil {
		return *p
	}
	p := protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Flags: v.flags, Ops: v.ops, Quote: v.value}
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

// ring retains the last len(buf) events of a sequenced topic.
type ring struct {
	buf  []event
	head uint64 // seq of the newest event; 0 before the first
}

func (r *ring) add(ev event) {
	r.buf[ev.seq%uint64(len(r.buf))] = ev
	r.head = ev.seq
}

// oldest returns the seq of the oldest retained event (head+1 when empty).
func (r *ring) oldest() uint64 {
	n := uint64(len(r.buf))
	if r.head < n {
		return 1
	}
	return r.head - n + 1
}

// sub is one client's subscription to one topic: the slot of the client's
// virtual queue for that topic. All fields but topic and seq are guarded by the
// client's queue mutex; next is the writer's alone.
type sub struct {
	topic   *topic
	seqd    bool     // sequenced topic: next says where the client is
	pending *version // conflated: at most one pending value per topic
	merged  bool     // conflated-merge: fold holds the inputs since sent
	fold    protocol.Quote
	queued  bool   // in the queue's dirty list
	sent    uint64 // conflated: seq of the last version written to the client
	next    uint64 // sequenced: next seq to write
	dead    bool   // unsubscribed: the writer drops its pending value

	minInterval time.Duration // the client's requested maximum rate, as an interval
	lastWrite   time.Time
}
