package feedserver

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/protocol"
	"tickwire/recovery"
)

const numShards = 64

// nonFinite returns the first field of q that is NaN or infinite.
func nonFinite(q *protocol.Quote) (protocol.Field, bool) {
	for f := protocol.Field(0); f < protocol.NumFields; f++ {
		if v, ok := q.Get(f); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return f, true
		}
	}
	return 0, false
}

// Hub holds every topic's latest value or retained events and its
// subscribers, sharded by topic name so publishes on different topics do not
// contend.
type Hub struct {
	seed       maphash.Seed
	rules      []TopicRule
	staleAfter time.Duration
	shards     [numShards]shard

	slots topicSlots // the topics holding a value or a history, against the limits (topic.go)
	// reclaimAfter: a conflated topic unused this long is forgotten (sweep); 0 never.
	reclaimAfter time.Duration

	journal     recovery.Journal // sequenced topics' events (sequenced.go)
	idem        idemPolicy       // how long keyed publishes are remembered (idempotency.go)
	ownJournal  bool             // journal is the default in-memory one
	snapshotter StateSnapshotter // may be nil
	follow      followState      // standby: sequenced topics follow the journal (follow.go)

	// born anchors clock: the server's time, read from the monotonic clock
	// so a step of the wall clock never changes an age.
	born time.Time

	behaviourStats behaviourStats // behaviour failures, for /metrics (behaviour.go)
	// onBehaviourFailure, if set, is told of each behaviour disabled for a
	// topic (the server logs it). Never called under a shard lock.
	onBehaviourFailure func(behaviourFailure)

	published atomic.Uint64 // versions and events published
	enqueued  atomic.Uint64 // offers to client queues
	dropped   atomic.Uint64 // source publishes dropped while paused
}

type shard struct {
	mu     sync.RWMutex // writers read retained events under RLock
	topics map[string]*topic
	enc    *protocol.Encoder // encodes this shard's frames, under mu
	buf    []byte
}

// NewHub returns an empty Hub. rules fix topic kinds (first match wins;
// unmatched topics are replaced quotes); staleAfter is the default expected
// interval of conflated topics (0: never stale). Its sequenced topics live in
// an in-memory journal of the newest 65,536 events or 8 MiB per topic:
// positions survive reconnects, not a restart. A Server's hub uses
// Config.Journal.
func NewHub(rules []TopicRule, staleAfter time.Duration) *Hub {
	h := &Hub{seed: maphash.MakeSeed(), rules: rules, staleAfter: staleAfter, journal: recovery.NewMemRetaining(memJournalKeep, memJournalKeepBytes), ownJournal: true,
		idem: idemPolicy{events: idemEvents, window: idemWindow}, born: time.Now()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topic)
		h.shards[i].enc = protocol.NewEncoder()
	}
	return h
}

// clock is the server's time, Unix ns: when values are stored
// (protocol.Price.Stored) and what Welcome and Pong tell clients
// (ServerTime), so a client reckons ages from this clock alone.
func (h *Hub) clock() int64 { return h.born.UnixNano() + int64(time.Since(h.born)) }

func (h *Hub) shard(name string) *shard {
	return &h.shards[maphash.String(h.seed, name)%numShards]
}

// topicLocked returns topic name, creating it. Caller holds s.mu.
func (h *Hub) topicLocked(s *shard, name string) *topic {
	tp := s.topics[name]
	if tp == nil {
		tp = &topic{name: name, rule: ruleFor(h.rules, name, h.staleAfter), subs: make(map[*Conn]*sub)}
		tp.behaviours = bindBehaviours(tp.rule)
		if tp.rule.Kind == Sequenced {
			h.loadSequencedLocked(tp)
			if tp.events.head > 0 {
				// A history already in the journal (from before a restart,
				// or appended behind the hub's back) exists whatever the
				// limits: it holds a slot, counted for nobody.
				h.holdLocked(tp)
			}
		}
		s.topics[name] = tp
	}
	return tp
}

// claimLocked gives tp a slot before its first value or event, counted for
// pub and refused over the limits (ErrTopicLimit); a topic refused that
// holds nothing else is forgotten. Caller holds s.mu.
func (h *Hub) claimLocked(s *shard, tp *topic, pub publisher) error {
	if tp.slot {
		return nil
	}
	key := pub.key()
	if err := h.slots.take(key); err != nil {
		if tp.empty() {
			h.removeLocked(s, tp)
		}
		return fmt.Errorf("new topic %q: %w", tp.name, err)
	}
	tp.slot, tp.owner = true, key
	return nil
}

// holdLocked gives tp a slot, counted for nobody and never refused: it has
// a history. Caller holds the shard lock.
func (h *Hub) holdLocked(tp *topic) {
	if !tp.slot {
		_ = h.slots.take("")
		tp.slot = true
	}
}

// removeLocked forgets tp and gives back its slot. Nobody subscribes to it:
// a later publish or subscribe makes a new topic. Caller holds s.mu.
func (h *Hub) removeLocked(s *shard, tp *topic) {
	delete(s.topics, tp.name)
	if tp.slot {
		h.slots.release(tp.owner)
	}
}

// Kind returns the kind topic name has or would have.
func (h *Hub) Kind(name string) TopicKind { return ruleFor(h.rules, name, 0).Kind }

// Publish merges the fields set in q into conflated topic name's value,
// stamps it with time t (Unix ns) and flags, and offers the new version to
// every subscriber. It encodes the update once for all of them and never
// blocks on a client. A value clears the topic's stale mark. It is for the
// server's own sources: no topic limit applies.
func (h *Hub) Publish(name string, q *protocol.Quote, t int64, flags protocol.Flags) error {
	return h.publish(publisher{}, name, q, t, flags)
}

// PublishMerged publishes to conflated topic name a value another node
// has already merged (the price cascade of a standby edge, package
// cascade): q is that node's whole merged value and replaces the topic's.
// Neither the rule's built-in Ops nor its behaviours run on it again (a
// VWAP of a VWAP, a volume summed twice), and flags are the other node's
// (its FlagBehaviourOff, its stale mark included). Clients get it as any
// value of the topic: on a merge topic without behaviours, as the input
// that merges the value they hold into q (a sum's difference), or as a
// snapshot where no input does. No topic limit applies.
func (h *Hub) PublishMerged(name string, q *protocol.Quote, t int64, flags protocol.Flags) error {
	return h.publishAs(publisher{}, name, q, t, flags, true)
}

// publish is Publish by pub, whose new topics count against the limits.
func (h *Hub) publish(pub publisher, name string, q *protocol.Quote, t int64, flags protocol.Flags) error {
	return h.publishAs(pub, name, q, t, flags, false)
}

// publishAs is publish, of an already merged value if replica
// (PublishMerged). Every value enters the hub here: one with a NaN or an
// infinity is refused (ErrNonFinite), as is one that would make a merge
// topic's sum infinite.
func (h *Hub) publishAs(pub publisher, name string, q *protocol.Quote, t int64, flags protocol.Flags, replica bool) error {
	if f, bad := nonFinite(q); bad {
		return fmt.Errorf("publish to %q: %s %v: %w", name, f, q.V[f], ErrNonFinite)
	}
	s := h.shard(name)
	s.mu.Lock()
	tp := h.topicLocked(s, name)
	if tp.rule.Kind == Sequenced {
		s.mu.Unlock()
		return fmt.Errorf("publish value to %s topic %q: %w", tp.rule.Kind, name, ErrWrongKind)
	}
	var in protocol.Quote // a replica's input, for clients merging under the topic's Ops
	var reset bool        // no input reaches the replica's value: clients get its snapshot
	if replica {
		in, reset = replicaInput(tp, q)
		if f, bad := nonFinite(&in); bad {
			s.mu.Unlock()
			return fmt.Errorf("publish to %q: %s's difference would be %v: %w", name, f, in.V[f], ErrNonFinite)
		}
	} else if tp.rule.Kind == ConflatedMerge {
		merged := tp.value
		tp.rule.Ops.Merge(&merged, q)
		if f, bad := nonFinite(&merged); bad {
			s.mu.Unlock()
			return fmt.Errorf("publish to %q: %s would be %v: %w", name, f, merged.V[f], ErrNonFinite)
		}
	}
	if tp.paused {
		s.mu.Unlock()
		h.dropped.Add(1)
		return ErrPaused
	}
	if err := h.claimLocked(s, tp, pub); err != nil {
		s.mu.Unlock()
		return err
	}
	tp.lastPub = time.Now()
	tp.stale = replica && flags&protocol.FlagStale != 0 // another node's stale mark is one here
	var fails []behaviourFailure
	var n int
	if replica {
		n = h.publishReplicaLocked(s, tp, q, &in, reset, t, h.clock(), flags)
	} else {
		n = h.publishLocked(s, tp, q, t, h.clock(), flags, &fails)
	}
	s.mu.Unlock()
	h.published.Add(1)
	h.enqueued.Add(uint64(n))
	if fails != nil {
		h.reportBehaviourFailures(fails)
	}
	return nil
}

// publishLocked makes a new version of tp from input q, stored at stored
// (server clock), and offers it. Caller holds s.mu. It returns the number of
// subscribers offered. A topic with behaviours runs them (behaveLocked),
// appending those that failed to *fails.
func (h *Hub) publishLocked(s *shard, tp *topic, q *protocol.Quote, t, stored int64, flags protocol.Flags, fails *[]behaviourFailure) int {
	prev := tp.value
	ops := tp.rule.Ops
	ops.Merge(&tp.value, q)
	if tp.behaviours != nil {
		// Merged here, by code clients do not have: they get the merged
		// value with replace semantics (ops 0, changed fields).
		flags |= behaveLocked(tp, &prev, q, fails)
		ops = 0
	}
	return h.offerLocked(s, tp, &prev, q, ops, false, t, stored, flags)
}

// replicaInput returns what a client of tp merges, under the version's
// ops, to go from the value tp holds to merged value q (PublishMerged): on
// a merge topic without behaviours a summed field's difference, the other
// fields as they are; on any other topic (replace semantics) q itself.
// reset reports that no input reaches q (a high below the one held, a
// field q lacks: the values of another active node): clients must get q's
// snapshot. Caller holds the shard lock.
func replicaInput(tp *topic, q *protocol.Quote) (in protocol.Quote, reset bool) {
	in = *q
	if tp.value.Set&^q.Set != 0 {
		return in, true // no update unsets a field
	}
	if tp.rule.Kind != ConflatedMerge || tp.behaviours != nil {
		return in, false
	}
	for m := q.Set & tp.value.Set; m != 0; m &= m - 1 {
		f := protocol.Field(bits.TrailingZeros16(uint16(m)))
		if tp.rule.Ops.Op(f) == protocol.OpSum {
			in.V[f] = q.V[f] - tp.value.V[f]
		}
	}
	merged := tp.value
	tp.rule.Ops.Merge(&merged, &in)
	return in, merged != *q
}

// publishReplicaLocked makes a new version of tp whose value is merged
// value q, with in its input for clients merging under the topic's Ops
// (replicaInput), and offers it; reset: no input reaches
// q, so every client gets its snapshot. No Ops or behaviour runs. Caller
// holds s.mu. It returns the number of subscribers offered.
func (h *Hub) publishReplicaLocked(s *shard, tp *topic, q, in *protocol.Quote, reset bool, t, stored int64, flags protocol.Flags) int {
	prev := tp.value
	tp.value = *q
	ops := tp.rule.Ops
	if tp.behaviours != nil {
		ops = 0 // travels merged, as the topic's own publishes do
	}
	return h.offerLocked(s, tp, &prev, in, ops, reset, t, stored, flags)
}

// offerLocked publishes tp.value, just changed from prev by input in, as
// a new version and offers it to the pushed subscribers; reset: in does
// not reach it, every client gets its snapshot. Caller holds s.mu.
func (h *Hub) offerLocked(s *shard, tp *topic, prev, in *protocol.Quote, ops protocol.Ops, reset bool, t, stored int64, flags protocol.Flags) int {
	var seq uint64 = 1
	if tp.cur != nil {
		seq = tp.cur.seq + 1
		if reset {
			// A seq skipped: no client holds the one before this version,
			// so none is sent its delta (writer.collect, queue.pull).
			seq++
		}
	}
	v := &version{topic: tp.name, seq: seq, time: t, stored: stored, flags: flags, ops: ops, value: tp.value, input: *in, reset: reset}
	p := protocol.Price{Type: protocol.TypeUpdate, Topic: tp.name, Seq: seq, Time: t, Stored: stored, Flags: flags}
	if tp.rule.Kind == ConflatedMerge && tp.behaviours == nil {
		p.Quote = *in // the client merges the input as the server did
	} else {
		p.Quote = tp.value.Only(tp.value.Changed(prev))
	}
	var err error
	if s.buf, err = s.enc.AppendPrice(s.buf[:0], &p); err != nil {
		panic(err) // constant, valid frame type
	}
	// One allocation per publish, shared by every subscriber.
	v.delta = append([]byte(nil), s.buf...)
	tp.cur = v
	tp.latest.Store(v)
	// Rate-limited subscribers are not offered it: they pull on their tick.
	for _, m := range tp.pushed {
		m.c.queue.offer(m.sb, v)
	}
	return len(tp.pushed)
}

// PublishEvent appends an event to sequenced topic name and offers it to every
// subscriber. It returns the event's position.
func (h *Hub) PublishEvent(name string, data []byte, t int64) (epoch string, seq uint64, err error) {
	return h.PublishEvents(name, EventIn{Data: data, Time: t})
}

// EventIn is an event to publish: its payload and time (Unix ns), and its
// optional idempotency key (protocol.ValidKey): an event whose key the
// topic remembers is not stored again (idempotency.go).
type EventIn struct {
	Data []byte
	Time int64
	Key  string
	tag  string // the journal Record.Key of a keyed event (keyTag)
}

// PublishEvents appends events to sequenced topic name, in order, and wakes
// every subscriber once for the whole batch. It returns the last event's
// position. The events are in the journal when it returns (durable under the
// journal's sync policy): acknowledge their source only then. Either all
// events are appended or none (after a journal storage failure: unknown, and
// the journal refuses every later append). A zero Time is stamped now. It is
// for the server's own sources: no topic limit applies.
func (h *Hub) PublishEvents(name string, evs ...EventIn) (epoch string, seq uint64, err error) {
	epoch, seq, _, err = h.publishEvents(publisher{}, name, evs...)
	return epoch, seq, err
}

// publishEvents is PublishEvents by pub, whose new topics count against the
// limits. replayed reports that the last event was a duplicate of a keyed
// event already stored, whose position it returns.
func (h *Hub) publishEvents(pub publisher, name string, evs ...EventIn) (epoch string, seq uint64, replayed bool, err error) {
	keyed := false
	for _, e := range evs {
		if len(e.Data) > protocol.MaxEventData {
			return "", 0, false, fmt.Errorf("event of %d bytes for %q: max %d", len(e.Data), name, protocol.MaxEventData)
		}
		if e.Key != "" {
			if err := protocol.ValidKey(e.Key); err != nil {
				return "", 0, false, err
			}
			keyed = true
		}
	}
	if k := h.Kind(name); k != Sequenced {
		return "", 0, false, fmt.Errorf("publish event to %s topic %q: %w", k, name, ErrWrongKind)
	}
	if h.follow.on.Load() {
		return "", 0, false, fmt.Errorf("publish event to %q: %w", name, ErrStandby)
	}
	if len(evs) == 0 {
		return "", 0, false, nil
	}
	var now int64
	for i := range evs {
		if evs[i].Time == 0 {
			if now == 0 {
				now = time.Now().UnixNano()
			}
			evs[i].Time = now
		}
	}
	s := h.shard(name)
	// Claim the topic's slot before the append: a refused topic never
	// reaches the journal, and a new one, made now, caches its first events
	// (made after, it would take them as history: its head). A failed
	// append keeps the slot: the journal refuses every append after a
	// failure, and client topic names are valid stream names.
	s.mu.Lock()
	tp := h.topicLocked(s, name)
	err = h.claimLocked(s, tp, pub)
	idem := tp.idem
	if keyed && idem == nil && err == nil {
		idem = &idemIndex{}
		tp.idem = idem
	}
	s.mu.Unlock()
	if err != nil {
		return "", 0, false, err
	}
	// Keyed events: the duplicates are answered from the index, the rest
	// reserved there until the append settles them.
	fresh := evs
	var claim *idemClaim
	if keyed {
		if claim, err = idem.reserve(context.Background(), h.journal, name, evs, h.idem); err != nil {
			return "", 0, false, err
		}
		fresh = make([]EventIn, 0, len(evs))
		for i := range evs {
			if claim.dup[i].Seq == 0 && claim.sameAs[i] < 0 {
				fresh = append(fresh, evs[i])
			}
		}
	}
	var pos recovery.Position
	if len(fresh) > 0 {
		recs := make([]recovery.Record, len(fresh))
		for i := range fresh {
			recs[i] = recovery.Record{Time: fresh[i].Time, Data: fresh[i].Data, Key: fresh[i].tag}
		}
		if pos, err = h.journal.Append(context.Background(), name, recs...); err != nil {
			if claim != nil {
				idem.release(claim)
			}
			return "", 0, false, fmt.Errorf("journal %q: %w", name, err)
		}
	}
	if claim != nil {
		// Every event's position: appended ones in order, duplicates the
		// original's.
		all := make([]recovery.Position, len(evs))
		next := pos.Seq - uint64(len(fresh)) + 1
		for i := range evs {
			switch {
			case claim.dup[i].Seq != 0:
				all[i] = claim.dup[i]
			case claim.sameAs[i] >= 0:
				all[i] = all[claim.sameAs[i]]
			default:
				all[i] = recovery.Position{Seq: next, Epoch: pos.Epoch}
				next++
			}
		}
		idem.settleAppended(claim, evs, all)
		last := len(evs) - 1
		pos, replayed = all[last], claim.dup[last].Seq != 0 || claim.sameAs[last] >= 0
	}
	if len(fresh) == 0 {
		return pos.Epoch, pos.Seq, replayed, nil
	}
	s.mu.Lock()
	tp = h.topicLocked(s, name)
	moved := h.insertLocked(s, tp, pos.Seq-uint64(len(fresh))+1, pos.Epoch, fresh)
	members := tp.members
	s.mu.Unlock()
	// Marking is idempotent and order-free, so it happens outside the shard
	// lock: writers reading events (RLock) do not wait for the whole fan-out.
	// A topic of a few subscribers has their events written on this
	// goroutine where their writers are idle (queue.markNow): a write or
	// two more for the publisher, a goroutine's wake-up fewer each. A larger
	// fan-out wakes the writers, which write in parallel.
	if moved {
		turns := len(members) <= maxPublishTurns
		for _, m := range members {
			if turns {
				m.c.queue.markNow(m.sb)
			} else {
				m.c.queue.mark(m.sb)
			}
		}
	}
	h.published.Add(uint64(len(fresh)))
	h.enqueued.Add(uint64(len(members) * len(fresh)))
	return pos.Epoch, pos.Seq, replayed, nil
}

// readEvents appends to dst the cached frames of sb's sequenced topic from
// seq sb.next on, at most max bytes (at least one frame), and advances
// sb.next. It reports whether more remain, and whether sb must be served from
// the journal instead (readJournal): its position is not checked yet, or is
// older than the cache, or past a gap in it, or of another epoch. Writer
// goroutine only.
func (h *Hub) readEvents(sb *sub, dst [][]byte, max int) (out [][]byte, more, fromJournal bool) {
	tp := sb.topic
	s := h.shard(tp.name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := &tp.events
	if sb.verify || sb.next < r.lo || (sb.next > r.head && len(r.early) > 0) || (sb.epoch != r.epoch && sb.epoch != "") {
		return dst, false, true
	}
	if sb.next <= r.head {
		sb.epoch = r.epoch
	}
	size := 0
	for sb.next <= r.head && (size == 0 || size < max) {
		ev := r.buf[sb.next%uint64(len(r.buf))]
		dst = append(dst, ev.frame)
		size += len(ev.frame)
		sb.next++
	}
	return dst, sb.next <= r.head, false
}

// subStart says where a new subscription starts.
type subStart struct {
	minInterval time.Duration
	// pos (sequenced): deliver the events after it, once checked against the
	// journal. The zero position: from the start of the history.
	pos recovery.Position
	// held (sequenced): deliver nothing until release (resumed session).
	held bool
	// gapAfter (conflated): the last seq written on the resumed session's
	// previous connection; if not 0, the first snapshot is flagged FlagGap.
	gapAfter uint64
}

// subscribe adds c to topic name and offers it the current value (conflated)
// or the events after st.pos (sequenced). It returns the subscription slot;
// an existing subscription is returned unchanged.
func (h *Hub) subscribe(c *Conn, name string, st subStart) *sub {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Subscribing ahead of the first value is allowed: the snapshot comes
	// when the topic is first published.
	tp := h.topicLocked(s, name)
	if sb := tp.subs[c]; sb != nil {
		return sb
	}
	sb := &sub{topic: tp, seqd: tp.rule.Kind == Sequenced, minInterval: st.minInterval}
	sb.pull = !sb.seqd && sb.minInterval > 0
	if sb.seqd {
		sb.next, sb.epoch, sb.verify, sb.held = st.pos.Seq+1, st.pos.Epoch, true, st.held
	} else {
		sb.gapAfter = st.gapAfter
	}
	tp.subs[c] = sb
	tp.members = append(tp.members[:len(tp.members):len(tp.members)], member{c, sb}) // copy on write
	if !sb.pull {
		c.queue.others.Add(1)
		if !sb.seqd {
			tp.pushed = append(tp.pushed, member{c, sb})
		}
	}
	switch {
	case sb.seqd:
		c.queue.mark(sb) // the position is checked first, even on an empty topic
	case tp.cur != nil:
		c.queue.offer(sb, tp.cur) // the first value is pushed, pulled or not
	}
	if sb.pull {
		c.queue.enrol(sb)
	}
	return sb
}

// unsubscribe removes c from topic name. It returns where the subscription
// was: for a sequenced topic the last event written (or the position it was
// asked to start from, if none was), for a conflated one the seq of the last
// value written.
func (h *Hub) unsubscribe(c *Conn, name string) (pos recovery.Position, sent uint64) {
	s := h.shard(name)
	s.mu.Lock()
	if tp := s.topics[name]; tp != nil {
		if sb := tp.subs[c]; sb != nil {
			if sb.seqd {
				pos = recovery.Position{Seq: sb.next - 1, Epoch: sb.epoch}
			} else {
				c.queue.mu.Lock()
				sent = max(sb.sent, sb.gapAfter)
				c.queue.mu.Unlock()
			}
			delete(tp.subs, c)
			c.queue.drop(sb)
			// Copy on write: publishers may be iterating the old slice.
			i := slices.IndexFunc(tp.members, func(m member) bool { return m.sb == sb })
			tp.members = slices.Delete(slices.Clone(tp.members), i, i+1)
			if i := slices.IndexFunc(tp.pushed, func(m member) bool { return m.sb == sb }); i >= 0 {
				tp.pushed = slices.Delete(tp.pushed, i, i+1)
			}
			if tp.empty() {
				// Only subscribers made it: forget it, so subscribing to
				// ever new names cannot grow the hub (docs/limits.md).
				h.removeLocked(s, tp)
			}
		}
	}
	s.mu.Unlock()
	return pos, sent
}

// reseat moves held subscription sb to start after pos. Reader goroutine,
// while sb is held (its writer does not touch it).
func (h *Hub) reseat(sb *sub, pos recovery.Position) {
	s := h.shard(sb.topic.name)
	s.mu.Lock()
	sb.next, sb.epoch, sb.verify = pos.Seq+1, pos.Epoch, true
	s.mu.Unlock()
}

// SetPaused pauses or resumes ingest of topic name: while paused, publishes
// from sources are dropped, so the topic goes quiet and, past its expected
// interval, stale. Operators and the demo use it to show staleness.
func (h *Hub) SetPaused(name string, paused bool) {
	s := h.shard(name)
	s.mu.Lock()
	h.topicLocked(s, name).paused = paused
	s.mu.Unlock()
}

// Run marks conflated topics stale when their source has been silent beyond
// their expected interval, and forgets unused ones (sweep), until ctx is
// done. Subscribers receive the stale mark as a new version with FlagStale
// and the same value; the next value clears it.
func (h *Hub) Run(ctx context.Context) {
	every := 100 * time.Millisecond
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.sweep(now)
		}
	}
}

// sweep marks silent conflated topics stale and forgets the topics it may
// (reclaimable).
func (h *Hub) sweep(now time.Time) {
	var empty protocol.Quote
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			if h.reclaimable(tp, now) {
				h.removeLocked(s, tp)
				continue
			}
			after := tp.rule.StaleAfter
			if after <= 0 || tp.cur == nil || tp.stale || now.Sub(tp.lastPub) <= after {
				continue
			}
			tp.stale = true
			// The same value, marked: its time and age go on.
			n := h.publishLocked(s, tp, &empty, tp.cur.time, tp.cur.stored, tp.cur.flags|protocol.FlagStale, nil)
			h.enqueued.Add(uint64(n))
		}
		s.mu.Unlock()
	}
}

// reclaimable reports whether tp may be forgotten: it holds nothing (say,
// an operator paused and resumed a name that never had a value), or it is a
// conflated topic nobody published to for reclaimAfter, with no subscriber
// and no operator's pause. A topic forgotten is as one never published: a
// later subscriber gets nothing until the next value, whose seq starts
// again at 1 (a resumed session's first snapshot is flagged FlagGap, as
// ever). Caller holds the shard lock, under which every subscribe and
// publish finds its topic, so nobody holds a subscription to tp.
func (h *Hub) reclaimable(tp *topic, now time.Time) bool {
	return tp.empty() || (h.reclaimAfter > 0 && tp.rule.Kind != Sequenced && tp.cur != nil &&
		len(tp.subs) == 0 && !tp.paused && now.Sub(tp.lastPub) > h.reclaimAfter)
}

// TopicInfo describes a topic for listings.
type TopicInfo struct {
	Name        string
	Kind        string
	Seq         uint64
	Epoch       string `json:",omitempty"` // sequenced topics: the history's epoch
	Time        int64
	Stale       bool
	Paused      bool
	Subscribers int
}

// Topics lists every topic that has a value or an event, sorted by name.
func (h *Hub) Topics() []TopicInfo {
	var out []TopicInfo
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			info := TopicInfo{Name: tp.name, Kind: tp.rule.Kind.String(), Stale: tp.stale, Paused: tp.paused, Subscribers: len(tp.subs)}
			switch {
			case tp.cur != nil:
				info.Seq, info.Time = tp.cur.seq, tp.cur.time
			case tp.events.head > 0:
				info.Seq, info.Epoch = tp.events.head, tp.events.epoch
			default:
				continue
			}
			out = append(out, info)
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Latest returns conflated topic name's latest value as a Latest frame,
// and false if the topic has none.
func (h *Hub) Latest(name string) (protocol.Price, bool) {
	p, _, _, ok := h.LatestAge(name)
	return p, ok
}

// LatestAge is Snapshot with how current the value is, by the server's
// own clock: age is the time since the topic's source last published (what
// the stale sweep measures; a stale mark is not a publish) and staleAfter
// the topic's threshold, past which the sweep marks it stale (0: never). A
// price guard compares them without trusting the source's timestamps.
func (h *Hub) LatestAge(name string) (p protocol.Price, age, staleAfter time.Duration, ok bool) {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := s.topics[name]
	if tp == nil || tp.cur == nil {
		return protocol.Price{}, 0, 0, false
	}
	v := tp.cur
	p = protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Stored: v.stored, Flags: v.flags, Ops: v.ops, Quote: v.value}
	return p, time.Since(tp.lastPub), tp.rule.StaleAfter, true
}

// HubStats are the hub's counters.
type HubStats struct {
	Topics    int
	Published uint64 // versions and events published
	Enqueued  uint64 // offers to client queues
	Dropped   uint64 // source publishes dropped while paused
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	n := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		n += len(s.topics)
		s.mu.Unlock()
	}
	return HubStats{Topics: n, Published: h.published.Load(), Enqueued: h.enqueued.Load(), Dropped: h.dropped.Load()}
}
