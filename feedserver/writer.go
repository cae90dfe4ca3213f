package feedserver

import (
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// writer owns the connection's write side. Each wake-up it takes everything
// queued, releases the lock, and writes it as few WebSocket messages as the
// size cap allows: many frames per message, one syscall per buffer-full.
type writer struct {
	c      *Client
	enc    *protocol.Encoder // for lazily encoded snapshots
	frames [][]byte          // this batch, reused
	spare  []*sub            // the other half of the dirty double buffer
	ctl    [][]byte          // the other half of the control double buffer
	ping   []byte
}

func (w *writer) run() {
	c := w.c
	defer c.shutdown()
	tick := time.NewTicker(c.srv.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-c.queue.wake:
		case <-tick.C:
			// Pings are sequenced control frames and never touch a topic's age.
			w.ping, _ = w.enc.Append(w.ping[:0], &protocol.Ping{Nonce: time.Now().UnixNano()})
			c.queue.push(append([]byte(nil), w.ping...))
		case <-c.done:
			return
		}
		closing, overflow := w.collect()
		if overflow {
			c.closeWith(protocol.CodeSlowConsumer, "too much sequenced data queued")
			continue
		}
		if err := w.write(); err != nil {
			c.log.Debug("write failed", "err", err)
			return
		}
		if closing {
			_ = c.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
}

// collect moves the queued frames into w.frames under the queue lock. The
// dirty and control slices are double-buffered so nothing is allocated.
func (w *writer) collect() (closing, overflow bool) {
	q := w.c.queue
	w.frames = w.frames[:0]
	q.mu.Lock()
	if q.overflow {
		// Reported once; the close that follows queues the final Error frame.
		q.overflow = false
		q.mu.Unlock()
		return false, true
	}
	ctl := q.control
	q.control, w.ctl = w.ctl[:0], ctl
	q.ctlBytes = 0
	dirty := q.dirty
	q.dirty, w.spare = w.spare[:0], dirty
	w.frames = append(w.frames, ctl...)
	for _, sb := range dirty {
		v := sb.pending
		sb.pending = nil
		if v == nil || sb.dead {
			continue
		}
		if sb.sent != 0 && sb.sent+1 == v.seq {
			w.frames = append(w.frames, v.delta)
		} else {
			// The client missed versions (conflated) or has none yet: the
			// delta would not rebuild the value, so send the full one.
			w.frames = append(w.frames, v.snapshot(w.enc))
		}
		sb.sent = v.seq
	}
	closing = q.closing
	q.mu.Unlock()
	clear(w.ctl)
	clear(w.spare)
	return closing, false
}

func (w *writer) write() error {
	if len(w.frames) == 0 {
		return nil
	}
	c := w.c
	max := c.srv.cfg.MaxOutboundMessage
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout)); err != nil {
		return err
	}
	for i := 0; i < len(w.frames); {
		mw, err := c.conn.NextWriter(websocket.BinaryMessage)
		if err != nil {
			return err
		}
		size := 0
		for ; i < len(w.frames) && (size == 0 || size+len(w.frames[i]) <= max); i++ {
			if _, err := mw.Write(w.frames[i]); err != nil {
				return err
			}
			size += len(w.frames[i])
		}
		if err := mw.Close(); err != nil {
			return err
		}
	}
	c.sentFrames.Add(uint64(len(w.frames)))
	clear(w.frames)
	return nil
}
