package feedserver

import "sync"

// queue is a client's virtual queue. Conflatable data is held as at most one
// pending version per subscribed topic: offering a newer version replaces the
// pending one, so a slow client gets the current value, never a backlog.
// Sequenced frames (control replies, errors, pings) are kept in order, bounded
// by maxControl bytes.
//
// Producers never block on it: offer and push take the lock for a few
// instructions and signal the writer.
type queue struct {
	mu         sync.Mutex
	dirty      []*sub   // subscriptions with a pending version, in arrival order
	control    [][]byte // sequenced frames, in order
	ctlBytes   int
	maxControl int
	closing    bool // no more input; the writer flushes and closes
	overflow   bool // control queue overflowed: the client is a slow consumer

	conflated uint64 // pending versions replaced before they were written
	wake       chan struct{}
}

func newQueue(maxControl int) *queue {
	return &queue{wake: make(chan struct{}, 1), maxControl: maxControl}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// offer makes v the pending version of sb. Caller holds the shard lock of sb's topic.
func (q *queue) offer(sb *sub, v *version) {
	q.mu.Lock()
	if q.closing || sb.dead {
		q.mu.Unlock()
		return
	}
	if sb.pending == nil {
		q.dirty = append(q.dirty, sb)
	} else {
		q.conflated++
	}
	sb.pending = v
	q.mu.Unlock()
	q.signal()
}

// drop forgets sb's pending value: the client unsubscribed.
func (q *queue) drop(sb *sub) {
	q.mu.Lock()
	sb.dead = true
	sb.pending = nil
	q.mu.Unlock()
}

// push appends a sequenced frame. It reports false if the queue is closing or
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

// close marks the queue closing after frame (if not nil), which the writer
// sends last before closing the connection.
func (q *queue) close(frame []byte) {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		if frame != nil {
			q.control = append(q.control, frame)
		}
	}
	q.mu.Unlock()
	q.signal()
}

// depth returns the number of pending conflated entries and control bytes.
func (q *queue) depth() (pending, controlBytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.dirty), q.ctlBytes
}
