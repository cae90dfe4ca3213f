// Package cascade feeds a standby edge's price topics from the active node:
// a client.Client of the active node's feed (tickwire's own protocol),
// subscribed to its price (conflated) topics, republishing every value into
// the local hub with the source's time and flags. The edge serves them to
// its own clients like any other source's, so a deployment grows past one
// machine: more edges, each fed once by the active node.
//
// Semantics are gap, not precise (docs/HA.md, "Standbys as edges"): the
// cascade is a client of the active node like any other, conflated by it
// when it falls behind, so an edge's client sees the latest value, never
// necessarily every one. Sequenced topics are not cascaded: an edge reads
// them from its replicated journal (feedserver.Server.FollowJournal).
//
// When the link to the active node drops, or the upstream changes, every
// cascaded topic is marked stale at once (feedserver.Hub.MarkStale) and
// stays so until the next value from an upstream: an edge never shows a
// price fresh that it cannot vouch for.
package cascade

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/protocol"
)

// Config configures a Cascade. Zero fields take the defaults in their
// comments.
type Config struct {
	// Hub is the local hub the cascaded values are published into. Required.
	Hub *feedserver.Hub
	// Upstream is the active node's feed: its WebSocket URL
	// ("ws://host:port/ws") or host:port; "" until one is known (SetUpstream).
	Upstream string
	// Token is the cascade's credential on the active node (Hello and
	// GET /topics). Least privilege: an API key with no role, whose topic
	// patterns cover the price topics (`tickwire token apikey --name
	// edge-cascade`): it may read market data and GET /topics, nothing else
	// (no order topic, no publish, no request). Empty in open mode.
	Token string
	// TLS configures wss:// and https:// to the active node (nil: system roots).
	TLS *tls.Config
	// Refresh is how often the active node's topic list is read, to follow
	// new topics. Default 1s.
	Refresh time.Duration
	// MaxTopics bounds the topics cascaded (what the active node lists is
	// outside input). Default 10,000. The active node's
	// feedserver.Config.MaxTopicsPerClient (default 1,024) must allow as many.
	MaxTopics int
	// Name is the client's name in the active node's logs. Default
	// "tickwire-cascade".
	Name string
	// MinBackoff and MaxBackoff bound the reconnect delay. Defaults 50ms and 1s:
	// an edge wants its prices back soon after a failover.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the cascade's logs. Default slog.Default().
	Logger *slog.Logger
}

// maxTopicsBody bounds a GET /topics answer.
const maxTopicsBody = 32 << 20

// Cascade is the price link of a standby edge to the active node.
type Cascade struct {
	cfg  Config
	log  *slog.Logger
	http *http.Client

	changed chan struct{} // SetUpstream: buffer of one

	mu       sync.Mutex
	upstream string
	topics   map[string]bool // cascaded topics: subscribed upstream, published here
	order    []string        // the same, in order learnt

	connected   atomic.Bool
	republished atomic.Uint64
	marked      atomic.Uint64
	connects    atomic.Uint64
	// olderSkipped counts snapshots older than the edge's value, not
	// republished (after a failover).
	olderSkipped atomic.Uint64
}

// Stats count what a Cascade did.
type Stats struct {
	Connected   bool   // the link to the active node is up
	Upstream    string // the active node's URL, "" when none
	Topics      int    // topics cascaded
	Connects    uint64 // links established
	Republished uint64 // values published into the local hub
	MarkedStale uint64 // topics marked stale when a link dropped
	// OlderSkipped counts snapshots older than the value the edge held,
	// not republished (a value in flight when the old active node died).
	OlderSkipped uint64
}

// New returns a Cascade; call Run to start it.
func New(cfg Config) (*Cascade, error) {
	if cfg.Hub == nil {
		return nil, errors.New("cascade: Config.Hub is nil")
	}
	up, err := UpstreamURL(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	cfg.Upstream = up
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	if cfg.MaxTopics <= 0 {
		cfg.MaxTopics = 10_000
	}
	if cfg.Name == "" {
		cfg.Name = "tickwire-cascade"
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Cascade{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "cascade"),
		http:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg.TLS}},
		changed:  make(chan struct{}, 1),
		upstream: cfg.Upstream,
		topics:   make(map[string]bool),
	}, nil
}

// SetUpstream points the cascade at another active node: its feed's
// WebSocket URL or host:port (UpstreamURL); "" for none (a failover under
// way, or this node became the active one). The link to the old one ends, its topics are marked
// stale, and the new one's values replace them. The HA driver calls it on
// every role change.
func (c *Cascade) SetUpstream(addr string) error {
	rawURL, err := UpstreamURL(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	same := c.upstream == rawURL
	c.upstream = rawURL
	c.mu.Unlock()
	if !same {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
	return nil
}

// Stats returns the cascade's counters.
func (c *Cascade) Stats() Stats {
	c.mu.Lock()
	up, n := c.upstream, len(c.order)
	c.mu.Unlock()
	return Stats{Connected: c.connected.Load(), Upstream: up, Topics: n, Connects: c.connects.Load(),
		Republished: c.republished.Load(), MarkedStale: c.marked.Load(), OlderSkipped: c.olderSkipped.Load()}
}

// Run cascades from the current upstream, and from each new one, until ctx
// is done; then it marks the cascaded topics stale and returns ctx's error.
func (c *Cascade) Run(ctx context.Context) error {
	for {
		c.mu.Lock()
		up := c.upstream
		c.mu.Unlock()
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if up != "" {
				c.link(lctx, up)
			}
		}()
		select {
		case <-ctx.Done():
		case <-c.changed:
		}
		cancel()
		<-done
		c.linkDown(up)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Info("upstream changed", "from", up)
	}
}

// link runs one client of upstream until ctx ends.
func (c *Cascade) link(ctx context.Context, upstream string) {
	c.mu.Lock()
	topics := append([]string(nil), c.order...)
	c.mu.Unlock()
	cl := client.New(client.Options{
		URLs: []string{upstream}, Name: c.cfg.Name, Token: c.cfg.Token, TLS: c.cfg.TLS, Topics: topics,
		Transport: client.TransportWebSocket, MinBackoff: c.cfg.MinBackoff, MaxBackoff: c.cfg.MaxBackoff,
		TelemetryEvery: -1, Logger: c.cfg.Logger,
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = cl.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		c.discover(ctx, upstream, cl)
	}()
	for ev := range cl.Events() {
		switch ev := ev.(type) {
		case client.PriceEvent:
			c.republish(&ev)
		case client.StateEvent:
			switch ev.State {
			case client.Connected:
				c.connected.Store(true)
				c.connects.Add(1)
				c.log.Info("cascading from the active node", "url", upstream, "server", ev.Server)
			case client.Reconnecting:
				c.log.Warn("cascade link down", "url", upstream, "err", ev.Err, "auth_refused", ev.AuthRefused)
				c.linkDown(upstream)
			}
		case client.ErrorEvent:
			c.log.Warn("active node refused", "url", upstream, "code", ev.Err.Code, "reason", ev.Err.Reason, "topic", ev.Err.Topic)
		}
	}
	wg.Wait()
}

// linkDown marks every cascaded topic stale: the values they hold can no
// longer be vouched for. The next value from an upstream clears it.
func (c *Cascade) linkDown(upstream string) {
	c.connected.Store(false)
	c.mu.Lock()
	names := append([]string(nil), c.order...)
	c.mu.Unlock()
	n := 0
	for _, name := range names {
		if c.cfg.Hub.MarkStale(name) {
			n++
		}
	}
	c.marked.Add(uint64(n))
	if n > 0 {
		c.log.Info("cascaded prices marked stale", "topics", n, "upstream", upstream)
	}
}

// republish publishes a value of the active node into the local hub, with
// its time and flags (FlagGap is the active node's word to this client, not
// a property of the value). The event's quote is the active node's merged
// value (the client rebuilds it from deltas and snapshots), so it goes in
// as one (Hub.PublishMerged): the edge's own merge ops and behaviours do
// not run on it again, and the edge's value equals the active node's.
func (c *Cascade) republish(ev *client.PriceEvent) {
	h := c.cfg.Hub
	if ev.Snapshot && h.Kind(ev.Topic) != feedserver.ConflatedMerge {
		// After a failover the new active node's value may be older than
		// the one this edge got from the old one just before it died (in
		// flight to one, not the other): never go back to it. Only a
		// snapshot (the first value on a link) is compared, so a source
		// whose times go back is still followed.
		if cur, ok := h.Latest(ev.Topic); ok && cur.Time > ev.Time.UnixNano() {
			c.olderSkipped.Add(1)
			return
		}
	}
	if err := h.PublishMerged(ev.Topic, &ev.Quote, ev.Time.UnixNano(), ev.Flags&^protocol.FlagGap); err != nil {
		c.log.Debug("cascaded value refused", "topic", ev.Topic, "err", err)
		return
	}
	c.republished.Add(1)
}

// discover reads the active node's topic list now and every Refresh, and
// subscribes to the price topics not yet cascaded.
func (c *Cascade) discover(ctx context.Context, upstream string, cl *client.Client) {
	u, err := topicsURL(upstream)
	if err != nil {
		c.log.Error("topic list", "err", err)
		return
	}
	t := time.NewTicker(c.cfg.Refresh)
	defer t.Stop()
	warned := false
	for {
		names, err := c.listTopics(ctx, u)
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Debug("topic list", "url", u, "err", err) // the link's own state says more
		case err == nil:
			if fresh := c.learn(names); len(fresh) > 0 {
				if err := cl.Subscribe(fresh...); err != nil {
					c.log.Debug("subscribe", "err", err) // sent on the next connect
				}
			}
		}
		c.mu.Lock()
		full := len(c.order) >= c.cfg.MaxTopics
		c.mu.Unlock()
		if full && !warned {
			c.log.Warn("cascade topic limit reached: newer topics are not cascaded", "max", c.cfg.MaxTopics)
			warned = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// learn adds the price topics among names that are new, up to MaxTopics,
// and returns them.
func (c *Cascade) learn(names []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh []string
	for _, name := range names {
		if c.topics[name] || len(c.order) >= c.cfg.MaxTopics || protocol.ValidTopic(name) != nil ||
			strings.HasPrefix(name, auth.RequestTopicPrefix) || c.cfg.Hub.Kind(name) == feedserver.Sequenced {
			continue
		}
		c.topics[name] = true
		c.order = append(c.order, name)
		fresh = append(fresh, name)
	}
	return fresh
}

// topicInfo is what the cascade reads of GET /topics.
type topicInfo struct {
	Name string
	Kind string
}

// listTopics reads the active node's price topics (GET /topics).
func (c *Cascade) listTopics(ctx context.Context, u string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	var infos []topicInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTopicsBody)).Decode(&infos); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	names := make([]string, 0, len(infos))
	for _, ti := range infos {
		if ti.Kind != feedserver.Sequenced.String() {
			names = append(names, ti.Name)
		}
	}
	return names, nil
}

// UpstreamURL turns an active node's feed address into its WebSocket URL:
// a bare "host:port" (ha.LeaderInfo.FeedAddr) becomes "ws://host:port/ws";
// a ws:// or wss:// URL is kept. "" stays "" (no active node).
func UpstreamURL(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	if !strings.Contains(addr, "://") {
		addr = "ws://" + addr + "/ws"
	}
	if _, err := topicsURL(addr); err != nil {
		return "", err
	}
	return addr, nil
}

// topicsURL is the REST topic list of the feed at WebSocket URL ws.
func topicsURL(ws string) (string, error) {
	u, err := url.Parse(ws)
	if err != nil {
		return "", fmt.Errorf("cascade: upstream %q: %w", ws, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("cascade: upstream %q: want a ws:// or wss:// URL, or host:port", ws)
	}
	if u.Host == "" {
		return "", fmt.Errorf("cascade: upstream %q has no host", ws)
	}
	u.Path = strings.TrimSuffix(u.Path, "/ws") + "/topics"
	u.RawQuery = ""
	return u.String(), nil
}
