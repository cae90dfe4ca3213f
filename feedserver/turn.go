package feedserver

import (
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// A dashboard's writes come on the wheel's tick, a few a second, each a
// small batch its socket takes at once. Starting a writer goroutine for
// each one cost more than the batch: the goroutine, its stack grown and
// copied on the way down to writev, its exit (a fifth of the server's CPU
// at 10,000 such clients). So the wheel's goroutine writes such a batch
// itself, without waiting: turn. Whatever would make it wait, a socket
// whose buffer is full, a close, sequenced events to read, goes to a
// writer goroutine as before, which carries on from where the turn stopped.

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
	if q.turn != nil && q.others.Load() == 0 && q.running.CompareAndSwap(false, true) {
		q.turn(now)
		return
	}
	q.signal()
}

// turn writes the pulled values on the caller's goroutine (the wheel's)
// without waiting. The caller has set q.running.
func (w *writer) turn(now time.Time) {
	c := w.c
	rc := w.rawConn()
	if rc == nil { // TLS, HTTP streaming: no non-blocking write here
		w.start(held{kind: heldNone}, true)
		return
	}
	w.sock = c.srv.sockets.Get().(*socketWriter)
	if w.refill.IsZero() {
		w.refill = now
	}
	closing, overflow, next := w.collect(now)
	if closing || overflow || len(w.seqd) > 0 {
		w.start(held{kind: heldCollected, closing: closing, over: overflow, next: next}, false)
		return
	}
	if len(w.frames) > 0 || w.sock.ponged {
		w.resolveSpans()
		// The write does not wait, but an expired deadline would refuse
		// it: kept as any write keeps it (renewed once per half timeout).
		err := w.renewDeadline(w.netConn, now)
		bytes, more := 0, false
		if err == nil {
			bytes, more, err = w.sock.tryWrite(rc, w.frames, c.srv.cfg.MaxOutboundMessage)
		}
		if err != nil {
			c.logger().Debug("write failed", "err", err)
			c.shutdown()
			w.releaseSock()
			return // running stays set, as after a writer goroutine's write error
		}
		if more {
			c.queue.wheel.handedOff.Add(1)
			w.start(held{kind: heldPartial, next: next, bytes: bytes}, false)
			return
		}
		w.written(bytes)
	}
	w.armDue(next)
	if !w.rest() {
		w.start(held{kind: heldNone}, false) // a signal came meanwhile
	}
}

// start hands the writer to a goroutine with h to carry on from. signal
// also wakes it (it has no collected work of its own).
func (w *writer) start(h held, signal bool) {
	w.held = h
	if signal {
		select {
		case w.c.queue.wake <- struct{}{}:
		default:
		}
	}
	go w.resumeFn()
}

// resume is the writer goroutine a turn started: it finishes what the turn
// left, then runs as any writer goroutine.
func (w *writer) resume() {
	h := w.held
	w.held = held{}
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
	nc := w.c.conn.(*websocket.Conn).NetConn()
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

// rawConn is the socket for non-blocking writes: a WebSocket over plain
// TCP; nil for any other transport. Looked up once, with w.netConn.
func (w *writer) rawConn() syscall.RawConn {
	if !w.rawLooked {
		w.rawLooked = true
		if ws, ok := w.c.conn.(*websocket.Conn); ok {
			if tc, ok := ws.NetConn().(*net.TCPConn); ok {
				w.raw, _ = tc.SyscallConn()
				w.netConn = tc
			}
		}
	}
	return w.raw
}
