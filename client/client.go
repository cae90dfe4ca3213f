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
	return conn.Send(&protocol.Subscribe{Topics: topics})
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
		rebuilt = make(map[string]*PriceEvent) // last full value per topic
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
func (c *Client) session(ctx context.Context, url, lastURL string, rebuilt map[string]*PriceEvent) error {
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
	if len(topics) > 0 {
		if err := conn.Send(&protocol.Subscribe{Topics: topics}); err != nil {
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
	go c.pinger(sctx, conn, hb)
	go func() {
		<-sctx.Done()
		_ = conn.ws.Close() // unblock Read
	}()

	// Topics we had values for before this connection: their first snapshot
	// on this one is a gap recovery.
	fresh := make(map[string]bool, len(rebuilt))
	for {
		// Silence for three heartbeats means the link is dead, whatever TCP thinks.
		_ = conn.SetReadDeadline(time.Now().Add(3 * hb))
		err := conn.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Price:
				return c.onPrice(ctx, conn, f, rebuilt, fresh)
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

func (c *Client) onPrice(ctx context.Context, conn *Conn, p *protocol.Price, rebuilt map[string]*PriceEvent, fresh map[string]bool) error {
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
	case prev == nil || prev.Seq+1 != p.Seq || !fresh[p.Topic]:
		// A delta we cannot apply: ask again for the full value.
		c.log.Warn("out-of-sequence update; resubscribing", "topic", p.Topic, "seq", p.Seq)
		return conn.Send(&protocol.Subscribe{Unsubscribe: true, Topics: []string{p.Topic}}, &protocol.Subscribe{Topics: []string{p.Topic}})
	default:
		ev.Quote = prev.Quote
		ev.Quote.Apply(&p.Quote)
	}
	fresh[p.Topic] = true
	if prev == nil {
		prev = &PriceEvent{}
		rebuilt[p.Topic] = prev
	}
	*prev = ev
	c.emit(ctx, ev)
	return nil
}

func (c *Client) pinger(ctx context.Context, conn *Conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := conn.Send(&protocol.Ping{Nonce: int64(time.Since(c.start))}); err != nil {
				return
			}
		}
	}
}
