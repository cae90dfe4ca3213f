package cascade

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/protocol"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve runs a feed server on 127.0.0.1 until stop or the test's end.
func serve(t *testing.T, cfg feedserver.Config) (srv *feedserver.Server, url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet()
	srv = feedserver.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv, "ws://" + ln.Addr().String() + "/ws", stop
}

// activeConfig authenticates with an API key of no role: the cascade's
// least-privilege credential (market data only).
func activeConfig(t *testing.T) (feedserver.Config, string) {
	t.Helper()
	key, entry, err := auth.NewAPIKeyEntry("edge-cascade", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{APIKeys: []auth.APIKey{entry}})
	if err != nil {
		t.Fatal(err)
	}
	return feedserver.Config{Authenticator: v, StaleAfter: time.Hour, DrainTimeout: time.Second}, key
}

func publish(t *testing.T, h *feedserver.Hub, topic string, at time.Time, f protocol.Field, v float64) {
	t.Helper()
	var q protocol.Quote
	q.Put(f, v)
	if err := h.Publish(topic, &q, at.UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
}

// watcher collects an edge client's latest price per topic.
type watcher struct {
	mu     sync.Mutex
	latest map[string]client.PriceEvent
}

func watch(t *testing.T, url string, topics ...string) *watcher {
	t.Helper()
	return watchRate(t, url, 0, topics...)
}

// watchRate is watch by a client asking for at most one update per topic
// every minIntervalMs (a rate-limited client: pulled on the wheel's tick).
func watchRate(t *testing.T, url string, minIntervalMs int, topics ...string) *watcher {
	t.Helper()
	cl := client.New(client.Options{URLs: []string{url}, Topics: topics, Logger: quiet(), TelemetryEvery: -1,
		MinInterval: time.Duration(minIntervalMs) * time.Millisecond,
		MinBackoff:  5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{latest: make(map[string]client.PriceEvent)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = cl.Run(ctx) }()
	go func() {
		defer wg.Done()
		for ev := range cl.Events() {
			if p, ok := ev.(client.PriceEvent); ok {
				w.mu.Lock()
				w.latest[p.Topic] = p
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

// waitPrice waits until topic's latest price at the edge client satisfies ok.
func (w *watcher) waitPrice(t *testing.T, what, topic string, ok func(client.PriceEvent) bool) client.PriceEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		p, have := w.latest[topic]
		w.mu.Unlock()
		if have && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (latest %s: %+v)", what, topic, p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func value(f protocol.Field, want float64) func(client.PriceEvent) bool {
	return func(p client.PriceEvent) bool {
		v, ok := p.Quote.Get(f)
		return ok && v == want && !p.Stale()
	}
}

// TestCascade: an edge cascades the active node's prices to its own
// clients with their original times, follows a topic created later, keeps
// merge topics' sums equal to the active node's, marks every cascaded
// price stale when the active node goes, and follows a new active node at
// another address when told.
func TestCascade(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds: servers stop and start")
	}
	cfg, key := activeConfig(t)
	active, activeURL, stopActive := serve(t, cfg)
	t0 := time.Unix(1_750_000_000, 0)
	publish(t, active.Hub(), "EURUSD", t0, protocol.Bid, 1.1)
	publish(t, active.Hub(), "X.trades", t0, protocol.Volume, 10)

	edge, edgeURL, _ := serve(t, feedserver.Config{StaleAfter: time.Hour})
	c, err := New(Config{Hub: edge.Hub(), Upstream: activeURL, Token: key, Refresh: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = c.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	w := watch(t, edgeURL, "EURUSD", "X.trades", "GBPUSD")
	p := w.waitPrice(t, "EURUSD 1.1", "EURUSD", value(protocol.Bid, 1.1))
	if !p.Time.Equal(t0) {
		t.Fatalf("EURUSD at the edge has time %v, want the source's %v", p.Time, t0)
	}
	publish(t, active.Hub(), "X.trades", t0.Add(time.Second), protocol.Volume, 5)
	w.waitPrice(t, "X.trades volume 15", "X.trades", value(protocol.Volume, 15))
	// A topic the active node makes later.
	publish(t, active.Hub(), "GBPUSD", t0, protocol.Bid, 1.3)
	w.waitPrice(t, "GBPUSD 1.3", "GBPUSD", value(protocol.Bid, 1.3))
	if st := c.Stats(); !st.Connected || st.Topics != 3 {
		t.Fatalf("stats %+v: want connected, 3 topics", st)
	}

	// The active node goes: the edge's prices go stale, not silent.
	stopActive()
	for _, topic := range []string{"EURUSD", "X.trades", "GBPUSD"} {
		w.waitPrice(t, topic+" stale", topic, func(p client.PriceEvent) bool { return p.Stale() })
	}
	if _, ok := edge.Hub().Latest("EURUSD"); !ok {
		t.Fatal("edge lost EURUSD's value")
	}

	// A new active node, elsewhere, with its own values: the cascade follows
	// when told, and the edge's prices are fresh again.
	cfg2 := cfg
	active2, active2URL, _ := serve(t, cfg2)
	t1 := t0.Add(time.Minute)
	publish(t, active2.Hub(), "EURUSD", t1, protocol.Bid, 1.2)
	publish(t, active2.Hub(), "X.trades", t1, protocol.Volume, 40)
	if err := c.SetUpstream(strings.TrimSuffix(strings.TrimPrefix(active2URL, "ws://"), "/ws")); err != nil { // host:port, as ha.LeaderInfo.FeedAddr
		t.Fatal(err)
	}
	p = w.waitPrice(t, "EURUSD 1.2 from the new active node", "EURUSD", value(protocol.Bid, 1.2))
	if !p.Time.Equal(t1) {
		t.Fatalf("EURUSD from the new active node has time %v, want %v", p.Time, t1)
	}
	w.waitPrice(t, "X.trades volume 40 from the new active node", "X.trades", value(protocol.Volume, 40))
}

// TestCascadeLeastPrivilege: the cascade's credential reads prices only:
// the active node refuses it an order topic and a publish.
func TestCascadeLeastPrivilege(t *testing.T) {
	cfg, key := activeConfig(t)
	_, url, _ := serve(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, url, protocol.Hello{Client: "cascade", Token: key})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var q protocol.Quote
	q.Put(protocol.Bid, 1)
	if err := conn.Send(&protocol.Subscribe{Topics: []string{"orders.ACC1"}}, &protocol.Price{Type: protocol.TypePublish, Topic: "EURUSD", Quote: q}); err != nil {
		t.Fatal(err)
	}
	refused := map[string]protocol.ErrorCode{}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(refused) < 2 {
		if err := conn.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Error); ok {
				refused[e.Topic] = e.Code
			}
			return nil
		}); err != nil {
			t.Fatalf("read: %v (refusals so far %v)", err, refused)
		}
	}
	if refused["orders.ACC1"] != protocol.CodeNotEntitled || refused["EURUSD"] != protocol.CodeNotEntitled {
		t.Fatalf("refusals %v: want not entitled (1007) for orders.ACC1 and the publish to EURUSD", refused)
	}
}

func TestTopicsURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:8080/ws":      "http://127.0.0.1:8080/topics",
		"wss://feed.example:443/ws":   "https://feed.example:443/topics",
		"ws://127.0.0.1:8080/edge/ws": "http://127.0.0.1:8080/edge/topics",
	} {
		if got, err := topicsURL(in); err != nil || got != want {
			t.Errorf("topicsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://127.0.0.1/ws", "ws:///ws", "::"} {
		if _, err := topicsURL(bad); err == nil {
			t.Errorf("topicsURL(%q): no error", bad)
		}
	}
	for in, want := range map[string]string{"127.0.0.1:8080": "ws://127.0.0.1:8080/ws", "": "", "wss://a:1/ws": "wss://a:1/ws"} {
		if got, err := UpstreamURL(in); err != nil || got != want {
			t.Errorf("UpstreamURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestCascadeKeepsNewerValue: after a failover, the new active node's
// snapshot of a topic is older than the value the edge got from the old
// one (in flight when it died): the edge does not go back to it, keeps its
// value (stale) and takes the new active node's next, newer value.
func TestCascadeKeepsNewerValue(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds: servers stop and start")
	}
	cfg, key := activeConfig(t)
	active, activeURL, stopActive := serve(t, cfg)
	t0 := time.Unix(1_750_000_000, 0)
	publish(t, active.Hub(), "EURUSD", t0.Add(2*time.Millisecond), protocol.Bid, 1.2)
	publish(t, active.Hub(), "GBPUSD", t0, protocol.Bid, 1.3)

	edge, edgeURL, _ := serve(t, feedserver.Config{StaleAfter: time.Hour})
	c, err := New(Config{Hub: edge.Hub(), Upstream: activeURL, Token: key, Refresh: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = c.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	w := watch(t, edgeURL, "EURUSD", "GBPUSD")
	w.waitPrice(t, "EURUSD 1.2", "EURUSD", value(protocol.Bid, 1.2))
	w.waitPrice(t, "GBPUSD 1.3", "GBPUSD", value(protocol.Bid, 1.3))
	stopActive()
	w.waitPrice(t, "EURUSD stale", "EURUSD", func(p client.PriceEvent) bool { return p.Stale() })

	// The new active node never got EURUSD's last value: it holds an older
	// one. GBPUSD it holds newer.
	active2, active2URL, _ := serve(t, cfg)
	publish(t, active2.Hub(), "EURUSD", t0.Add(time.Millisecond), protocol.Bid, 1.1)
	publish(t, active2.Hub(), "GBPUSD", t0.Add(time.Second), protocol.Bid, 1.4)
	if err := c.SetUpstream(active2URL); err != nil {
		t.Fatal(err)
	}
	w.waitPrice(t, "GBPUSD 1.4 from the new active node", "GBPUSD", value(protocol.Bid, 1.4))
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().OlderSkipped == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the older EURUSD snapshot was not skipped: stats %+v", c.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p, _ := edge.Hub().Latest("EURUSD"); p.Time != t0.Add(2*time.Millisecond).UnixNano() || p.Flags&protocol.FlagStale == 0 {
		t.Fatalf("edge's EURUSD %+v: want the newer value, still stale", p)
	}
	publish(t, active2.Hub(), "EURUSD", t0.Add(time.Second), protocol.Bid, 1.5)
	p := w.waitPrice(t, "EURUSD 1.5 from the new active node", "EURUSD", value(protocol.Bid, 1.5))
	if !p.Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("EURUSD time %v", p.Time)
	}
}
