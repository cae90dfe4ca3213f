package feedserver

import (
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// A dashboard's writes come on the wheel's tick, a few a second, each a
// small batch its socket takes at once. Starting a writer goroutine for
// each one cost more than the batch: the goroutine, its stack grown and
// copied on the way down to writev, its exit (a fifth of the server's CPU
// at 10,000 such clients). So the wheel's goroutine writes such a batch
// itself, without waiting: turn. Whatever would make it wait, a socket
// whose buffer is full, a close, events to read from the journal, goes to
// a writer goroutine as before, which carries on from where the turn
// stopped.
//
// A publisher of sequenced events to a topic of a few subscribers takes
// their turns too (queue.markNow): the event is written before the
// publisher reads its next input, without waking a goroutine for it.

// maxPublishTurns is the most subscribers a publish writes to itself.
const maxPublishTurns = 4

// held is what a turn hands to the writer goroutine it starts (resume).
type held struct {
	kind    heldKind
	closing bool
	over    bool      // the control queue overflowed
	next    time.Time // deferred values fall due
	bytes   int       // payload bytes of a partly written batch
}

type heldKind uint8

const (
	heldNone      heldKind = iota // a signal came as the turn ended: loop
	heldCollected                 // collected, not written: afterCollect
	heldPartial                   // partly written: writeRest, then afterCollect
)

// deliver wakes q's writer after the wheel pulled values for it: a turn on
// the wheel's goroutine when q has only pulled subscriptions and no writer
// is running, else the writer goroutine as for any other work.
func (q *queue) deliver(now time.Time) {
	if q.writer.raw != nil && q.others.Load() == 0 && q.running.CompareAndSwap(false, true) {
		q.writer.turn(now)
		return
	}
	q.signal()
}

// markNow is mark for a publisher that may take a turn: if q's writer is
// idle and its socket takes writes without waiting, the caller's
// goroutine writes the events itself.
func (q *queue) markNow(sb *sub) {
	if !q.turnable() {
		q.mark(sb)
		return
	}
	q.enlistSeq(sb, true)
	if !q.running.CompareAndSwap(false, true) {
		q.signal() // its writer is running: wake it
		return
	}
	q.writer.c.srv.turns.Add(1)
	q.writer.turn(time.Now())
}

// turnable reports whether a publisher may write q's events itself: a
// WebSocket over plain TCP, with no flush interval or coalescing window
// to gather its events in (those are waits the writer goroutine keeps).
func (q *queue) turnable() bool {
	cfg := &q.writer.c.srv.cfg
	return q.writer.raw != nil && cfg.FlushInterval == 0 && cfg.CoalesceWindow == 0
}

// turn writes what is queued on the caller's goroutine (the wheel's, or a
// publisher's) without waiting. The caller has set q.running.
func (w *writer) turn(now time.Time) {
	c := w.c
	w.sock = c.srv.sockets.Get().(*socketWriter)
	if w.refill.IsZero() {
		w.refill = now
	}
	closing, overflow, next := w.collect(now)
	if closing || overflow {
		w.start(held{kind: heldCollected, closing: closing, over: overflow, next: next})
		return
	}
	if len(w.seqd) > 0 {
		// Only what the topics' caches hold: a subscription to serve from
		// the journal, which may wait on the disk, is put back on the
		// list, for the writer goroutine the turn's end starts.
		_ = w.readSequenced(true) // errors come from journal reads only
	}
	if len(w.frames) > 0 || w.sock.ponged {
		w.resolveSpans()
		// The write does not wait, but an expired deadline would refuse
		// it: kept as any write keeps it (renewed once per half timeout).
		err := w.renewDeadline(writeSide(w.c.conn.(*websocket.Conn).NetConn()), now)
		bytes, more := 0, false
		if err == nil {
			bytes, more, err = w.sock.tryWrite(w.raw, w.frames, c.srv.cfg.MaxOutboundMessage)
		}
		if err != nil {
			c.logger().Debug("write failed", "err", err)
			c.shutdown()
			w.releaseSock()
			return // running stays set, as after a writer goroutine's write error
		}
		if more {
			c.queue.wheel.handedOff.Add(1)
			w.start(held{kind: heldPartial, next: next, bytes: bytes})
			return
		}
		w.written(bytes)
	}
	w.armDue(next)
	if !w.rest() {
		w.start(held{kind: heldNone}) // a signal came meanwhile
	}
}

// start hands the writer to a goroutine with h to carry on from.
func (w *writer) start(h held) {
	w.held = &h
	go w.resume() // rare (a full socket, a close): its closure's allocation is not per delivery
}

// resume is the writer goroutine a turn started: it finishes what the turn
// left, then runs as any writer goroutine.
func (w *writer) resume() {
	h := held{}
	if w.held != nil {
		h, w.held = *w.held, nil
	}
	if w.sock == nil {
		w.sock = w.c.srv.sockets.Get().(*socketWriter)
	}
	if h.kind != heldNone {
		written := false
		if h.kind == heldPartial {
			if err := w.finishWrite(h.bytes); err != nil {
				w.c.logger().Debug("write failed", "err", err)
				w.c.shutdown()
				w.releaseSock()
				return
			}
			written = true
		}
		if stop, holding := w.afterCollect(h.closing, h.over, h.next, written); stop {
			if holding {
				w.releaseSock()
			}
			return
		}
	}
	if w.loop() {
		w.releaseSock()
	}
}

// finishWrite writes the rest of a batch tryWrite began, waiting for the
// socket under the write deadline as any write.
func (w *writer) finishWrite(bytes int) error {
	nc := writeSide(w.c.conn.(*websocket.Conn).NetConn())
	if err := w.renewDeadline(nc, time.Now()); err != nil {
		w.sock.dropBatch()
		return err
	}
	if err := w.sock.writeRest(nc); err != nil {
		return err
	}
	w.written(bytes)
	return nil
}

// lookUpRaw finds the socket for non-blocking writes: a WebSocket over
// plain TCP; none for any other transport (TLS, HTTP streaming), whose
// clients' writes all go to writer goroutines.
func (w *writer) lookUpRaw() {
	if ws, ok := w.c.conn.(*websocket.Conn); ok {
		if tc, ok := writeSide(ws.NetConn()).(*net.TCPConn); ok {
			if rc, err := tc.SyscallConn(); err == nil {
				w.raw = rc
			}
		}
	}
}
