package feedserver

import (
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// writer owns the connection's write side. Each wake-up it takes everything
// queued, releases the lock, and writes it as few WebSocket messages as the
// size cap allows: many frames per message, one syscall per buffer-full.
// Conflated values not yet due under the client's bandwidth budget stay
// pending, still conflating, and a timer wakes the writer when they are. Rate
// limits are the wheel's (wheel.go): a rate-limited value is only pulled
// into the queue when it is due.
type writer struct {
	c      *Conn
	enc    *protocol.Encoder // from the server's pool during collect: snapshots and merged updates
	frames [][]byte          // this batch, reused
	arena  []byte            // per-client encoded frames of this batch
	spans  []span            // frames that live in arena, resolved after it stops growing
	spare  []*sub            // the other half of the dirty double buffer
	ctl    [][]byte          // the other half of the control double buffer
	seqd   []*sub            // sequenced subscriptions to read this batch
	sock   *socketWriter     // framing and writev (wsframe.go): from the server's pool while running

	idle      *time.Timer // linger before exiting; created on first use
	idleArmed bool        // idle is running
	pause     *time.Timer // FlushInterval; created on first use
	due       *time.Timer // AfterFunc signalling the queue when deferred values fall due; created on first use

	deadline time.Time // the socket's write deadline as last set (write)

	// A turn on the wheel's goroutine (turn.go).
	held *held           // what the turn left to the goroutine it started (rare: allocated then)
	raw  syscall.RawConn // the socket for non-blocking writes; nil if none (set by newConn)

	// Adaptive coalescing (Config.CoalesceWindow).
	behind   bool // two publishes reached a subscription of this batch before it, and it takes all that is queued
	windowed bool // this batch came out of a coalescing window

	// Bandwidth budget: a token bucket in bytes.
	tokens float64
	refill time.Time
}

// span locates frames[i] in the arena.
type span struct{ i, start, end int }

// maxEventBatch bounds the sequenced bytes read per subscription per wake-up
// so one busy topic cannot starve the others.
const maxEventBatch = 64 << 10

// defaultWriteBatch is Config.MaxWriteBatch's default: four messages of the
// default MaxOutboundMessage, so a catching-up client still gets large
// writes, while one whose write stalls holds at most about twice it (the
// arena's growth) plus one event.
const defaultWriteBatch = 256 << 10

// MaxCoalesceWindow bounds Config.CoalesceWindow: the message style's
// latency budget (p99 50 ms), which a window must never pass on its own.
const MaxCoalesceWindow = 50 * time.Millisecond

// idleArena is the arena capacity a writer keeps when it goes idle; a
// larger one came from a burst (a catch-up) and is let go.
const idleArena = 4 << 10

// writerLinger is how long an idle writer goroutine waits for more work
// before exiting. Idle connections then hold no goroutine for their write
// side: the next signal starts a new one.
const writerLinger = 25 * time.Millisecond

// run is the writer goroutine. queue.signal starts it when none is running;
// it exits after writerLinger without work, when the connection closes, or on
// a write error (which shuts the client down).
func (w *writer) run() {
	w.sock = w.c.srv.sockets.Get().(*socketWriter)
	if w.loop() {
		w.releaseSock()
	}
}

// loop is run's body. It reports whether it still holds the socket writer:
// on the idle exit it gives it back before letting a new writer start, and
// must not touch w after that.
func (w *writer) loop() (holding bool) {
	c := w.c
	q := c.queue
	if w.refill.IsZero() {
		w.refill = time.Now()
	}
	for {
		// The linger timer is armed only when there is nothing to do yet:
		// a writer started for work already queued (a pulled value) or
		// finding more at once (a busy client) moves no timer for it.
		select {
		case <-q.wake:
		case <-c.done:
			return true
		default:
			w.armIdle()
			select {
			case <-q.wake:
				w.disarmIdle()
			case <-c.done:
				return true
			case <-w.idle.C:
				w.idleArmed = false
				if w.rest() {
					return false
				}
				continue
			}
		}
		closing, overflow, next := w.collect(time.Now())
		if stop, holding := w.afterCollect(closing, overflow, next, false); stop {
			return holding
		}
	}
}

// afterCollect is the rest of a writer's turn once collect has run: it
// reads the sequenced events, writes the batch (unless written already),
// closes the connection if closing, and sets the timer for deferred values.
// It reports whether the goroutine is to stop, and if so whether it still
// holds the socket writer (as loop).
func (w *writer) afterCollect(closing, overflow bool, next time.Time, written bool) (stop, holding bool) {
	c := w.c
	q := c.queue
	if overflow {
		c.closeWith(protocol.CodeSlowConsumer, "too many control frames queued")
		return false, false
	}
	if !written {
		if !closing {
			if err := w.readSequenced(false); err != nil {
				c.closeWith(protocol.CodeSlowConsumer, err.Error())
				return false, false
			}
		}
		if err := w.write(); err != nil {
			c.logger().Debug("write failed", "err", err)
			c.shutdown()
			return true, true
		}
	}
	if closing {
		status := int(c.closeStatus.Load())
		if status == 0 {
			status = websocket.CloseNormalClosure
		}
		if w.writeClose(status, "") == nil {
			w.awaitPeerClose()
		}
		c.drained.Store(true)
		c.shutdown()
		return true, true
	}
	w.armDue(next)
	if next.IsZero() && len(q.wake) == 0 && !q.signalled.Swap(false) {
		// Nothing came by a signal that repeats: the next values come on
		// the wheel's tick or in a publisher's turn (turn.go), and a
		// lingering goroutine would only take them over at the cost of a
		// timer and a wake-up per delivery.
		if w.rest() {
			return true, false
		}
	}
	if cw := c.srv.cfg.CoalesceWindow; cw > 0 && w.behind && !w.windowed {
		// Behind: let the next events gather for one write (see
		// Config.CoalesceWindow). Not twice in a row, so a writer whose
		// window filled its batch is judged again on a batch gathered
		// without one.
		w.windowed = true
		if w.pause == nil {
			w.pause = time.NewTimer(cw)
		} else {
			w.pause.Reset(cw)
		}
		select {
		case <-w.pause.C:
		case <-c.done:
			return true, true
		}
		return false, false
	}
	w.windowed = false
	if fi := c.srv.cfg.FlushInterval; fi > 0 {
		// Let frames gather: fewer, larger writes for many clients,
		// at the cost of up to FlushInterval of latency.
		if w.pause == nil {
			w.pause = time.NewTimer(fi)
		} else {
			w.pause.Reset(fi)
		}
		select {
		case <-w.pause.C:
		case <-c.done:
			return true, true
		}
	}
	return false, false
}

// armDue makes deferred values (the bandwidth budget's) fall due at next,
// whether or not this goroutine is still around; a zero next does nothing.
func (w *writer) armDue(next time.Time) {
	if next.IsZero() {
		return
	}
	wait := max(time.Until(next), time.Millisecond)
	if w.due == nil {
		w.due = time.AfterFunc(wait, w.c.queue.signal)
	} else {
		w.due.Reset(wait)
	}
}

// armIdle starts the linger timer.
func (w *writer) armIdle() {
	if w.idle == nil {
		w.idle = time.NewTimer(writerLinger)
	} else {
		w.idle.Reset(writerLinger)
	}
	w.idleArmed = true
}

// disarmIdle stops the linger timer; after Stop no stale expiry is
// received (Go 1.23 timers).
func (w *writer) disarmIdle() {
	if w.idleArmed {
		w.idle.Stop()
		w.idleArmed = false
	}
}

// rest lets go of the writer's resources and of running before the
// goroutine exits. It reports false if a signal came meanwhile and no new
// writer took over: the goroutine carries on, holding the socket writer
// again.
func (w *writer) rest() (exit bool) {
	q := w.c.queue
	// Before letting go of running: a new writer may start at once.
	w.trim()
	w.releaseSock()
	q.running.Store(false)
	// A signal may have come after we last looked: if so, and no new
	// writer took over, carry on.
	if len(q.wake) == 0 || !q.running.CompareAndSwap(false, true) {
		return true
	}
	w.sock = w.c.srv.sockets.Get().(*socketWriter)
	return false
}

// collect moves the queued frames into w.frames under the queue lock. It
// returns when the earliest deferred value falls due (zero if none). The dirty
// and control slices are double-buffered so nothing is allocated.
func (w *writer) collect(now time.Time) (closing, overflow bool, next time.Time) {
	c := w.c
	q := c.queue
	w.frames, w.arena, w.spans, w.seqd = w.frames[:0], w.arena[:0], w.spans[:0], w.seqd[:0]
	w.behind = false
	budget := c.maxBps.Load()
	if budget > 0 {
		burst := float64(budget)/10 + 4096
		w.tokens = min(burst, w.tokens+now.Sub(w.refill).Seconds()*float64(budget))
	}
	w.refill = now

	w.enc = c.srv.encoders.Get().(*protocol.Encoder)
	defer func() {
		c.srv.encoders.Put(w.enc)
		w.enc = nil
	}()
	q.mu.Lock()
	if q.overflow {
		// Reported once; the close that follows queues the final Error frame.
		q.overflow = false
		q.mu.Unlock()
		return false, true, next
	}
	if q.hasPong {
		w.sock.pong, w.sock.ponged = append(w.sock.pong[:0], *q.ping...), true
		q.hasPong = false
	}
	ctl := q.control
	q.control, w.ctl = w.ctl[:0], ctl
	q.ctlBytes = 0
	dirty := q.dirty
	q.dirty, w.spare = w.spare[:0], dirty
	for _, f := range ctl {
		w.frames = append(w.frames, f)
		w.tokens -= float64(len(f))
	}
	defer_ := func(sb *sub, at time.Time) {
		q.enlist(sb) // still pending, still conflating
		sb.deferred = true
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for _, sb := range dirty {
		sb.queued, sb.deferred = false, false
		if sb.dead {
			continue
		}
		if sb.seqd {
			w.seqd = append(w.seqd, sb)
			w.behind = w.behind || sb.marks > 1
			sb.marks = 0
			continue
		}
		v := sb.pending
		if v == nil {
			continue
		}
		// A rate-limited (pulled) subscription's value is due: the wheel
		// pulled it on the client's tick (queue.pull).
		var frame []byte
		arena := false
		switch {
		case sb.sent != 0 && sb.merged:
			start := len(w.arena)
			w.arena = mergedFrame(w.enc, w.arena, sb, v)
			frame, arena = w.arena[start:], true
		case sb.sent != 0 && sb.sent+1 == v.seq:
			frame = v.delta
		case sb.gapAfter != 0:
			// First value after a session resumed: values may have been
			// skipped while the client was away (some written before the
			// link broke may never have arrived), so it is flagged as a gap;
			// a client holding this very seq knows nothing was.
			start := len(w.arena)
			w.arena = gapSnapshotFrame(w.enc, w.arena, v)
			frame, arena = w.arena[start:], true
		default:
			// The client has no value yet, or skipped versions of a replace
			// topic: a delta would not rebuild the value, so send the full one.
			frame = v.snapshot(w.enc)
		}
		if budget > 0 && w.tokens < float64(len(frame)) {
			if arena {
				w.arena = w.arena[:len(w.arena)-len(frame)]
			}
			defer_(sb, now.Add(time.Duration((float64(len(frame))-w.tokens)/float64(budget)*float64(time.Second))))
			continue
		}
		w.tokens -= float64(len(frame))
		if arena {
			w.spans = append(w.spans, span{i: len(w.frames), start: len(w.arena) - len(frame), end: len(w.arena)})
		}
		w.frames = append(w.frames, frame)
		sb.pending, sb.merged, sb.sent, sb.lastWrite, sb.gapAfter = nil, false, v.seq, now, 0
	}
	closing = q.closing
	if closing && q.final != nil {
		w.frames = append(w.frames, q.final)
		q.final = nil
	}
	q.mu.Unlock()
	clear(w.ctl)
	clear(w.spare)
	return closing, false, next
}

// readSequenced appends the events due to each sequenced subscription: from
// the topic's in-memory cache, or from the journal (sequenced.go) for a
// subscription behind the cache or whose position is not checked yet.
// Sequenced data is never deferred by the bandwidth budget: it is never dropped.
// The batch takes at most Config.MaxWriteBatch bytes (always at least one
// event, so a client makes progress), each subscription at most
// maxEventBatch of them; what is left waits for the next wake-up, the
// subscriptions not served this time first. With cachedOnly (a turn, which
// must not wait) a subscription to serve from the journal is left for the
// next wake-up.
func (w *writer) readSequenced(cachedOnly bool) error {
	defer clear(w.seqd)
	left := w.c.srv.cfg.MaxWriteBatch
	for _, f := range w.frames {
		left -= len(f)
	}
	more := w.seqd[:0] // served, with more to come: compacted in place
	full := false
	for i, sb := range w.seqd {
		if left <= 0 && i > 0 {
			for _, sb := range w.seqd[i:] {
				w.c.queue.again(sb)
			}
			full = true
			break
		}
		limit := max(1, min(maxEventBatch, left))
		n := len(w.frames)
		var again, fromJournal bool
		w.frames, again, fromJournal = w.c.srv.hub.readEvents(sb, w.frames, limit)
		if fromJournal && cachedOnly {
			more = append(more, sb)
			continue
		}
		if fromJournal {
			var err error
			if again, err = w.readJournal(sb, limit); err != nil {
				return err
			}
		}
		for _, f := range w.frames[n:] {
			w.tokens -= float64(len(f))
			left -= len(f)
		}
		if again {
			more = append(more, sb)
		}
	}
	// A writer with more queued than one batch writes at once.
	w.behind = w.behind && !full && len(more) == 0
	for _, sb := range more {
		w.c.queue.again(sb)
	}
	return nil
}

func (w *writer) write() error {
	if len(w.frames) == 0 && !w.sock.ponged {
		return nil
	}
	w.resolveSpans()
	c := w.c
	now := time.Now()
	deadline := now.Add(c.srv.cfg.WriteTimeout)
	var bytes int
	var err error
	if ws, ok := c.conn.(*websocket.Conn); ok {
		nc := writeSide(ws.NetConn())
		if err := w.renewDeadline(nc, now); err != nil {
			return err
		}
		bytes, err = w.sock.write(nc, w.frames, c.srv.cfg.MaxOutboundMessage, &c.srv.outbufs)
	} else {
		bytes, err = w.writeMessages(deadline)
	}
	if err != nil {
		return err
	}
	w.written(bytes)
	return nil
}

// resolveSpans points the arena's frames at their final bytes: the arena
// has stopped growing, and the arrays it grew out of are then garbage while
// the write is in flight (a stalled one would hold them until WriteTimeout).
func (w *writer) resolveSpans() {
	for _, s := range w.spans {
		w.frames[s.i] = w.arena[s.start:s.end]
	}
}

// renewDeadline sets the socket's write deadline, only once half of it
// has passed: setting it moves a runtime timer, a cost per write that a
// dashboard's few writes a second would pay every time. A write still
// starts with at least half of WriteTimeout and at most all of it.
func (w *writer) renewDeadline(nc net.Conn, now time.Time) error {
	wt := w.c.srv.cfg.WriteTimeout
	if w.deadline.Sub(now) >= wt/2 {
		return nil
	}
	deadline := now.Add(wt)
	if err := nc.SetWriteDeadline(deadline); err != nil {
		return err
	}
	w.deadline = deadline
	return nil
}

// written counts the batch just written and lets go of its frames.
func (w *writer) written(bytes int) {
	if len(w.frames) == 0 {
		return
	}
	c := w.c
	c.sentFrames.Add(uint64(len(w.frames)))
	c.sentBytes.Add(uint64(bytes))
	c.srv.sentFrames.Add(uint64(len(w.frames)))
	c.srv.sentBytes.Add(uint64(bytes))
	clear(w.frames)
}

// writeMessages writes the batch through the transport's message writer:
// transports other than a WebSocket (HTTP streaming).
func (w *writer) writeMessages(deadline time.Time) (int, error) {
	c := w.c
	max := c.srv.cfg.MaxOutboundMessage
	if err := c.conn.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	var bytes int
	for i := 0; i < len(w.frames); {
		mw, err := c.conn.NextWriter(websocket.BinaryMessage)
		if err != nil {
			return bytes, err
		}
		size := 0
		for ; i < len(w.frames) && (size == 0 || size+len(w.frames[i]) <= max); i++ {
			if _, err := mw.Write(w.frames[i]); err != nil {
				return bytes, err
			}
			size += len(w.frames[i])
		}
		if err := mw.Close(); err != nil {
			return bytes, err
		}
		bytes += size
	}
	if f, ok := c.conn.(flusher); ok { // HTTP streaming: one chunk per batch
		if err := f.Flush(); err != nil {
			return bytes, err
		}
	}
	return bytes, nil
}

// trim lets go of a burst's buffers when the writer goes idle: a client
// that caught up, or got a burst of control frames, then went quiet holds
// little memory. The queue's halves of the double buffers go too.
func (w *writer) trim() {
	if cap(w.arena) > idleArena {
		w.arena = nil
	}
	shrink(&w.frames)
	shrink(&w.spans)
	shrink(&w.spare)
	shrink(&w.ctl)
	shrink(&w.seqd)
	q := w.c.queue
	q.mu.Lock()
	if len(q.dirty) == 0 {
		shrink(&q.dirty)
	}
	if len(q.control) == 0 {
		shrink(&q.control)
	}
	q.mu.Unlock()
}

// shrink drops *s's array if it is larger than an idle writer keeps. *s
// holds nothing: its elements were cleared after use.
func shrink[T any](s *[]T) {
	if cap(*s) > 64 {
		*s = nil
	}
}

// releaseSock returns the socket writer to the server's pool: an idle
// client holds none.
func (w *writer) releaseSock() {
	if w.sock == nil {
		return
	}
	w.sock.trim()
	w.c.srv.sockets.Put(w.sock)
	w.sock = nil
}

// writeClose sends the WebSocket close frame after the final batch.
func (w *writer) writeClose(code int, reason string) error {
	c := w.c
	ws, ok := c.conn.(*websocket.Conn)
	if !ok {
		return c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.srv.cfg.CloseTimeout))
	}
	nc := writeSide(ws.NetConn())
	w.deadline = time.Time{}
	if err := nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.CloseTimeout)); err != nil {
		return err
	}
	_, err := nc.Write(closeFrame(code, reason))
	return err
}

// awaitPeerClose waits, after the server's Close, until the reader has read
// the peer's (at once if the server's was the answer to it) or the end of
// the input, for at most Config.CloseTimeout: closing the connection earlier would
// reset it under input not yet read, and the peer could lose the final
// frames. An HTTP stream has no input to wait for.
func (w *writer) awaitPeerClose() {
	c := w.c
	if _, ok := c.conn.(*websocket.Conn); !ok {
		return
	}
	t := time.NewTimer(c.srv.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-c.done:
	case <-t.C:
	}
}
