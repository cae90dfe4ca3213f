package feedserver

import (
	"sync/atomic"

	"tickwire/protocol"
)

// topic is one conflatable topic: its latest value and its subscribers.
// Every field is guarded by the owning shard's mutex.
type topic struct {
	name  string
	value protocol.Quote // latest full value
	cur   *version       // latest published version; nil before the first value
	subs  map[*Client]*sub
}

// version is one published value of a topic. It is immutable once published,
// except for the lazily encoded snapshot frame, so any number of client queues
// and writers can share it.
type version struct {
	topic string
	seq   uint64
	time  int64
	flags protocol.Flags
	value protocol.Quote // the full value at this version
	delta []byte         // Update frame: fields changed since seq-1
	full  atomic.Pointer[[]byte]
}

// snapshot returns the Snapshot frame of v, encoding it on first use. Racing
// callers may both encode; one result wins and both are identical.
func (v *version) snapshot(enc *protocol.Encoder) []byte {
	if p := v.full.Load(); p != nil {
		return *p
	}
	p := protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Flags: v.flags, Quote: v.value}
	b, err := enc.AppendPrice(nil, &p)
	if err != nil {
		// Only an invalid frame type fails, and ours is constant.
		panic(err)
	}
	v.full.CompareAndSwap(nil, &b)
	return *v.full.Load()
}

// sub is one client's subscription to one topic: the slot of the client's
// virtual queue for that topic. pending and sent are guarded by the client's
// queue mutex.
type sub struct {
	topic   *topic
	pending *version // at most one pending value per topic: this is the conflation
	sent    uint64   // seq of the last version written to the client
	dead    bool     // unsubscribed: the writer drops its pending value
}
