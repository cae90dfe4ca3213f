package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
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
}

// Client maintains a session with a tickwire server: it connects, subscribes,
// rebuilds full values from deltas, measures RTT and reconnects with backoff.
type Client struct {
	opts   Options
	log    *slog.Logger
	events chan Event

	start time.Time // base of Ping nonces: monotonic, immune to clock steps

	mu     sync.Mutex
	topics []string // subscribed set, in order
	conn   *Conn    // current connection, nil when down
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
	return &Client{
		opts:   opts,
		log:    opts.Logger,
		events: make(chan Event, opts.EventBuffer),
		start:  time.Now(),
		topics: append([]string(nil), opts.Topics...),
	}
}

// Events delivers the client's events. It is closed when Run returns.
func (c *Client) Events() <-chan Event { return c.events }

// Subscribe adds topics, on the current connection and on every later one.
func (c *Client) Subscribe(topics ...string) error {
	c.mu.Lock()
	c.topics = append(c.topics, topics...)
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil // sent on connect
	}
	return conn.Send(c.subscribeFrame(topics))
}

func (c *Client) subscribeFrame(topics []string) *protocol.Subscribe {
	return &protocol.Subscribe{Topics: topics, MinIntervalMs: uint32(c.opts.MinInterval / time.Millisecond)}
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
		if err == errConnected {
			// The session had connected before it failed: start a new backoff.
			lastURL = url
			attempt = 0
		}
		var perr *protocol.Error
		if errors.As(err, &perr) {
			c.emit(ctx, ErrorEvent{Err: perr})
		}
		attempt++
		idx++
		next := c.opts.URLs[idx%len(c.opts.URLs)]
		delay := c.backoff(attempt)
		c.emit(ctx, StateEvent{State: Reconnecting, URL: next, Attempt: attempt, NextRetry: time.Now().Add(delay), Err: err})
		select {
		case <-ctx.Done():
			c.emit(context.Background(), StateEvent{State: Closed, URL: next, Err: ctx.Err()})
			return ctx.Err()
		case <-time.After(delay):
		}
	}
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

// session runs one connection. It returns errConnected (wrapping the cause in
// the log) if the handshake succeeded, else the dial error.
func (c *Client) session(ctx context.Context, url, lastURL string, rebuilt map[string]*topicState) error {
	conn, err := Dial(ctx, url, protocol.Hello{Client: c.opts.Name})
	if err != nil {
		return err
	}
	c.mu.Lock()
	topics := append([]string(nil), c.topics...)
	c.conn = conn
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.mu.Unlock()
		_ = conn.Close()
	}()
	frames := []protocol.Frame{}
	if c.opts.MaxBytesPerSec > 0 {
		frames = append(frames, &protocol.Limits{MaxBytesPerSec: c.opts.MaxBytesPerSec})
	}
	if len(topics) > 0 {
		frames = append(frames, c.subscribeFrame(topics))
	}
	if len(frames) > 0 {
		if err := conn.Send(frames...); err != nil {
			return err
		}
	}
	c.emit(ctx, StateEvent{State: Connected, URL: url, Server: conn.Welcome.Server, SessionID: conn.Welcome.SessionID,
		FailedOver: lastURL != "" && lastURL != url})

	hb := time.Duration(conn.Welcome.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = time.Second
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tel := &telemetry{}
	go c.pinger(sctx, conn, hb, tel)
	go func() {
		<-sctx.Done()
		_ = conn.ws.Close() // unblock Read
	}()

	// Topics we had values for before this connection: their first snapshot
	// on this one is a gap recovery.
	fresh := make(map[string]bool, len(rebuilt))
	seqs := make(map[string]seqPos)
	for {
		// Silence for three heartbeats means the link is dead, whatever TCP thinks.
		_ = conn.SetReadDeadline(time.Now().Add(3 * hb))
		err := conn.Read(func(f protocol.Frame) error {
			tel.received.Add(1)
			switch f := f.(type) {
			case *protocol.Price:
				tel.observe(time.Since(time.Unix(0, f.Time)))
				return c.onPrice(ctx, conn, f, rebuilt, fresh)
			case *protocol.Event:
				c.onEvent(ctx, f, seqs)
			case *protocol.Ping:
				return conn.Send(&protocol.Pong{Nonce: f.Nonce})
			case *protocol.Pong:
				if rtt := time.Since(c.start) - time.Duration(f.Nonce); rtt >= 0 {
					c.emit(ctx, RTTEvent{RTT: rtt})
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
			}
			return fmt.Errorf("%w: %w", errConnected, err)
		}
	}
}

func (c *Client) onPrice(ctx context.Context, conn *Conn, p *protocol.Price, rebuilt map[string]*topicState, fresh map[string]bool) error {
	now := time.Now()
	prev := rebuilt[p.Topic]
	ev := PriceEvent{Topic: p.Topic, Seq: p.Seq, Time: time.Unix(0, p.Time), Flags: p.Flags, Received: now, Changed: p.Quote.Set}
	switch {
	case p.Type == protocol.TypeSnapshot:
		ev.Snapshot = true
		ev.Quote = p.Quote
		if prev != nil {
			ev.Changed = p.Quote.Changed(&prev.Quote)
		}
		// A snapshot right after reconnecting skips whatever happened while
		// we were away; one after a conflated gap skips values too.
		ev.Gap = p.Flags&protocol.FlagGap != 0 || (prev != nil && !fresh[p.Topic] && p.Seq != prev.Seq)
	case prev == nil || !fresh[p.Topic] || p.Seq <= prev.Seq || (prev.ops == 0 && prev.Seq+1 != p.Seq):
		// A replace topic's Update applies only to seq-1; a merge topic's
		// carries everything merged since our last value, so it may jump.
		// A delta we cannot apply: ask again for the full value.
		c.log.Warn("out-of-sequence update; resubscribing", "topic", p.Topic, "seq", p.Seq)
		return conn.Send(&protocol.Subscribe{Unsubscribe: true, Topics: []string{p.Topic}}, c.subscribeFrame([]string{p.Topic}))
	default:
		ev.Quote = prev.Quote
		prev.ops.Merge(&ev.Quote, &p.Quote)
	}
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

// onEvent delivers a sequenced event once: a duplicate (same epoch, seq not
// above the last delivered) is dropped.
func (c *Client) onEvent(ctx context.Context, e *protocol.Event, seqs map[string]seqPos) {
	pos := seqs[e.Topic]
	if pos.epoch == e.Epoch && e.Seq <= pos.seq {
		return
	}
	seqs[e.Topic] = seqPos{epoch: e.Epoch, seq: e.Seq}
	c.emit(ctx, SequencedEvent{Topic: e.Topic, Epoch: e.Epoch, Seq: e.Seq, Time: time.Unix(0, e.Time), Data: e.Data, Received: time.Now()})
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
