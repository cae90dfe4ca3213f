package feedserver

import (
	"sync"
	"sync/atomic"
	"time"
)

// wheel is the server's timer wheel for rate-limited subscribers: the ones
// that pull on their tick instead of being pushed every version. A client
// with such subscriptions has one entry on the wheel, due when its next
// subscription is; one goroutine, woken at most once per wheelTick, visits
// every queue due (queue.pull: a few loads and compares under the queue's
// lock) and has what they took written (queue.deliver: itself, without
// waiting, where it can; turn.go). So a topic
// published 100 times a second to 10,000 dashboards asking for 4 updates a
// second costs 40,000 pulls a second, not a million offers, and no client
// holds a runtime timer for its rate limit.
//
// Queues are bucketed by tick into wheelSlots slots; one due later than a
// lap waits in its slot for the lap it is due in.
// The goroutine sleeps until the next non-empty slot and exits when the
// wheel is empty; add starts it again.
type wheel struct {
	mu       sync.Mutex
	start    time.Time          // tick 0; set by the first add
	slots    [wheelSlots]*queue // each a list through queue.wnext/wprev
	cur      int64              // the last tick visited
	n        int                // queues on the wheel
	running  bool               // the goroutine is running
	sleeping int64              // the tick the goroutine sleeps until (it is kicked for an earlier one)
	kick     chan struct{}

	// The goroutine's own: its timer and the queues due this visit.
	timer *time.Timer
	due   []*queue

	pulled    atomic.Uint64 // versions pulled (ServerStats.Pulled)
	handedOff atomic.Uint64 // turns whose write the socket did not take at once (turn.go)
}

// maxWheels bounds the wheels (one per core) a server runs.
const maxWheels = 64

// pulled is the versions every wheel pulled.
func (s *Server) pulled() (n uint64) {
	for i := range s.wheels {
		n += s.wheels[i].pulled.Load()
	}
	return n
}

// handedOff is the turns whose writes went to a writer goroutine.
func (s *Server) handedOff() (n uint64) {
	for i := range s.wheels {
		n += s.wheels[i].handedOff.Load()
	}
	return n
}

// wheelTick is the wheel's granularity: a pulled value waits at most this
// much past its client's interval for its visit.
const wheelTick = 4 * time.Millisecond

// wheelSlots: 512 slots of 4 ms, a lap of about 2 s.
const wheelSlots = 512

// tickAt is the first tick at or after t.
func (w *wheel) tickAt(t time.Time) int64 {
	d := t.Sub(w.start)
	return int64((d + wheelTick - 1) / wheelTick)
}

// add puts q on the wheel, due at (or at its current entry if that is
// earlier). The slots are lists threaded through the queues themselves, so
// nothing is allocated.
func (w *wheel) add(q *queue, at time.Time) {
	w.mu.Lock()
	if w.start.IsZero() {
		w.start = time.Now()
		w.kick = make(chan struct{}, 1)
	}
	t := max(w.tickAt(at), w.cur+1)
	if q.onWheel {
		if q.wheelAt <= t {
			w.mu.Unlock()
			return
		}
		w.unlink(q) // moved earlier
	}
	q.onWheel, q.wheelAt = true, t
	head := &w.slots[t%wheelSlots]
	q.wprev, q.wnext = nil, *head
	if *head != nil {
		(*head).wprev = q
	}
	*head = q
	w.n++
	switch {
	case !w.running:
		w.running = true
		w.sleeping = t
		go w.run()
	case t < w.sleeping:
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}

// unlink takes q off its slot's list. Caller holds w.mu.
func (w *wheel) unlink(q *queue) {
	if q.wprev != nil {
		q.wprev.wnext = q.wnext
	} else {
		w.slots[q.wheelAt%wheelSlots] = q.wnext
	}
	if q.wnext != nil {
		q.wnext.wprev = q.wprev
	}
	q.wprev, q.wnext, q.onWheel = nil, nil, false
	w.n--
}

// run is the wheel's goroutine.
func (w *wheel) run() {
	for {
		w.mu.Lock()
		if w.n == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		next := w.nextTick()
		w.sleeping = next
		w.mu.Unlock()
		if d := time.Until(w.start.Add(time.Duration(next) * wheelTick)); d > 0 {
			if w.timer == nil {
				w.timer = time.NewTimer(d)
			} else {
				w.timer.Reset(d)
			}
			select {
			case <-w.timer.C:
			case <-w.kick:
				w.timer.Stop()
				continue
			}
		}
		w.visit(time.Now())
	}
}

// nextTick is the first tick after cur whose slot holds a queue (a lap
// ahead at most: one further out waits there). Caller holds w.mu.
func (w *wheel) nextTick() int64 {
	for t := w.cur + 1; t <= w.cur+wheelSlots; t++ {
		if w.slots[t%wheelSlots] != nil {
			return t
		}
	}
	return w.cur + wheelSlots
}

// visit takes the queues due by now off the wheel, pulls for them and puts
// back those with pulled subscriptions left.
func (w *wheel) visit(now time.Time) {
	w.mu.Lock()
	end := int64(now.Sub(w.start) / wheelTick)
	from := w.cur + 1
	if end-from >= wheelSlots { // late by more than a lap: every slot once
		from = end - wheelSlots + 1
	}
	for t := from; t <= end; t++ {
		for q := w.slots[t%wheelSlots]; q != nil; {
			next := q.wnext
			if q.wheelAt <= end { // else due a later lap
				w.unlink(q)
				w.due = append(w.due, q)
			}
			q = next
		}
	}
	w.cur = max(w.cur, end)
	w.sleeping = 1<<63 - 1 // no kick while visiting: run looks again after
	w.mu.Unlock()
	var pulled int
	for _, q := range w.due {
		next, n := q.pull(now)
		pulled += n
		if n > 0 {
			q.deliver(now)
		}
		if !next.IsZero() {
			w.add(q, next)
		}
	}
	clear(w.due)
	w.due = w.due[:0]
	if pulled > 0 {
		w.pulled.Add(uint64(pulled))
	}
}
