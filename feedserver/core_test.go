package feedserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// readUntil reads frames from c until stop returns true or d passes.
func readUntil(t *testing.T, c *client.Conn, d time.Duration, stop func(protocol.Frame) bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	for {
		done := false
		if err := c.Read(func(f protocol.Frame) error {
			if !done && stop(f) {
				done = true
			}
			return nil
		}); err != nil {
			t.Fatalf("read: %v", err)
		}
		if done {
			return
		}
	}
}

func subscribed(srv *Server, n int) func() bool {
	return func() bool {
		cs := srv.Conns()
		for _, c := range cs {
			if c.Subscriptions == n {
				return true
			}
		}
		return false
	}
}

// TestMergeSemantics: on a trade topic a client that falls behind receives
// the skipped trades merged (volume summed, high/low extremes), never lost.
func TestMergeSemantics(t *testing.T) {
	srv, url := startServer(t, Config{})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"BTC.trades"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	var want protocol.Quote
	const n = 5000
	for i := range n {
		px := 100 + float64(i%97) - float64(i%13)
		var q protocol.Quote
		q.Put(protocol.Last, px)
		q.Put(protocol.LastSize, 1)
		q.Put(protocol.Volume, 1)
		q.Put(protocol.High, px)
		q.Put(protocol.Low, px)
		protocol.OpsTrade.Merge(&want, &q)
		if err := srv.Hub().Publish("BTC.trades", &q, int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	var got protocol.Quote
	var ops protocol.Ops
	frames := 0
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		if !ok {
			return false
		}
		frames++
		if p.Type == protocol.TypeSnapshot {
			got, ops = p.Quote, p.Ops
		} else {
			ops.Merge(&got, &p.Quote)
		}
		return p.Seq == n
	})
	if ops != protocol.OpsTrade {
		t.Errorf("snapshot ops %v, want trade", ops)
	}
	if got != want {
		t.Fatalf("merged value %+v, want %+v", got, want)
	}
	if got.V[protocol.Volume] != n {
		t.Fatalf("volume %v, want %d: trades were lost", got.V[protocol.Volume], n)
	}
	t.Logf("%d trades arrived in %d frames", n, frames)
}

// TestSequencedNeverLost: every event of a sequenced topic arrives, in order,
// exactly once, to a client that reads slowly while events pour in.
func TestSequencedNeverLost(t *testing.T) {
	srv, url := startServer(t, Config{})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.A1"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	const n = 3000
	go func() {
		for i := 1; i <= n; i++ {
			if _, _, err := srv.Hub().PublishEvent("orders.A1", []byte(fmt.Sprintf("order %d", i)), int64(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var next uint64 = 1
	readUntil(t, c, 20*time.Second, func(f protocol.Frame) bool {
		e, ok := f.(*protocol.Event)
		if !ok {
			return false
		}
		if e.Seq != next || string(e.Data) != fmt.Sprintf("order %d", next) {
			t.Fatalf("got event %d %q, want %d", e.Seq, e.Data, next)
		}
		next++
		if next%500 == 0 {
			time.Sleep(20 * time.Millisecond) // a slow reader
		}
		return e.Seq == n
	})
}

// TestSequencedFallBehind: a client that falls out of a sequenced topic's
// in-memory window catches up from the journal: every event, in order, once.
// (Before the journal it was disconnected as a slow consumer.)
func TestSequencedFallBehind(t *testing.T) {
	// This raw client sends nothing while it reads: an idle timeout far
	// past the test's own deadline keeps a loaded machine (race detector,
	// 12 MiB published) from tripping CodeIdle instead of what is tested.
	srv, url := startServer(t, Config{Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 64}}, IdleTimeout: time.Minute})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.A1"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	// 400 events of 30 KiB: far more than the socket buffers hold while the
	// client is not reading, so the writer blocks and the window moves on.
	payload := bytes.Repeat([]byte{'x'}, 30<<10)
	for i := 1; i <= 400; i++ {
		if _, _, err := srv.Hub().PublishEvent("orders.A1", payload, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var next uint64 = 1
	readUntil(t, c, 20*time.Second, func(f protocol.Frame) bool {
		switch f := f.(type) {
		case *protocol.Event:
			if f.Seq != next || f.Flags != 0 {
				t.Fatalf("event %d (flags %d) after %d", f.Seq, f.Flags, next-1)
			}
			next++
		case *protocol.Error:
			t.Fatalf("error after event %d: %v", next-1, f)
		}
		return next > 400
	})
}

// TestDeltasRebuild is a property test: random publishes of random field
// subsets, a client reading at random speeds; every value the client library
// rebuilds equals the server's value at that sequence number.
func TestDeltasRebuild(t *testing.T) {
	srv, url := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := []string{"P1", "P2", "P3"}
	cl := client.New(client.Options{URLs: []string{url}, Topics: topics, Logger: quiet(), EventBuffer: 1})
	go func() { _ = cl.Run(ctx) }()
	waitFor(t, 5*time.Second, "subscriptions", subscribed(srv, len(topics)))

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	truth := map[string]map[uint64]protocol.Quote{}
	var mu sync.Mutex
	go func() {
		for i := range n {
			topic := topics[rng.IntN(len(topics))]
			var q protocol.Quote
			for f := protocol.Field(0); f < protocol.NumFields; f++ {
				if rng.IntN(3) == 0 {
					q.Put(f, float64(rng.IntN(50)))
				}
			}
			mu.Lock()
			if err := srv.Hub().Publish(topic, &q, int64(i), 0); err != nil {
				t.Error(err)
			}
			snap, _ := srv.Hub().Latest(topic)
			if truth[topic] == nil {
				truth[topic] = map[uint64]protocol.Quote{}
			}
			truth[topic][snap.Seq] = snap.Quote
			mu.Unlock()
			if i%200 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	checked, snapshots := 0, 0
	last := map[string]uint64{}
	slow := rand.New(rand.NewPCG(3, 4)) // the reader's own: rng above is the publisher's
	for {
		var ev client.Event
		select {
		case ev = <-cl.Events():
		case <-ctx.Done():
			t.Fatalf("timed out after %d checks", checked)
		}
		pe, ok := ev.(client.PriceEvent)
		if !ok {
			continue
		}
		if slow.IntN(50) == 0 {
			time.Sleep(2 * time.Millisecond) // fall behind now and then
		}
		mu.Lock()
		want, ok := truth[pe.Topic][pe.Seq]
		total := 0
		for _, m := range truth {
			total += len(m)
		}
		mu.Unlock()
		if !ok {
			t.Fatalf("%s seq %d: the server never published it", pe.Topic, pe.Seq)
		}
		if pe.Quote != want {
			t.Fatalf("%s seq %d: rebuilt %+v, server had %+v", pe.Topic, pe.Seq, pe.Quote, want)
		}
		checked++
		if pe.Snapshot {
			snapshots++
		}
		last[pe.Topic] = pe.Seq
		done := total == n
		mu.Lock()
		for _, tp := range topics {
			if uint64(len(truth[tp])) != last[tp] {
				done = false
			}
		}
		mu.Unlock()
		if done {
			break
		}
	}
	t.Logf("checked %d values (%d snapshots after conflation)", checked, snapshots)
}

// TestSlowClientIsolation: a client that stops reading does not hold up
// another client, and its queue stays bounded by its subscriptions.
func TestSlowClientIsolation(t *testing.T) {
	srv, url := startServer(t, Config{})
	const ntopics = 50
	topics := make([]string, ntopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("T%02d", i)
	}
	stalled := dial(t, url)
	if err := stalled.Send(&protocol.Subscribe{Topics: topics}); err != nil {
		t.Fatal(err)
	}
	fast := dial(t, url)
	if err := fast.Send(&protocol.Subscribe{Topics: topics}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		cs := srv.Conns()
		return len(cs) == 2 && cs[0].Subscriptions == ntopics && cs[1].Subscriptions == ntopics
	})
	var lat []time.Duration
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := 0
		readUntil(t, fast, 30*time.Second, func(f protocol.Frame) bool {
			if p, ok := f.(*protocol.Price); ok && p.Time > 1e9 {
				mu.Lock()
				lat = append(lat, time.Since(time.Unix(0, p.Time)))
				mu.Unlock()
				if p.Quote.V[protocol.Bid] == -1 {
					seen++
				}
			}
			return seen == ntopics
		})
	}()
	var q protocol.Quote
	for round := range 400 {
		for _, tp := range topics {
			q.Put(protocol.Bid, float64(round))
			_ = srv.Hub().Publish(tp, &q, time.Now().UnixNano(), 0)
		}
		if round%50 == 0 {
			for _, st := range srv.Conns() {
				if st.Pending > ntopics {
					t.Fatalf("client %s has %d pending entries for %d topics", st.ID, st.Pending, ntopics)
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	q.Put(protocol.Bid, -1)
	for _, tp := range topics {
		_ = srv.Hub().Publish(tp, &q, time.Now().UnixNano(), 0)
	}
	<-done
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	t.Logf("fast client: %d values, p99 latency %v", len(lat), p99)
	if p99 > 250*time.Millisecond {
		t.Errorf("fast client p99 latency %v with a stalled neighbour", p99)
	}
	for _, st := range srv.Conns() {
		if st.QueueBytes > ntopics*slotBytes+64<<10 {
			t.Errorf("client %s queue %d bytes: unbounded", st.ID, st.QueueBytes)
		}
	}
}

// TestStaleStatus: a topic whose source goes silent beyond its expected
// interval is marked stale to subscribers, and fresh again on its next value.
func TestStaleStatus(t *testing.T) {
	srv, url := startServer(t, Config{StaleAfter: 150 * time.Millisecond})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"EURUSD"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	start := time.Now()
	_ = srv.Hub().Publish("EURUSD", &q, 1, 0)
	var stale *protocol.Price
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		if p, ok := f.(*protocol.Price); ok && p.Flags&protocol.FlagStale != 0 {
			stale = p
			return true
		}
		return false
	})
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("stale after %v, before the threshold", el)
	}
	if stale.Quote.Set != 0 || stale.Time != 1 {
		t.Errorf("stale mark should carry no new value and keep the value's time: %+v", stale)
	}
	q.Put(protocol.Bid, 1.2)
	_ = srv.Hub().Publish("EURUSD", &q, 2, 0)
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		return ok && p.Flags&protocol.FlagStale == 0 && p.Quote.V[protocol.Bid] == 1.2
	})
	// Pausing ingest silences the source: stale again, and REST says so.
	base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	resp, err := http.Post(base+"/sources/pause/EURUSD", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := srv.Hub().Publish("EURUSD", &q, 3, 0); err != ErrPaused {
		t.Fatalf("publish while paused: %v", err)
	}
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		return ok && p.Flags&protocol.FlagStale != 0
	})
}

// TestRateLimit: a client asking for at most 10 updates/s per topic gets
// about that, and always the latest value.
func TestRateLimit(t *testing.T) {
	srv, url := startServer(t, Config{})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"X"}, MinIntervalMs: 100}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	stop := make(chan struct{})
	go func() {
		var q protocol.Quote
		for i := 0; ; i++ {
			select {
			case <-stop:
				q.Put(protocol.Bid, -1)
				_ = srv.Hub().Publish("X", &q, time.Now().UnixNano(), 0)
				return
			default:
			}
			q.Put(protocol.Bid, float64(i))
			_ = srv.Hub().Publish("X", &q, time.Now().UnixNano(), 0)
			time.Sleep(500 * time.Microsecond)
		}
	}()
	time.AfterFunc(time.Second, func() { close(stop) })
	n := 0
	start := time.Now()
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		if !ok {
			return false
		}
		n++
		return p.Quote.V[protocol.Bid] == -1
	})
	el := time.Since(start)
	if max := int(el/(100*time.Millisecond)) + 2; n > max {
		t.Fatalf("%d updates in %v at 10/s: want at most %d", n, el, max)
	}
	if n < 5 {
		t.Fatalf("only %d updates in %v", n, el)
	}
}

// TestBandwidthBudget: under a byte budget the server conflates prices to
// stay within it, and sequenced events still all arrive.
func TestBandwidthBudget(t *testing.T) {
	srv, url := startServer(t, Config{})
	c := dial(t, url)
	const budget = 20000 // bytes/s
	topics := []string{"A", "B", "C", "D", "orders.X"}
	if err := c.Send(&protocol.Limits{MaxBytesPerSec: budget}, &protocol.Subscribe{Topics: topics}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscriptions", subscribed(srv, len(topics)))
	const dur = 1500 * time.Millisecond
	go func() {
		var q protocol.Quote
		end := time.Now().Add(dur)
		for i := 0; time.Now().Before(end); i++ {
			for f := protocol.Field(0); f < protocol.NumFields; f++ {
				q.Put(f, float64(i)+float64(f))
			}
			for _, tp := range topics[:4] {
				_ = srv.Hub().Publish(tp, &q, time.Now().UnixNano(), 0)
			}
			if i%10 == 0 {
				_, _, _ = srv.Hub().PublishEvent("orders.X", []byte("e"), int64(i))
			}
			time.Sleep(200 * time.Microsecond)
		}
		_, _, _ = srv.Hub().PublishEvent("orders.X", []byte("last"), 0)
	}()
	start := time.Now()
	var next uint64 = 1
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		if e, ok := f.(*protocol.Event); ok {
			if e.Seq != next {
				t.Fatalf("event %d, want %d", e.Seq, next)
			}
			next++
			return string(e.Data) == "last"
		}
		return false
	})
	el := time.Since(start)
	st := srv.Conns()[0]
	limit := float64(budget)*el.Seconds() + budget/10 + 4096 + 2000
	t.Logf("sent %d bytes in %v under a %d B/s budget (conflated %d)", st.SentBytes, el, budget, st.Conflated)
	if float64(st.SentBytes) > limit {
		t.Fatalf("sent %d bytes in %v: over budget (%0.f)", st.SentBytes, el, limit)
	}
	if st.Conflated == 0 {
		t.Fatal("nothing was conflated: the budget was not exercised")
	}
}

// TestPublishAPI: REST and publisher WebSocket publishing, and per-client
// stats including the client's own telemetry.
func TestPublishAPI(t *testing.T) {
	srv, url := startServer(t, Config{})
	base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	post := func(topic, body string) int {
		resp, err := http.Post(base+"/publish/"+topic, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("EURUSD", `{"fields": {"bid": 1.25, "ask": 1.26}}`); code != http.StatusNoContent {
		t.Fatalf("REST publish: HTTP %d", code)
	}
	if p, ok := srv.Hub().Latest("EURUSD"); !ok || p.Quote.V[protocol.Ask] != 1.26 {
		t.Fatalf("snapshot after REST publish: %+v", p)
	}
	if code := post("alerts", `{"event": {"text": "hello"}}`); code != http.StatusOK {
		t.Fatalf("REST event publish: HTTP %d", code)
	}
	for body, why := range map[string]string{
		`{"fields": {"nope": 1}}`: "unknown field",
		`{"fields": {}}`:          "no fields",
		`not json`:                "bad JSON",
		`{"event": 1}`:            "event to a conflated topic",
	} {
		if code := post("EURUSD", body); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", why, code)
		}
	}

	pub := dial(t, url)
	var q protocol.Quote
	q.Put(protocol.Bid, 2.5)
	if err := pub.Send(&protocol.Price{Type: protocol.TypePublish, Topic: "GBPUSD", Time: 7, Quote: q},
		&protocol.Event{Type: protocol.TypePublishEvent, Topic: "GBPUSD", Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	var refused *protocol.Error
	readUntil(t, pub, 5*time.Second, func(f protocol.Frame) bool {
		refused, _ = f.(*protocol.Error)
		return refused != nil
	})
	if refused.Code != protocol.CodeBadPublish || refused.Topic != "GBPUSD" {
		t.Fatalf("event to a conflated topic: got %v", refused)
	}
	if p, ok := srv.Hub().Latest("GBPUSD"); !ok || p.Quote.V[protocol.Bid] != 2.5 || p.Time != 7 {
		t.Fatalf("snapshot after WebSocket publish: %+v", p)
	}

	// Telemetry reported by the client library shows in /clients.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := client.New(client.Options{URLs: []string{url}, Name: "telemetry", Topics: []string{"EURUSD"}, TelemetryEvery: 50 * time.Millisecond, Logger: quiet()})
	go func() { _ = cl.Run(ctx) }()
	go func() {
		for range cl.Events() {
		}
	}()
	waitFor(t, 5*time.Second, "telemetry in /clients", func() bool {
		resp, err := http.Get(base + "/clients")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var cs []ConnStats
		if json.NewDecoder(resp.Body).Decode(&cs) != nil {
			return false
		}
		for _, c := range cs {
			if c.ClientReceived > 0 {
				return true
			}
		}
		return false
	})
}
