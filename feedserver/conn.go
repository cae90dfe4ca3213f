package feedserver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"tickwire/auth"
	"tickwire/protocol"
	"tickwire/sessions"
)

// Conn is the server's side of one client connection (WebSocket, or HTTP
// streaming): not the Go client of package client. Its reader goroutine
// handles inbound frames; its writer goroutine (writer.go) owns the socket's
// write side.
type Conn struct {
	srv   *Server
	conn  transport // WebSocket, or HTTP streaming (httpstream.go)
	id    string
	addr  string
	queue *queue

	subs    map[string]*sub // reader goroutine only
	nsubs   atomic.Int32
	closing atomic.Bool // closeWith was called: the writer closes after the final frame (beside nsubs: no padding)
	bad     int         // malformed frames so far; reader goroutine only

	principal atomic.Pointer[auth.Principal]   // who the client is: set by the Hello (auth.go)
	expiry    atomic.Pointer[time.Timer]       // ends the session when the principal's credential expires
	sess      *sessions.Session                // set by the Hello (session.go); reader goroutine only
	sessStats atomic.Pointer[sessions.Session] // the same, for Stats
	held      []*sub                           // resumed sequenced subscriptions not yet released; reader goroutine only
	// credential is the Hello's: a standby forwards the client's requests
	// to the active node with it (follow.go). Reader goroutine only.
	credential string

	readDeadline int64 // the read deadline as last set, Unix ns; reader goroutine only

	pubTopic string    // topic of the events batched in pubBatch; reader goroutine only
	pubBatch []EventIn // consecutive PublishEvents of one message
	hello    bool
	closed   sync.Once
	pinger   *time.Timer // heartbeat pings
	done     chan struct{}
	// readDone closes when the reader has read its last: the peer's Close,
	// or the end of its input. Closed only by a closing connection's reader.
	readDone chan struct{}

	rttNanos   atomic.Int64 // last RTT measured from our pings
	sentFrames atomic.Uint64
	sentBytes  atomic.Uint64
	maxBps     atomic.Uint64 // bandwidth budget from the client's Limits; 0 unlimited
	published  atomic.Uint64 // values and events this client published
	telemetry  atomic.Pointer[protocol.Telemetry]
	connected  time.Time

	// Limits (limits.go). Reader goroutine only.
	subRate   *rate.Limiter // subscription changes; created on the first Subscribe
	refusals  float64       // rate refusals, decaying by one a second
	refusedAt time.Time
	// closeStatus is the WebSocket close code the writer sends after the
	// final frame: closeWith's, or the peer's own echoed (peerClosed). Set
	// before the queue closes.
	closeStatus atomic.Int32
	drained     atomic.Bool // the writer wrote the final frame and the close
	untracked   sync.Once   // Server.tracked.Done, once
	// admitted: the Hello was accepted and the connection counts against
	// Config.MaxConnections, no longer the pre-Hello budget. Under Server.mu.
	admitted bool
}

func newConn(srv *Server, conn transport, id string) *Conn {
	c := &Conn{
		srv:       srv,
		conn:      conn,
		id:        id,
		addr:      conn.RemoteAddr().String(),
		queue:     newQueue(srv.cfg.MaxControlBytes),
		subs:      make(map[string]*sub),
		done:      make(chan struct{}),
		readDone:  make(chan struct{}),
		connected: time.Now(),
	}
	if _, ok := conn.(*websocket.Conn); !ok {
		// A WebSocket's limit is checked by readMessage: gorilla's own would
		// send its close frame before our Error 2007 could go out.
		conn.SetReadLimit(srv.cfg.MaxInboundMessage)
	}
	w := &writer{c: c}
	c.queue.spawn = w.run
	c.queue.writer = w
	w.lookUpRaw()
	c.queue.wheel = &srv.wheels[int(srv.nextWheel.Add(1))%len(srv.wheels)]
	return c
}

// readDeadlineSlack is how much earlier than IdleTimeout (or
// HandshakeTimeout) after its last message a silent client may be cut off:
// the read deadline is renewed only when it would move by more.
const readDeadlineSlack = time.Millisecond

// nextMessage waits for the next message. Over a WebSocket it returns its
// reader, read by readMessage into a pooled buffer; other transports return
// the message (r is nil). It is kept apart from the handling so that an idle
// connection waits on a shallow stack (see read).
func (c *Conn) nextMessage() (mt int, r io.Reader, msg []byte, err error) {
	if ws, ok := c.conn.(*websocket.Conn); ok {
		mt, r, err = ws.NextReader()
		return mt, r, nil, err
	}
	mt, msg, err = c.conn.ReadMessage()
	return mt, nil, msg, err
}

// readMessage reads a WebSocket message from r into a pooled buffer, handed
// back with releaseInbound once the message's frames are handled: one large
// read instead of io.ReadAll's growing ones, and no garbage per message.
func (c *Conn) readMessage(r io.Reader) (msg []byte, buf *[]byte, err error) {
	buf = c.srv.inbufs.Get().(*[]byte)
	b := (*buf)[:0]
	limit := c.srv.cfg.MaxInboundMessage
	for {
		if int64(len(b)) > limit {
			// Stop reading: the rest of the message is never buffered.
			*buf = b
			c.releaseInbound(buf)
			return nil, nil, websocket.ErrReadLimit
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow; the read limit bounds it
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*buf = b[:0]
			c.srv.inbufs.Put(buf)
			return nil, nil, err
		}
	}
	*buf = b
	return b, buf, nil
}

// releaseInbound returns an inbound buffer to the pool (nil is a no-op).
func (c *Conn) releaseInbound(buf *[]byte) {
	if buf == nil || cap(*buf) > maxPooledInbound {
		return // a rare big message's buffer is left to the collector
	}
	*buf = (*buf)[:0]
	c.srv.inbufs.Put(buf)
}

// maxPooledInbound caps the buffers kept for inbound messages.
const maxPooledInbound = 256 << 10

// releaseDecoder returns dec to the pool without the message it read.
func (c *Conn) releaseDecoder(dec *protocol.Decoder) {
	dec.Reset(nil)
	c.srv.decoders.Put(dec)
}

// logger returns the server's logger with the client's identity. Built on
// demand: logging is rare, and an idle client should not hold one.
func (c *Conn) logger() *slog.Logger {
	if p := c.principalOf(); p != nil {
		return c.srv.log.With("client", c.id, "remote", c.addr, "subject", p.Subject)
	}
	return c.srv.log.With("client", c.id, "remote", c.addr)
}

// startPings pings the client every heartbeat from a timer, so an idle
// connection needs no goroutine of its own for it. Pings are control frames
// and never touch a topic's age.
func (c *Conn) startPings() {
	hb := c.srv.cfg.Heartbeat
	// The callback must see the timer it resets: the mutex orders the
	// assignment before any firing (the race detector sees no other edge).
	var mu sync.Mutex
	var t *time.Timer
	mu.Lock()
	t = time.AfterFunc(hb, func() {
		select {
		case <-c.done:
			return
		default:
		}
		enc := c.srv.encoders.Get().(*protocol.Encoder)
		b, _ := enc.Append(nil, &protocol.Ping{Nonce: time.Now().UnixNano()})
		c.srv.encoders.Put(enc)
		c.queue.push(b)
		mu.Lock()
		t.Reset(hb)
		mu.Unlock()
	})
	c.pinger = t
	mu.Unlock()
}

// read is the client's reader goroutine. It returns when the connection ends.
func (c *Conn) read() {
	// An idle connection waits here, in NextReader: this frame and
	// nextMessage's are all that sits below gorilla's and the runtime's on
	// its stack. Handling happens in handleMessage, whose frames are gone by
	// the next wait.
	for {
		if err := c.renewReadDeadline(); err != nil {
			break
		}
		mt, r, msg, err := c.nextMessage()
		if err != nil {
			c.readFailed(err)
			break
		}
		ok, deep := c.handleMessage(mt, r, msg)
		if !ok {
			break
		}
		if deep {
			// Handing the loop to a fresh goroutine sheds the stack that
			// handling grew: an idle connection then waits on a 2 KiB
			// stack where 4 would be a third of its memory. This happens
			// after messages other than publishes: about one a heartbeat
			// (the Pong) for an idle client.
			go c.read()
			return
		}
	}
	c.readEnded()
}

// renewReadDeadline sets the read deadline for the next message: the
// whole of it must arrive in time, so one dribbled in slower is cut off like
// silence. It is renewed only when it moves by more than readDeadlineSlack:
// setting it moves a runtime timer, a cost per message that a client sending
// thousands a second would pay every time. Kept out of read's frame (see
// there): with it inline, an idle connection's stack doubled to 4 KiB.
//
//go:noinline
func (c *Conn) renewReadDeadline() error {
	d := c.srv.cfg.HandshakeTimeout
	if c.hello {
		d = c.srv.cfg.IdleTimeout
	}
	at := time.Now().Add(d)
	if moved := at.UnixNano() - c.readDeadline; moved >= 0 && moved <= int64(readDeadlineSlack) {
		return nil
	}
	if err := c.conn.SetReadDeadline(at); err != nil {
		return err
	}
	c.readDeadline = at.UnixNano()
	return nil
}

// readEnded releases the client once its reader is done.
func (c *Conn) readEnded() {
	// The subscriptions are the reader's; release them once it is done, and
	// leave their state with the session for a resume.
	c.endSession()
	// After closeWith (or the peer's Close) the writer sends the final
	// frames and the Close, then closes the connection once the peer's
	// Close is in (or closeWith's timer does): the connection is over when
	// done closes.
	if !c.closing.Load() {
		c.shutdown()
	} else {
		if ws, ok := c.conn.(*websocket.Conn); ok {
			discardToClose(ws)
		}
		close(c.readDone)
		<-c.done
	}
	c.untrack()
}

// discardToClose reads a closing WebSocket's input, acting on none of it,
// until the peer's Close (RFC 6455 §7.1.1: the server closes the TCP
// connection once both Close frames are sent), the end of the input or the
// read deadline. Closing the connection with input unread would reset it:
// the peer could lose the final frames. A read that already failed fails
// again at once.
func discardToClose(ws *websocket.Conn) {
	for {
		if _, _, err := ws.NextReader(); err != nil { // skips the rest of the previous message
			return
		}
	}
}

// handleMessage reads the rest of a message (from r, or msg) and handles
// its frames. It reports whether the connection continues, and whether the
// message held anything but publishes (the reader then moves to a fresh
// goroutine).
//
//go:noinline
func (c *Conn) handleMessage(mt int, r io.Reader, msg []byte) (ok, deep bool) {
	var buf *[]byte
	if r != nil {
		var err error
		if msg, buf, err = c.readMessage(r); err != nil {
			c.readFailed(err)
			return false, false
		}
	}
	if mt != websocket.BinaryMessage {
		c.releaseInbound(buf)
		c.badFrame(errors.New("text message: frames travel in binary messages"))
		return true, false
	}
	dec := c.srv.decoders.Get().(*protocol.Decoder)
	dec.Reset(msg)
	for dec.More() {
		if !c.hello {
			// Nothing but a Hello is decoded before the client has a
			// principal: another frame is refused by its type, its body
			// unread.
			if t, err := dec.PeekType(); err == nil && t != protocol.TypeHello {
				c.closeWith(protocol.CodeHelloRequired, fmt.Sprintf("first frame must be Hello, got %s", t))
				c.releaseDecoder(dec)
				c.releaseInbound(buf)
				return false, false
			}
		}
		f, err := dec.Next()
		if err != nil {
			// The rest of this message cannot be trusted; later messages can.
			c.badFrame(err)
			break
		}
		switch f.FrameType() {
		case protocol.TypePublish, protocol.TypePublishEvent:
		default:
			deep = true
		}
		if !c.handle(f) {
			c.releaseDecoder(dec)
			c.releaseInbound(buf)
			return false, false
		}
	}
	c.releaseDecoder(dec)
	c.flushEvents()
	// Decoded frames hold copies (strings, event data): the buffer is free.
	c.releaseInbound(buf)
	c.releaseHeld() // a resuming message has been read: its positions are in place
	return true, deep
}

func feedEvent(f *protocol.Event) EventIn {
	t := f.Time
	if t == 0 {
		t = time.Now().UnixNano()
	}
	return EventIn{Data: f.Data, Time: t, Key: f.Key}
}

// flushEvents publishes the batched events of c.pubTopic. Reader goroutine only.
func (c *Conn) flushEvents() {
	if len(c.pubBatch) == 0 {
		return
	}
	if _, _, _, err := c.srv.hub.publishEvents(c.publisher(), c.pubTopic, c.pubBatch...); err != nil {
		c.sendError(publishRefusal(err), err.Error(), c.pubTopic)
	} else {
		c.published.Add(uint64(len(c.pubBatch)))
	}
	clear(c.pubBatch)
	c.pubBatch = c.pubBatch[:0]
	c.pubTopic = ""
}

func (c *Conn) readFailed(err error) {
	var ne interface{ Timeout() bool }
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		if c.hello {
			c.closeWith(protocol.CodeIdle, fmt.Sprintf("no complete message received within the %s idle timeout", c.srv.cfg.IdleTimeout))
		} else {
			c.closeWith(protocol.CodeHelloRequired, "no Hello within the handshake timeout")
		}
	case errors.Is(err, websocket.ErrReadLimit):
		c.closeWith(protocol.CodeTooLarge, fmt.Sprintf("message over the %d-byte limit", c.srv.cfg.MaxInboundMessage))
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
		c.logger().Debug("client closed")
	default:
		c.logger().Debug("read failed", "err", err)
	}
}

// handle processes one frame and reports whether the connection continues.
func (c *Conn) handle(f protocol.Frame) bool {
	if c.closing.Load() {
		// The connection is ending (its token expired, it was kicked, it
		// fell behind): nothing more it sends is acted on while the writer
		// flushes the final frame.
		return false
	}
	if e, ok := f.(*protocol.Event); !ok || e.Type != protocol.TypePublishEvent {
		c.flushEvents() // batched events take effect before anything after them
	}
	if !c.hello {
		h, ok := f.(*protocol.Hello)
		if !ok {
			return false // unreachable: handleMessage refuses other frames undecoded
		}
		return c.handleHello(h)
	}
	switch f := f.(type) {
	case *protocol.Subscribe:
		allowed, alive := c.allowSubscribe(f) // limits.go
		if !alive {
			return false
		}
		if allowed {
			c.handleSubscribe(f)
		}
	case *protocol.Limits:
		c.maxBps.Store(f.MaxBytesPerSec)
	case *protocol.Telemetry:
		c.telemetry.Store(f)
	case *protocol.Price:
		if f.Type != protocol.TypePublish {
			c.sendError(protocol.CodeUnexpected, fmt.Sprintf("a client may not send %s", f.FrameType()), f.Topic)
			break
		}
		c.handlePublish(f)
	case *protocol.Event:
		if f.Type != protocol.TypePublishEvent {
			c.sendError(protocol.CodeUnexpected, fmt.Sprintf("a client may not send %s", f.FrameType()), f.Topic)
			break
		}
		if err := protocol.ValidTopic(f.Topic); err != nil {
			c.sendError(protocol.CodeBadPublish, err.Error(), "")
			break
		}
		if c.handleRequest(f) { // a request topic's handler answers it (requests.go)
			break
		}
		if !c.principalOf().CanPublish(f.Topic) {
			c.flushEvents()
			c.notEntitled("publish", f.Topic)
			break
		}
		// Consecutive events to one topic in a message publish as one batch:
		// subscribers are woken once for all of them.
		if c.pubTopic != f.Topic {
			c.flushEvents()
			c.pubTopic = f.Topic
		}
		c.pubBatch = append(c.pubBatch, feedEvent(f))
	case *protocol.Ping:
		c.send(&protocol.Pong{Nonce: f.Nonce, ServerTime: c.srv.hub.clock(), Role: c.srv.role()})
	case *protocol.Pong:
		if rtt := time.Now().UnixNano() - f.Nonce; rtt >= 0 {
			c.rttNanos.Store(rtt)
		}
	default:
		c.sendError(protocol.CodeUnexpected, fmt.Sprintf("a client may not send %s", f.FrameType()), "")
	}
	return true
}

func (c *Conn) handleHello(h *protocol.Hello) bool {
	if h.Version != protocol.Version {
		c.closeWith(protocol.CodeBadVersion, fmt.Sprintf("protocol version %d not supported; this server speaks %d", h.Version, protocol.Version))
		return false
	}
	if !c.authenticateHello(h) {
		return false
	}
	if reason := c.srv.admit(c); reason != "" {
		c.closeWith(protocol.CodeServerFull, reason)
		return false
	}
	return c.startSession(h)
}

func (c *Conn) handleSubscribe(s *protocol.Subscribe) {
	positions := c.subscribePositions(s)
	for _, name := range s.Topics {
		if err := protocol.ValidTopic(name); err != nil {
			c.sendError(protocol.CodeBadTopic, err.Error(), "")
			continue
		}
		if s.Unsubscribe {
			if _, ok := c.subs[name]; ok {
				delete(c.subs, name)
				c.nsubs.Add(-1)
				c.srv.hub.unsubscribe(c, name)
			}
			continue
		}
		if !c.canSubscribe(name) {
			c.notEntitled("subscribe", name)
			continue
		}
		pos, hasPos := positions[name]
		if sb, ok := c.subs[name]; ok {
			// A held (just resumed) topic listed in the resuming message
			// without a position: the client has received nothing of it.
			if sb.seqd && (hasPos || slices.Contains(c.held, sb)) {
				c.reposition(name, sb, pos)
			}
			continue
		}
		if len(c.subs) >= c.srv.cfg.MaxTopicsPerClient {
			c.sendError(protocol.CodeTooManyTopics, fmt.Sprintf("subscription limit %d reached", c.srv.cfg.MaxTopicsPerClient), name)
			continue
		}
		c.subs[name] = c.srv.hub.subscribe(c, name, subStart{minInterval: time.Duration(s.MinIntervalMs) * time.Millisecond, pos: pos})
		c.nsubs.Add(1)
	}
}

func (c *Conn) handlePublish(p *protocol.Price) {
	if err := protocol.ValidTopic(p.Topic); err != nil {
		c.sendError(protocol.CodeBadPublish, err.Error(), "")
		return
	}
	if !c.principalOf().CanPublish(p.Topic) {
		c.notEntitled("publish", p.Topic)
		return
	}
	t := p.Time
	if t == 0 {
		t = time.Now().UnixNano()
	}
	// Publishers mark simulated data; stale and gap are the server's to say.
	if err := c.srv.hub.publish(c.publisher(), p.Topic, &p.Quote, t, p.Flags&protocol.FlagSimulated); err != nil {
		if errors.Is(err, ErrPaused) {
			return // an operator paused the topic: dropped and counted, not an error per tick
		}
		c.sendError(publishRefusal(err), err.Error(), p.Topic)
		return
	}
	c.published.Add(1)
}

// publisher is the client as a publisher, for the topic limits.
func (c *Conn) publisher() publisher { return publisher{principal: c.principalOf(), addr: c.addr} }

// publishRefusal is the Error code of a refused publish.
func publishRefusal(err error) protocol.ErrorCode {
	if errors.Is(err, ErrTopicLimit) {
		return protocol.CodeTopicLimit
	}
	return protocol.CodeBadPublish
}

// send queues a control frame. It reports false if the client is gone.
func (c *Conn) send(f protocol.Frame) bool {
	enc := c.srv.encoders.Get().(*protocol.Encoder)
	b, err := enc.Append(nil, f)
	c.srv.encoders.Put(enc)
	if err != nil {
		c.logger().Error("encode", "err", err)
		return false
	}
	if !c.queue.push(b) {
		c.closeWith(protocol.CodeSlowConsumer, "too much sequenced data queued")
		return false
	}
	return true
}

func (c *Conn) sendError(code protocol.ErrorCode, reason, topic string) {
	c.logger().Warn("refused", "code", code, "reason", reason, "topic", topic)
	c.srv.errSent.inc(code)
	c.send(&protocol.Error{Code: code, Reason: reason, Topic: topic})
}

func (c *Conn) badFrame(err error) {
	c.bad++
	if c.bad > c.srv.cfg.MaxBadFrames {
		c.closeWith(protocol.CodeTooManyErrors, fmt.Sprintf("more than %d malformed frames", c.srv.cfg.MaxBadFrames))
		return
	}
	c.sendError(protocol.CodeBadFrame, err.Error(), "")
}

// closeWith sends a final Error frame and closes the connection after it.
func (c *Conn) closeWith(code protocol.ErrorCode, reason string) {
	c.closeWithin(code, reason, c.srv.cfg.WriteTimeout)
}

// closeWithin is closeWith giving the writer d to flush what is queued and
// the final frame; then the connection is closed regardless.
func (c *Conn) closeWithin(code protocol.ErrorCode, reason string, d time.Duration) {
	if c.closing.Swap(true) {
		return // the first reason stands: the queue holds its final frame
	}
	c.srv.errSent.inc(code)
	status := websocket.CloseNormalClosure
	switch code {
	case protocol.CodeShutdown:
		// Going away: reconnect, here or elsewhere. Logged per client at
		// debug level only: the shutdown logs the count.
		status = websocket.CloseGoingAway
		c.logger().Debug("closing", "code", code, "reason", reason)
	case protocol.CodeServerFull:
		status = websocket.CloseTryAgainLater
		c.logger().Warn("connection refused", "reason", reason)
	default:
		c.logger().Info("closing", "code", code, "reason", reason)
	}
	b, _ := protocol.NewEncoder().Append(nil, &protocol.Error{Code: code, Reason: reason})
	c.finish(status, b, d)
}

// peerClosed answers the peer's WebSocket Close (reader goroutine, from
// gorilla's close handler): the writer echoes its status code (RFC 6455
// §5.5.1; CloseNoStatusReceived, an empty Close, gets an empty one) after
// the batch it may be writing and what is already queued, writes nothing
// after it, and closes the connection. If the server is already closing,
// its own Close crosses the peer's and stands.
func (c *Conn) peerClosed(code int) {
	if c.closing.Swap(true) {
		return
	}
	c.finish(code, nil, c.srv.cfg.WriteTimeout)
}

// finish closes the queue: the writer writes what is queued, then final
// (if not nil), then a WebSocket Close with status, and ends the
// connection; after d it ends regardless. The caller has set c.closing.
func (c *Conn) finish(status int, final []byte, d time.Duration) {
	c.closeStatus.Store(int32(status))
	c.queue.close(final)
	// If the writer is stuck on a dead peer, the write deadline frees it.
	time.AfterFunc(d, c.shutdown)
}

// shutdown releases the client: unsubscribes everything and closes the socket.
// It is safe to call many times from any goroutine.
func (c *Conn) shutdown() {
	c.closed.Do(func() {
		// Removed before done closes: a reader waiting on done then untracks
		// the connection, and Serve, waiting for them all, must find none.
		c.srv.remove(c)
		close(c.done)
		if c.pinger != nil {
			c.pinger.Stop()
		}
		if t := c.expiry.Load(); t != nil {
			t.Stop()
		}
		c.queue.close(nil)
		_ = c.conn.Close()
	})
}

// ConnStats describes one connection. Its field names are the JSON of
// GET /clients, which operators and tests read: keep them.
type ConnStats struct {
	ID             string
	Session        string // session id (Welcome.SessionID); empty before the Hello
	Subject        string // the authenticated principal ("anonymous" in open mode); empty before the Hello
	Transport      string // "websocket" or "http" (streaming)
	Remote         string
	Connected      time.Time
	Subscriptions  int
	Pending        int    // subscriptions with something waiting for the writer (at most one value each)
	ControlBytes   int    // control frames waiting for the writer
	QueueBytes     int    // upper bound of the client's queue memory: slots, pending refs and control bytes
	Conflated      uint64 // values replaced or merged before they were written
	SentFrames     uint64
	SentBytes      uint64
	Published      uint64
	MaxBytesPerSec uint64        // the client's bandwidth budget, 0 unlimited
	RTT            time.Duration // measured by the server's pings
	// What the client reports of itself (Telemetry frames).
	ClientLag      time.Duration // p99 data age the client observed
	ClientQueue    uint32        // events received but not yet consumed
	ClientReceived uint64
}

// slotBytes is the memory of one subscription slot and its dirty-list entry.
const slotBytes = 160

// Stats returns the connection's counters.
func (c *Conn) Stats() ConnStats {
	qs := c.queue.stats()
	nsubs := int(c.nsubs.Load())
	st := ConnStats{
		ID: c.id, Remote: c.addr, Transport: "websocket", Connected: c.connected, Subscriptions: nsubs,
		Pending: qs.pending, ControlBytes: qs.controlBytes, Conflated: qs.conflated,
		QueueBytes: nsubs*slotBytes + qs.controlBytes,
		SentFrames: c.sentFrames.Load(), SentBytes: c.sentBytes.Load(), Published: c.published.Load(),
		MaxBytesPerSec: c.maxBps.Load(), RTT: time.Duration(c.rttNanos.Load()),
	}
	if sess := c.sessStats.Load(); sess != nil {
		st.Session = sess.ID
	}
	if p := c.principalOf(); p != nil {
		st.Subject = p.Subject
	}
	if _, ok := c.conn.(*httpStream); ok {
		st.Transport = "http"
	}
	if t := c.telemetry.Load(); t != nil {
		st.ClientLag = time.Duration(t.LagMicros) * time.Microsecond
		st.ClientQueue = t.Queue
		st.ClientReceived = t.Received
	}
	return st
}
