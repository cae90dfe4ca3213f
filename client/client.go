package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/protocol"
)

// Options configures a Client. Zero fields take the defaults in their comments.
type Options struct {
	// URLs are the servers' WebSocket URLs, tried in order, round robin.
	URLs []string
	// Name identifies the client in the server's logs. Default "tickwire-client".
	Name string
	// Topics to subscribe to on every connection.
	Topics []string
	// Positions to start sequenced topics from (say, saved by a previous run
	// from Client.Positions): their events after these are delivered, once.
	// Topics without one start from the beginning of their history.
	Positions []protocol.StreamPosition
	// Token is the client's credential, a signed token or an API key
	// (docs/auth.md), sent in every Hello. A server refusing it (Error 2009,
	// or 2010 when it expires) is reported as StateEvent.AuthRefused and
	// retried only every MaxBackoff: retrying sooner cannot help.
	Token string
	// ResumeToken resumes a session of a previous run (Client.ResumeToken),
	// if the server still keeps it; otherwise a new session starts.
	ResumeToken string
	// Transport: "" tries a WebSocket and falls back to HTTP streaming when
	// the upgrade is refused (a proxy that blocks WebSockets); "websocket"
	// or "http" use only that.
	Transport string
	// TLS configures wss:// and https:// connections, the WebSocket and the
	// HTTP streaming fallback alike (nil: the system roots). See
	// tlsconf.ClientConfig.
	TLS *tls.Config
	// MinBackoff and MaxBackoff bound the exponential reconnect delay (with
	// full jitter). Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// EventBuffer is the capacity of the Events channel. Default 1024. When the
	// consumer falls behind, reading stops and the server conflates.
	EventBuffer int
	// MinInterval asks the server for at most one update per topic per
	// interval (250ms = 4/s); the server conflates to meet it. 0: no limit.
	MinInterval time.Duration
	// MaxBytesPerSec is the session's bandwidth budget; the server conflates
	// prices to stay under it. 0: no limit.
	MaxBytesPerSec uint64
	// TelemetryEvery is how often the client reports its observed lag and
	// queue to the server. Default 5s; negative disables.
	TelemetryEvery time.Duration
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the client's clock: it stamps what the client delivers
	// (PriceEvent.Received...). Default time.Now. Ages never compare it with
	// the server's clock, so its setting does not matter (tests set it off).
	Now func() time.Time
}

// Client maintains a session with a tickwire server: it connects, subscribes,
// rebuilds full values from deltas, delivers sequenced events exactly once,
// measures RTT and reconnects with backoff, resuming its session (or, where
// the server no longer has it, continuing from its positions).
type Client struct {
	opts   Options
	log    *slog.Logger
	events chan Event

	start time.Time // base of Ping nonces: monotonic, immune to clock steps

	mu        sync.Mutex
	topics    []string // subscribed set, in order
	conn      *Conn    // current connection, nil when down
	positions map[string]seqPos
	seqTopics map[string]bool      // topics known to be sequenced (an Event came)
	token     string               // resume token of the current session
	wsRefused map[string]time.Time // URL -> when its WebSocket upgrade was last refused

	stats struct {
		connects, resumes, duplicates, gaps, historyLost, snapshots, httpConnects atomic.Uint64
	}
}

// Stats counts what a Client has seen.
type Stats struct {
	Connects     uint64 // handshakes completed
	Resumes      uint64 // of which resumed the previous session
	HTTP         uint64 // of which over HTTP streaming
	Duplicates   uint64 // sequenced events dropped as already delivered
	Gaps         uint64 // sequenced events out of order, dropped and asked again from the position
	HistoryLost  uint64 // history-lost markers received
	StateResyncs uint64 // of which carried the topic's state
}

// New returns a Client; call Run to start it.
func New(opts Options) *Client {
	if opts.Name == "" {
		opts.Name = "tickwire-client"
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TelemetryEvery == 0 {
		opts.TelemetryEvery = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{
		opts:      opts,
		log:       opts.Logger,
		events:    make(chan Event, opts.EventBuffer),
		start:     time.Now(),
		topics:    append([]string(nil), opts.Topics...),
		positions: make(map[string]seqPos),
		seqTopics: make(map[string]bool),
		wsRefused: make(map[string]time.Time),
		token:     opts.ResumeToken,
	}
	for _, p := range opts.Positions {
		c.positions[p.Topic] = seqPos{epoch: p.Epoch, seq: p.Seq}
		c.seqTopics[p.Topic] = true
	}
	return c
}

// ResumeToken returns the token of the client's session (empty before the
// first Welcome). With Positions, it lets a restarted process resume the
// session while the server still keeps it (Options.ResumeToken).
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Events delivers the client's events. It is closed when Run returns.
func (c *Client) Events() <-chan Event { return c.events }

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Connects: c.stats.connects.Load(), Resumes: c.stats.resumes.Load(), HTTP: c.stats.httpConnects.Load(),
		Duplicates: c.stats.duplicates.Load(), Gaps: c.stats.gaps.Load(),
		HistoryLost: c.stats.historyLost.Load(), StateResyncs: c.stats.snapshots.Load(),
	}
}

// Positions returns the client's position in every sequenced topic it has
// received events of: the last event delivered on Events (or queued for it).
// Save them to start a later Client from them (Options.Positions).
func (c *Client) Positions() []protocol.StreamPosition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]protocol.StreamPosition, 0, len(c.positions))
	for t, p := range c.positions {
		out = append(out, protocol.StreamPosition{Topic: t, Seq: p.seq, Epoch: p.epoch})
	}
	return out
}

// Subscribe adds topics, on the current connection and on every later one.
func (c *Client) Subscribe(topics ...string) error {
	c.mu.Lock()
	c.topics = append(c.topics, topics...)
	conn := c.conn
	frame := c.subscribeFrameLocked(topics)
	c.mu.Unlock()
	if conn == nil {
		return nil // sent on connect
	}
	return conn.Send(frame)
}

// subscribeFrameLocked returns a Subscribe of topics with the client's
// position in each of them known to be sequenced: the zero position if it has
// received nothing there yet, since a resumed session would otherwise
// continue after what the server wrote, not what arrived. Caller holds c.mu.
func (c *Client) subscribeFrameLocked(topics []string) *protocol.Subscribe {
	s := &protocol.Subscribe{Topics: topics, MinIntervalMs: uint32(c.opts.MinInterval / time.Millisecond)}
	for _, t := range topics {
		if p, ok := c.positions[t]; ok || c.seqTopics[t] {
			s.Positions = append(s.Positions, protocol.StreamPosition{Topic: t, Seq: p.seq, Epoch: p.epoch})
		}
	}
	return s
}

// Run connects and serves the session until ctx is done. It always returns
// ctx's error; connection failures are reported as events and retried.
func (c *Client) Run(ctx context.Context) error {
	defer close(c.events)
	if len(c.opts.URLs) == 0 {
		err := errors.New("client: no server URLs")
		c.emit(ctx, StateEvent{State: Closed, Err: err})
		return err
	}
	var (
		attempt int
		lastURL string
		rebuilt = make(map[string]*topicState) // last full value per topic
		idx     int
	)
	for {
		url := c.opts.URLs[idx%len(c.opts.URLs)]
		if attempt == 0 {
			c.emit(ctx, StateEvent{State: Connecting, URL: url})
		}
		err := c.session(ctx, url, lastURL, rebuilt)
		if ctx.Err() != nil {
			c.emit(context.Background(), StateEvent{State: Closed, URL: url, Err: ctx.Err()})
			return ctx.Err()
		}
		if errors.Is(err, errConnected) {
			// The session had connected before it failed: start a new backoff.
			lastURL = url
			attempt = 0
		}
		var perr *protocol.Error
		if errors.As(err, &perr) && !errors.Is(err, errConnected) {
			c.emit(ctx, ErrorEvent{Err: perr}) // a refusal in the handshake
		}
		attempt++
		idx++
		next := c.opts.URLs[idx%len(c.opts.URLs)]
		delay := c.backoff(attempt)
		refused := authRefusal(err)
		if refused != "" {
			// The same credential will be refused again: do not hammer.
			delay = c.opts.MaxBackoff
			c.log.Warn("server refused our credential", "url", url, "reason", refused)
		}
		c.emit(ctx, StateEvent{State: Reconnecting, URL: next, Attempt: attempt, NextRetry: c.opts.Now().Add(delay), Err: err, AuthRefused: refused})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			c.emit(context.Background(), StateEvent{State: Closed, URL: next, Err: ctx.Err()})
			return ctx.Err()
		case <-t.C:
		}
	}
}

// authRefusal returns the server's reason if err is its refusal of our
// credential (Error 2009 or 2010), else "".
func authRefusal(err error) string {
	var perr *protocol.Error
	if errors.As(err, &perr) && (perr.Code == protocol.CodeUnauthorized || perr.Code == protocol.CodeTokenExpired) {
		return perr.Reason
	}
	return ""
}

// errConnected marks a session that got as far as a Welcome before it ended.
var errConnected = errors.New("connection lost")

// backoff returns the delay before attempt n: exponential, capped, full jitter
// over its upper half so retries of many clients spread out.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.MinBackoff << min(n-1, 20)
	if d > c.opts.MaxBackoff || d <= 0 {
		d = c.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) emit(ctx context.Context, ev Event) {
	select {
	case c.events <- ev:
	case <-ctx.Done():
	}
}

// wsRetryAfter is how long a URL whose WebSocket upgrade was refused is
// reached over HTTP streaming before a WebSocket is tried again.
const wsRetryAfter = time.Minute

// dial opens a connection to url: a WebSocket or, where the upgrade is
// refused, HTTP streaming (Options.Transport).
func (c *Client) dial(ctx context.Context, url string, hello protocol.Hello, extra []protocol.Frame) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := Dialer{TLSConfig: c.opts.TLS}
	switch c.opts.Transport {
	case TransportHTTP:
		return d.Dial(dctx, StreamURL(url), hello, extra...)
	case TransportWebSocket:
		return d.Dial(dctx, url, hello, extra...)
	}
	c.mu.Lock()
	refused, ok := c.wsRefused[url]
	c.mu.Unlock()
	if !ok || time.Since(refused) > wsRetryAfter {
		conn, err := d.Dial(dctx, url, hello, extra...)
		if !errors.Is(err, ErrUpgradeRefused) {
			return conn, err
		}
		c.log.Info("websocket refused; falling back to HTTP streaming", "url", url, "err", err)
		c.mu.Lock()
		c.wsRefused[url] = time.Now()
		c.mu.Unlock()
	}
	return d.Dial(dctx, StreamURL(url), hello, extra...)
}

// session runs one connection. It returns an error wrapping errConnected if
// the handshake succeeded, else the dial error.
func (c *Client) session(ctx context.Context, url, lastURL string, rebuilt map[string]*topicState) error {
	c.mu.Lock()
	topics := append([]string(nil), c.topics...)
	hello := protocol.Hello{Client: c.opts.Name, Token: c.opts.Token, ResumeToken: c.token}
	var extra []protocol.Frame
	if c.opts.MaxBytesPerSec > 0 {
		extra = append(extra, &protocol.Limits{MaxBytesPerSec: c.opts.MaxBytesPerSec})
	}
	if len(topics) > 0 {
		// In the Hello's message: a resumed session's sequenced topics move to
		// these positions before the server delivers anything.
		extra = append(extra, c.subscribeFrameLocked(topics))
	}
	c.mu.Unlock()
	conn, err := c.dial(ctx, url, hello, extra)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.conn = conn
	c.token = conn.Welcome.ResumeToken
	var late *protocol.Subscribe
	if len(c.topics) > len(topics) {
		// Subscribe was called during the handshake: its topics were not in it.
		late = c.subscribeFrameLocked(append([]string(nil), c.topics[len(topics):]...))
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.mu.Unlock()
		_ = conn.Close()
	}()
	if late != nil {
		if err := conn.Send(late); err != nil {
			return fmt.Errorf("%w: %w", errConnected, err)
		}
	}
	c.stats.connects.Add(1)
	if conn.Welcome.Resumed {
		c.stats.resumes.Add(1)
	}
	if conn.Transport() == TransportHTTP {
		c.stats.httpConnects.Add(1)
	}
	c.emit(ctx, StateEvent{State: Connected, URL: url, Server: conn.Welcome.Server, SessionID: conn.Welcome.SessionID,
		FailedOver: lastURL != "" && lastURL != url, Resumed: conn.Welcome.Resumed, Role: conn.Welcome.Role, Transport: conn.Transport(), TLS: tlsVersion(conn)})
	role := conn.Welcome.Role

	hb := time.Duration(conn.Welcome.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = time.Second
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tel := &telemetry{}
	go c.pinger(sctx, conn, hb, tel)
	stop := context.AfterFunc(sctx, conn.abort) // unblock Read
	defer stop()

	// Topics we had values for before this connection: their first snapshot
	// on this one is a gap recovery.
	fresh := make(map[string]bool, len(rebuilt))
	resync := make(map[string]time.Time) // sequenced topics asked again after a gap
	var clk serverClock
	clk.sync(conn.Welcome.ServerTime, conn.HandshakeRTT, c.opts.Now())
	for {
		// Silence for three heartbeats means the link is dead, whatever TCP thinks.
		_ = conn.SetReadDeadline(time.Now().Add(3 * hb))
		err := conn.Read(func(f protocol.Frame) error {
			tel.received.Add(1)
			switch f := f.(type) {
			case *protocol.Price:
				tel.observe(time.Since(time.Unix(0, f.Time)))
				return c.onPrice(ctx, conn, f, rebuilt, fresh, &clk)
			case *protocol.Event:
				return c.onEvent(ctx, conn, f, resync)
			case *protocol.Ping:
				return conn.Send(&protocol.Pong{Nonce: f.Nonce})
			case *protocol.Pong:
				if rtt := time.Since(c.start) - time.Duration(f.Nonce); rtt >= 0 {
					clk.sync(f.ServerTime, rtt, c.opts.Now())
					c.emit(ctx, RTTEvent{RTT: rtt})
				}
				if f.Role != "" && f.Role != role {
					role = f.Role
					c.emit(ctx, RoleEvent{Role: role})
				}
			case *protocol.Error:
				if f.Code.Fatal() {
					return f
				}
				c.emit(ctx, ErrorEvent{Err: f})
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				c.log.Info("connection lost", "url", url, "err", err)
			}
			var perr *protocol.Error
			if errors.As(err, &perr) {
				c.emit(ctx, ErrorEvent{Err: perr})
				if perr.Code == protocol.CodeSessionMoved {
					// Another connection resumed our session (a copy of this
					// client?): do not take it back, start a new one; the
					// positions keep the streams exact.
					c.mu.Lock()
					c.token = ""
					c.mu.Unlock()
				}
			}
			return fmt.Errorf("%w: %w", errConnected, err)
		}
	}
}

func (c *Client) onPrice(ctx context.Context, conn *Conn, p *protocol.Price, rebuilt map[string]*topicState, fresh map[string]bool, clk *serverClock) error {
	now := c.opts.Now()
	prev := rebuilt[p.Topic]
	ev := PriceEvent{Topic: p.Topic, Seq: p.Seq, Time: time.Unix(0, p.Time), Flags: p.Flags, Received: now, Age: clk.age(p.Stored, now), Changed: p.Quote.Set}
	switch {
	case p.Type == protocol.TypeSnapshot:
		ev.Snapshot = true
		ev.Quote = p.Quote
		if prev != nil {
			ev.Changed = p.Quote.Changed(&prev.Quote)
		}
		// A snapshot right after reconnecting may skip whatever happened
		// while we were away (a resumed session's server says so with
		// FlagGap), unless it is the very value we hold. Seqs compare only
		// within one server process; the server's flag covers the others.
		ev.Gap = (p.Flags&protocol.FlagGap != 0 || (prev != nil && !fresh[p.Topic])) && !(prev != nil && p.Seq == prev.Seq)
	case prev == nil || !fresh[p.Topic] || p.Seq <= prev.Seq || (prev.ops == 0 && prev.Seq+1 != p.Seq):
		// A replace topic's Update applies only to seq-1; a merge topic's
		// carries everything merged since our last value, so it may jump.
		// A delta we cannot apply: ask again for the full value.
		c.log.Warn("out-of-sequence update; resubscribing", "topic", p.Topic, "seq", p.Seq)
		c.mu.Lock()
		sub := c.subscribeFrameLocked([]string{p.Topic})
		c.mu.Unlock()
		return conn.Send(&protocol.Subscribe{Unsubscribe: true, Topics: []string{p.Topic}}, sub)
	default:
		ev.Quote = prev.Quote
		prev.ops.Merge(&ev.Quote, &p.Quote)
	}
	// Same value time as the value we hold: a status change (e.g. the stale
	// mark), or the same value again after a reconnect, not newer data.
	ev.StatusOnly = prev != nil && p.Time == prev.Time.UnixNano()
	fresh[p.Topic] = true
	if prev == nil {
		prev = &topicState{}
		rebuilt[p.Topic] = prev
	}
	if ev.Snapshot {
		prev.ops = p.Ops
	}
	prev.PriceEvent = ev
	c.emit(ctx, ev)
	return nil
}

// serverClock estimates the server's clock (Hub time, Unix ns) at a local
// instant, from the ServerTime of a Welcome or Pong and the round trip it
// ended: the server stamped it about half the round trip before it arrived
// (NTP's assumption of symmetric paths; the error is at most half the round
// trip). Only local durations are measured, so the local clock's setting
// never matters. The latest exchange wins: one a heartbeat.
type serverClock struct {
	server int64     // the server's clock at local; 0 before a sample
	local  time.Time // Options.Now's reading
}

// sync takes one exchange: the server said serverTime, and the round trip
// that brought it took rtt, ending at local instant at. An older server
// says nothing (0).
func (k *serverClock) sync(serverTime int64, rtt time.Duration, at time.Time) {
	if serverTime != 0 {
		k.server, k.local = serverTime+int64(rtt/2), at
	}
}

// age returns how old a value the server stored at stored (its clock) is at
// local instant at: the server's time since storing it plus its transit.
// 0 when the server does not say (an older server).
func (k *serverClock) age(stored int64, at time.Time) time.Duration {
	if stored == 0 || k.server == 0 {
		return 0
	}
	return max(time.Duration(k.server+int64(at.Sub(k.local))-stored), 0)
}

// topicState is what the client keeps per conflated topic to rebuild values.
type topicState struct {
	PriceEvent
	ops protocol.Ops // from the topic's snapshot
}

// seqPos is the client's position in a sequenced topic.
type seqPos struct {
	epoch string
	seq   uint64
}

// resyncEvery bounds how often a topic is asked again after a gap.
const resyncEvery = time.Second

// onEvent delivers a sequenced event once and in order. The server sends
// exactly the events after the client's position, so what follows is
// defence: a duplicate (same epoch, seq not above the position) is dropped;
// an event beyond the next one (or of another epoch, unannounced) is dropped
// and the topic asked again from the position. A history-lost marker moves
// the position to its own (and may carry the topic's state).
func (c *Client) onEvent(ctx context.Context, conn *Conn, e *protocol.Event, resync map[string]time.Time) error {
	c.mu.Lock()
	c.seqTopics[e.Topic] = true
	pos := c.positions[e.Topic]
	lost := e.Flags&protocol.EventHistoryLost != 0
	switch {
	case lost:
	case pos.epoch == e.Epoch && e.Seq <= pos.seq:
		c.mu.Unlock()
		c.stats.duplicates.Add(1)
		return nil
	case e.Seq == pos.seq+1 && (pos.epoch == e.Epoch || (pos.epoch == "" && pos.seq == 0)):
	default:
		// A gap: never deliver past it.
		c.stats.gaps.Add(1)
		var frame *protocol.Subscribe
		if t, ok := resync[e.Topic]; !ok || time.Since(t) > resyncEvery {
			resync[e.Topic] = time.Now()
			frame = c.subscribeFrameLocked([]string{e.Topic})
		}
		c.mu.Unlock()
		if frame != nil {
			c.log.Warn("sequenced gap; asking again from our position", "topic", e.Topic, "have", pos.seq, "epoch", pos.epoch, "got", e.Seq, "got_epoch", e.Epoch)
			return conn.Send(frame)
		}
		return nil
	}
	c.positions[e.Topic] = seqPos{epoch: e.Epoch, seq: e.Seq}
	c.mu.Unlock()
	delete(resync, e.Topic)
	if lost {
		c.stats.historyLost.Add(1)
		if e.Flags&protocol.EventSnapshot != 0 {
			c.stats.snapshots.Add(1)
		}
	}
	c.emit(ctx, SequencedEvent{Topic: e.Topic, Epoch: e.Epoch, Seq: e.Seq, Time: time.Unix(0, e.Time), Data: e.Data, Received: c.opts.Now(),
		HistoryLost: lost, Snapshot: e.Flags&protocol.EventSnapshot != 0})
	return nil
}

// pinger sends a Ping every heartbeat and, every TelemetryEvery, a Telemetry
// report of what this client observes.
func (c *Client) pinger(ctx context.Context, conn *Conn, every time.Duration, tel *telemetry) {
	t := time.NewTicker(every)
	defer t.Stop()
	var report <-chan time.Time
	if c.opts.TelemetryEvery > 0 {
		rt := time.NewTicker(c.opts.TelemetryEvery)
		defer rt.Stop()
		report = rt.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := conn.Send(&protocol.Ping{Nonce: int64(time.Since(c.start))}); err != nil {
				return
			}
		case <-report:
			m := &protocol.Telemetry{LagMicros: uint64(tel.p99() / time.Microsecond), Queue: uint32(len(c.events)), Received: tel.received.Load()}
			if err := conn.Send(m); err != nil {
				return
			}
		}
	}
}

// tlsVersion names the connection's TLS version ("TLS 1.3"), or "" when it
// is not encrypted.
func tlsVersion(conn *Conn) string {
	if st := conn.TLS(); st != nil {
		return tls.VersionName(st.Version)
	}
	return ""
}
