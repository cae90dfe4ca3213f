package feedserver

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/protocol"
)

// queue is a client's virtual queue. Conflatable data is held as at most one
// pending version per subscribed topic: offering a newer version replaces the
// pending one (or, on a merge topic, folds into it), so a slow client gets the
// current value, never a backlog. Sequenced topics are not copied here at
// all: the subscription is marked dirty and the writer reads the topic's
// retained events from the client's cursor. Control frames (replies, errors,
// pings) are kept in order, bounded by maxControl bytes.
//
// Producers never block on it: offer, mark and push take the lock for a few
// instructions and signal the writer.
type queue struct {
	mu         sync.Mutex
	dirty      []*sub   // subscriptions with something to write, in arrival order
	control    [][]byte // control frames, in order
	ctlBytes   int
	maxControl int
	closing    bool    // no more input; the writer flushes and closes
	final      []byte  // the frame written last before closing (the reason), if any
	overflow   bool    // control queue overflowed: the client is a slow consumer
	hasPong    bool    // the peer's latest WebSocket ping awaits its pong
	ping       *[]byte // its payload; allocated on the first ping (most peers never send one)

	conflated uint64 // pending versions replaced or merged before they were written
	wake      chan struct{}
	running   atomic.Bool // a writer is running: its goroutine, or a turn (turn.go)
	// signalled: work came by a signal that repeats (a pushed value, a
	// large fan-out's events) since the writer last looked: it lingers for
	// more (writer.afterCollect). Turns' work does not set it.
	signalled atomic.Bool
	spawn     func()  // starts the writer goroutine's loop
	writer    *writer // for its turns on the wheel's goroutine (turn.go)

	// Rate-limited conflated subscriptions pull on the wheel's tick
	// (wheel.go) instead of being offered every version.
	pulled []*sub // guarded by mu
	// npulled is len(pulled); others counts the other subscriptions. A
	// writer with only pulled work exits once written (writer.loop).
	npulled, others atomic.Int32
	wheel           *wheel
	onWheel         bool   // the queue is on the wheel; guarded by wheel.mu
	wheelAt         int64  // its tick; guarded by wheel.mu
	wnext, wprev    *queue // its slot's list; guarded by wheel.mu
}

func newQueue(maxControl int) *queue {
	return &queue{wake: make(chan struct{}, 1), maxControl: maxControl}
}

// signal wakes the writer, starting its goroutine if none is running.
func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if q.running.CompareAndSwap(false, true) {
		go q.spawn()
	}
}

// enlist puts sb on the dirty list once. Caller holds q.mu.
func (q *queue) enlist(sb *sub) {
	if !sb.queued {
		sb.queued = true
		q.dirty = append(q.dirty, sb)
	}
}

// offer makes v the pending version of conflated subscription sb. On a merge
// topic whose client already holds a value, the inputs of the skipped versions
// are folded so the client can merge them as the server did. Caller holds the
// shard lock of sb's topic.
func (q *queue) offer(sb *sub, v *version) {
	q.mu.Lock()
	if q.closing || sb.dead {
		q.mu.Unlock()
		return
	}
	if sb.pending != nil {
		q.conflated++
		// A topic with behaviours is merged by the hub alone: its versions
		// replace each other (behaviour.go).
		switch {
		case v.reset || (!sb.merged && sb.pending.seq != sb.sent+1):
			// No input leads across a reset (Hub.PublishMerged): the
			// writer sends the snapshot, as the seq skipped there makes
			// it, until a value after it is written.
			sb.merged = false
		case sb.topic.rule.Kind == ConflatedMerge && sb.topic.behaviours == nil && sb.sent != 0:
			if !sb.merged {
				if sb.fold == nil {
					sb.fold = new(protocol.Quote) // merge topics only
				}
				*sb.fold, sb.merged = sb.pending.input, true
			}
			v.ops.Merge(sb.fold, &v.input)
		}
	}
	sb.pending = v
	if sb.deferred {
		// Already listed, and not due: the writer's timer comes back for
		// it. Waking the writer per publish would cost a wake-up per
		// client per publish for nothing (a dashboard asking for 4/s of a
		// topic published 100 times a second).
		q.mu.Unlock()
		return
	}
	q.enlist(sb)
	q.mu.Unlock()
	if !sb.pull { // a pulled subscription is offered only its first value
		q.signalled.Store(true)
	}
	q.signal()
}

// enrol puts pulled subscription sb in the queue's pulled set and the queue
// on the wheel, due an interval from now: its first value, if the topic has
// one, was offered on subscribing like any other.
func (q *queue) enrol(sb *sub) {
	now := time.Now()
	q.mu.Lock()
	if q.closing || sb.dead {
		q.mu.Unlock()
		return
	}
	sb.pulledAt = now
	q.pulled = append(q.pulled, sb)
	q.npulled.Add(1)
	q.mu.Unlock()
	q.wheel.add(q, now.Add(sb.minInterval))
}

// pull is the wheel's visit: each pulled subscription whose interval has
// passed since its last pull and whose topic has a version newer than the
// client's takes it as its pending value (the writer sends its delta, or
// the topic's shared snapshot if the client skipped versions: merge topics
// too, whose snapshot is the merged value, so nothing is folded per
// client); the wheel then has them written (queue.deliver). It returns when
// the queue is due again (zero: it has no pulled subscription left, or is
// closing) and how many versions it took. It allocates nothing.
func (q *queue) pull(now time.Time) (next time.Time, n int) {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return next, 0
	}
	for _, sb := range q.pulled {
		again := now.Add(sb.minInterval)
		if due := sb.pulledAt.Add(sb.minInterval); now.Before(due) {
			again = due
		} else if v := sb.topic.latest.Load(); v != nil && v != sb.pending && v.seq != sb.sent {
			// A newer version: latest only moves forward, and sent and
			// pending only ever held earlier ones of this topic.
			sb.pending, sb.pulledAt = v, now
			q.enlist(sb) // a value deferred by the budget is listed already: it is just newer now
			n++
		}
		// Else nothing new: look again in an interval, so a change waits
		// at most an interval (and a tick) for its visit.
		if next.IsZero() || again.Before(next) {
			next = again
		}
	}
	q.mu.Unlock()
	return next, n
}

// mark tells the writer sequenced subscription sb has events to read: a
// publish reached it.
func (q *queue) mark(sb *sub) {
	q.signalled.Store(true)
	q.markSeq(sb, true)
}

// again puts sequenced subscription sb back on the writer's list: it has
// more events than the writer's last batch took.
func (q *queue) again(sb *sub) { q.markSeq(sb, false) }

func (q *queue) markSeq(sb *sub, published bool) {
	q.enlistSeq(sb, published)
	q.signal()
}

// enlistSeq puts sequenced subscription sb on the writer's list, counting
// a publish that reached it.
func (q *queue) enlistSeq(sb *sub, published bool) {
	q.mu.Lock()
	if published {
		sb.marks = min(sb.marks+1, 2)
	}
	if !q.closing && !sb.dead && !sb.held {
		q.enlist(sb)
	}
	q.mu.Unlock()
}

// release lets the writer serve held subscription sb (session resume).
func (q *queue) release(sb *sub) {
	q.mu.Lock()
	sb.held = false
	if !q.closing && !sb.dead {
		q.enlist(sb)
	}
	q.mu.Unlock()
	q.signal()
}

// drop forgets sb's pending value: the client unsubscribed.
func (q *queue) drop(sb *sub) {
	q.mu.Lock()
	sb.dead = true
	sb.pending = nil
	sb.merged = false
	if sb.pull {
		if i := slices.Index(q.pulled, sb); i >= 0 {
			q.pulled = slices.Delete(q.pulled, i, i+1)
			q.npulled.Add(-1)
		}
	} else {
		q.others.Add(-1)
	}
	q.mu.Unlock()
}

// push appends a control frame. It reports false if the queue is closing or
// the frame would pass the control bound (the caller then disconnects).
func (q *queue) push(frame []byte) bool {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return false
	}
	if q.ctlBytes+len(frame) > q.maxControl {
		q.overflow = true
		q.mu.Unlock()
		q.signal()
		return false
	}
	q.control = append(q.control, frame)
	q.ctlBytes += len(frame)
	q.mu.Unlock()
	q.signal()
	return true
}

// pong asks the writer to answer the peer's WebSocket ping. Only the latest
// ping needs an answer (RFC 6455 §5.5.3); its payload is at most 125 bytes.
func (q *queue) pong(data string) {
	q.mu.Lock()
	if q.ping == nil {
		q.ping = new([]byte)
	}
	*q.ping = append((*q.ping)[:0], data...)
	q.hasPong = true
	q.mu.Unlock()
	q.signal()
}

// close marks the queue closing. The writer sends what is queued, then frame
// (if not nil: the reason), then closes the connection, so a client sees the
// last values before the reason.
func (q *queue) close(frame []byte) {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		q.final = frame
	}
	q.mu.Unlock()
	q.signal()
}

// queueStats is a snapshot of the queue's depth.
type queueStats struct {
	pending      int // conflated entries waiting (at most one per topic)
	controlBytes int
	conflated    uint64
}

func (q *queue) stats() queueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return queueStats{pending: len(q.dirty), controlBytes: q.ctlBytes, conflated: q.conflated}
}

// gapSnapshotFrame encodes v's snapshot flagged FlagGap, for one client.
// Caller holds q.mu.
func gapSnapshotFrame(enc *protocol.Encoder, dst []byte, v *version) []byte {
	p := protocol.Price{Type: protocol.TypeSnapshot, Topic: v.topic, Seq: v.seq, Time: v.time, Stored: v.stored, Flags: v.flags | protocol.FlagGap, Ops: v.ops, Quote: v.value}
	out, err := enc.AppendPrice(dst, &p)
	if err != nil {
		panic(err) // constant, valid frame type
	}
	return out
}

// mergedFrame encodes the folded inputs of a merge subscription as an Update
// at v's sequence. Caller holds q.mu.
func mergedFrame(enc *protocol.Encoder, dst []byte, sb *sub, v *version) []byte {
	p := protocol.Price{Type: protocol.TypeUpdate, Topic: v.topic, Seq: v.seq, Time: v.time, Stored: v.stored, Flags: v.flags, Quote: *sb.fold}
	out, err := enc.AppendPrice(dst, &p)
	if err != nil {
		panic(err) // constant, valid frame type
	}
	return out
}
