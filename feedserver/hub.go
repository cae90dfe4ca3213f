package feedserver

import (
	"hash/maphash"
	"sort"
	"sync"
	"sync/atomic"

	"tickwire/protocol"
)

const numShards = 64

// Hub holds every topic's latest value and its subscribers, sharded by topic
// name so publishes on different topics do not contend.
type Hub struct {
	seed   maphash.Seed
	shards [numShards]shard

	published atomic.Uint64 // versions published
	enqueued  atomic.Uint64 // versions offered to client queues
}

type shard struct {
	mu     sync.Mutex
	topics map[string]*topic
	enc    *protocol.Encoder // encodes this shard's deltas, under mu
	buf    []byte
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topic)
		h.shards[i].enc = protocol.NewEncoder()
	}
	return h
}

func (h *Hub) shard(name string) *shard {
	return &h.shards[maphash.String(h.seed, name)%numShards]
}

// Publish merges the fields set in q into topic name's value, stamps it with
// time t (Unix ns) and flags, and offers the new version to every subscriber.
// It encodes the update once for all of them and never blocks on a client.
func (h *Hub) Publish(name string, q *protocol.Quote, t int64, flags protocol.Flags) {
	s := h.shard(name)
	s.mu.Lock()
	tp := s.topics[name]
	if tp == nil {
		tp = &topic{name: name, subs: make(map[*Client]*sub)}
		s.topics[name] = tp
	}
	prev := tp.value
	tp.value.Apply(q)
	var seq uint64 = 1
	if tp.cur != nil {
		seq = tp.cur.seq + 1
	}
	v := &version{topic: tp.name, seq: seq, time: t, flags: flags, value: tp.value}
	p := protocol.Price{Type: protocol.TypeUpdate, Topic: tp.name, Seq: seq, Time: t, Flags: flags,
		Quote: tp.value.Only(tp.value.Changed(&prev))}
	var err error
	if s.buf, err = s.enc.AppendPrice(s.buf[:0], &p); err != nil {
		panic(err) // constant, valid frame type
	}
	// One allocation per publish, shared by every subscriber.
	v.delta = append([]byte(nil), s.buf...)
	tp.cur = v
	for c, sb := range tp.subs {
		c.queue.offer(sb, v)
	}
	n := len(tp.subs)
	s.mu.Unlock()
	h.published.Add(1)
	h.enqueued.Add(uint64(n))
}

// subscribe adds c to topic name and offers it the current value as its
// snapshot. It returns the subscription slot.
func (h *Hub) subscribe(c *Client, name string) *sub {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := s.topics[name]
	if tp == nil {
		// Subscribing ahead of the first value is allowed: the snapshot comes
		// when the topic is first published.
		tp = &topic{name: name, subs: make(map[*Client]*sub)}
		s.topics[name] = tp
	}
	if sb := tp.subs[c]; sb != nil {
		return sb
	}
	sb := &sub{topic: tp}
	tp.subs[c] = sb
	if tp.cur != nil {
		c.queue.offer(sb, tp.cur)
	}
	return sb
}

// unsubscribe removes c from topic name.
func (h *Hub) unsubscribe(c *Client, name string) {
	s := h.shard(name)
	s.mu.Lock()
	tp := s.topics[name]
	if tp != nil {
		if sb := tp.subs[c]; sb != nil {
			delete(tp.subs, c)
			c.queue.drop(sb)
		}
	}
	s.mu.Unlock()
}

// TopicInfo describes a topic for listings.
type TopicInfo struct {
	Name        string
	Seq         uint64
	Time        int64
	Subscribers int
}

// Topics lists every topic that has a value, sorted by name.
func (h *Hub) Topics() []TopicInfo {
	var out []TopicInfo
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			if tp.cur != nil {
				out = append(out, TopicInfo{Name: tp.name, Seq: tp.cur.seq, Time: tp.cur.time, Subscribers: len(tp.subs)})
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Snapshot returns topic name's latest value as a Snapshot frame, and false if
// the topic has none.
func (h *Hub) Snapshot(name string) (protocol.Price, bool) {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := s.topics[name]
	if tp == nil || tp.cur == nil {
		return protocol.Price{}, false
	}
	v := tp.cur
	return protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Flags: v.flags, Quote: v.value}, true
}
