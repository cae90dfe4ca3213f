package feedserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/auth"
	"tickwire/protocol"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSequencedTopicsCostLittle: 1,000 one-byte events, each on a new
// sequenced topic, cost the hub (topics, rings, in-memory journal) a few
// hundred bytes apiece, not a window's worth of ring each.
func TestSequencedTopicsCostLittle(t *testing.T) {
	h := NewHub(DefaultTopicRules(), 0)
	before := heapInUse()
	for i := range 1000 {
		if _, _, err := h.PublishEvent(fmt.Sprintf("orders.A%d", i), []byte{1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(heapInUse()) - int64(before)
	runtime.KeepAlive(h)
	if h.Stats().Topics != 1000 {
		t.Fatalf("%d topics, want 1000", h.Stats().Topics)
	}
	const budget = 2 << 20
	t.Logf("1,000 sequenced topics of one event: %d KiB", grown>>10)
	if grown > budget {
		t.Fatalf("1,000 sequenced topics of one event cost %d KiB of heap, want under %d KiB", grown>>10, budget>>10)
	}
}

// TestRingBounds: a sequenced topic's cache grows with its events, doubling
// from a few up to its Window, and holds at most WindowBytes of frames; a
// subscriber from the start still gets every event, in order, the older ones
// from the journal.
func TestRingBounds(t *testing.T) {
	const (
		window      = 20
		windowBytes = 64 << 10
		big         = 16 << 10
	)
	srv, url := startServer(t, Config{Topics: []TopicRule{{Pattern: "seq.*", Kind: Sequenced, Window: window, WindowBytes: windowBytes}}})
	h := srv.Hub()
	ring := func(name string) (size, n, bytes int) {
		s := h.shard(name)
		s.mu.RLock()
		defer s.mu.RUnlock()
		r := &s.topics[name].events
		return len(r.buf), int(r.head + 1 - r.lo), r.bytes
	}
	for i, want := range map[int]int{1: ringMin, ringMin: ringMin, ringMin + 1: 2 * ringMin, 2*ringMin + 1: window, 3 * window: window} {
		name := fmt.Sprintf("seq.small%d", i)
		for range i {
			if _, _, err := h.PublishEvent(name, []byte{1}, 0); err != nil {
				t.Fatal(err)
			}
		}
		if size, n, _ := ring(name); size != want || n != min(i, window) {
			t.Errorf("after %d events: a ring of %d holding %d, want %d holding %d", i, size, n, want, min(i, window))
		}
	}

	const name, events = "seq.big", 30
	for i := range events {
		data := make([]byte, big)
		data[0] = byte(i)
		if _, _, err := h.PublishEvent(name, data, 0); err != nil {
			t.Fatal(err)
		}
		if _, n, bytes := ring(name); bytes > windowBytes || n < 1 {
			t.Fatalf("after %d events of %d KiB: the ring holds %d events, %d KiB; want at most %d KiB", i+1, big>>10, n, bytes>>10, windowBytes>>10)
		}
	}
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{name}}); err != nil {
		t.Fatal(err)
	}
	var next uint64 = 1
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		if e, ok := f.(*protocol.Event); ok {
			if e.Seq != next || e.Flags != 0 || int(e.Data[0]) != int(next-1) {
				t.Fatalf("event %d (flags %d, payload %d), want %d", e.Seq, e.Flags, e.Data[0], next)
			}
			next++
		}
		return next > events
	})
}

// quoteFrame is a client's publish of a bid to topic.
func quoteFrame(topic string, bid float64) *protocol.Price {
	p := &protocol.Price{Type: protocol.TypePublish, Topic: topic}
	p.Quote.Put(protocol.Bid, bid)
	return p
}

// restPublish posts body to /publish/topic with credential and returns the
// status and body.
func restPublish(t *testing.T, base, topic, credential, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/publish/"+topic, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTopicLimits: a publisher that made MaxTopicsPerPublisher topics is
// refused a new one (Error 1011 naming it; over REST 429), conflated or
// sequenced (a refused event never reaches the journal), and keeps
// publishing to its topics, while another publisher goes on making topics
// up to MaxHubTopics; the server's own sources are never refused; a
// subscriber is not disturbed.
func TestTopicLimits(t *testing.T) {
	r := newAuthRig(t, Config{MaxTopicsPerPublisher: 3, MaxHubTopics: 5}, auth.Config{})
	h := r.srv.Hub()
	mint := func(sub string) string {
		return r.token(t, auth.MintOptions{Subject: sub, Roles: []string{auth.RolePublisher}, Topics: []string{"EUR*", "alerts.*"}})
	}
	a, b := r.dialAs(t, mint("a")), r.dialAs(t, mint("b"))
	watcher := r.dialAs(t, mint("w"))
	if errs, _ := errorsUntilPong(t, watcher, &protocol.Subscribe{Topics: []string{"EURa1"}}); len(errs) > 0 {
		t.Fatal(errs)
	}

	ev := func(topic string) *protocol.Event {
		return &protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: []byte{1}}
	}
	if errs, _ := errorsUntilPong(t, a, quoteFrame("EURa1", 1), quoteFrame("EURa2", 1), ev("alerts.a1")); len(errs) > 0 {
		t.Fatalf("a's first three topics: %v", errs)
	}
	errs, _ := errorsUntilPong(t, a, quoteFrame("EURa3", 1), ev("alerts.a2"), quoteFrame("EURa1", 2), ev("alerts.a1"))
	if len(errs) != 2 {
		t.Fatalf("a's fourth and fifth topics, then its own: errors %v, want two", errs)
	}
	for i, topic := range []string{"EURa3", "alerts.a2"} {
		if e := errs[i]; e.Code != protocol.CodeTopicLimit || e.Topic != topic || !strings.Contains(e.Reason, "subject a") || !strings.Contains(e.Reason, "maximum of 3") {
			t.Errorf("a's new topic %s: %+v, want 1011 naming the publisher's limit", topic, e)
		}
	}
	if head, err := h.Journal().Head("alerts.a2"); err != nil || head.Seq != 0 {
		t.Errorf("the refused event's topic has a history: %v %v", head, err)
	}
	if head, _ := h.Journal().Head("alerts.a1"); head.Seq != 2 {
		t.Errorf("a's own sequenced topic: head %d, want 2", head.Seq)
	}
	var got *protocol.Price
	readUntil(t, watcher, 5*time.Second, func(f protocol.Frame) bool {
		if p, ok := f.(*protocol.Price); ok {
			got = p
		}
		return got != nil && got.Seq == 2
	})

	// b is not a's limit; the server's is next.
	if errs, _ := errorsUntilPong(t, b, quoteFrame("EURb1", 1)); len(errs) > 0 {
		t.Fatalf("b's first topic: %v", errs)
	}
	if code, body := restPublish(t, r.base, "EURb2", mint("b"), `{"fields": {"bid": 1}}`); code != http.StatusNoContent {
		t.Fatalf("b's second topic over REST: %d %s", code, body)
	}
	errs, _ = errorsUntilPong(t, b, quoteFrame("EURb3", 1))
	if len(errs) != 1 || errs[0].Code != protocol.CodeTopicLimit || !strings.Contains(errs[0].Reason, "the server holds its maximum of 5") {
		t.Fatalf("b's topic over the server's limit: %v, want 1011 naming it", errs)
	}
	for _, body := range []string{`{"fields": {"bid": 1}}`, `{"event": 1}`} {
		topic := map[bool]string{true: "alerts.b4", false: "EURb4"}[strings.Contains(body, "event")]
		if code, msg := restPublish(t, r.base, topic, mint("b"), body); code != http.StatusTooManyRequests || !strings.Contains(msg, "maximum of 5") {
			t.Errorf("b's new topic %s over REST at the server's limit: %d %q, want 429 naming the limit", topic, code, msg)
		}
	}
	if code, body := restPublish(t, r.base, "EURb1", mint("b"), `{"fields": {"bid": 2}}`); code != http.StatusNoContent {
		t.Errorf("b's existing topic over REST at the limit: %d %s", code, body)
	}
	publishPrice(t, h, "EURsrv", 1) // the server's own source
	if _, _, err := h.PublishEvent("alerts.srv", []byte{1}, 0); err != nil {
		t.Fatal(err)
	}
	if n := h.Stats().Topics; n != 7 {
		t.Errorf("%d topics, want 7", n)
	}
}

// TestIdleTopicReclaim: a conflated topic nobody published to for
// TopicReclaimAfter and nobody subscribes to is forgotten, and its slot
// given back to its publisher; one with a subscriber, a paused one and a
// sequenced one stay. A late subscriber sees no such topic, then a fresh
// one from seq 1.
func TestIdleTopicReclaim(t *testing.T) {
	const after = 200 * time.Millisecond
	srv, url := startServer(t, Config{TopicReclaimAfter: after, MaxTopicsPerPublisher: 1})
	h := srv.Hub()
	base := baseURL(url)
	watched := dial(t, url)
	if err := watched.Send(&protocol.Subscribe{Topics: []string{"WATCHED"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the subscription", subscribed(srv, 1))
	for _, topic := range []string{"WATCHED", "PAUSED"} {
		publishPrice(t, h, topic, 1)
	}
	h.SetPaused("PAUSED", true)
	if _, _, err := h.PublishEvent("alerts.kept", []byte{1}, 0); err != nil {
		t.Fatal(err)
	}
	pub := dial(t, url)
	if errs, _ := errorsUntilPong(t, pub, quoteFrame("IDLE", 1), quoteFrame("IDLE", 2), quoteFrame("NEXT", 1)); len(errs) != 1 || errs[0].Code != protocol.CodeTopicLimit || errs[0].Topic != "NEXT" {
		t.Fatalf("a second topic at a limit of one: %v, want 1011 for it", errs)
	}

	waitFor(t, 5*time.Second, "IDLE reclaimed", func() bool { _, ok := h.Latest("IDLE"); return !ok })
	for _, topic := range []string{"WATCHED", "PAUSED"} {
		if _, ok := h.Latest(topic); !ok {
			t.Errorf("%s was reclaimed", topic)
		}
	}
	if head, _ := h.Journal().Head("alerts.kept"); head.Seq != 1 || len(h.Topics()) != 3 {
		t.Errorf("topics %v, want WATCHED, PAUSED and alerts.kept", h.Topics())
	}
	resp, err := http.Get(base + "/topics/IDLE")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /topics/IDLE after its reclaim: %d, want 404", resp.StatusCode)
	}

	// The publisher's slot is free again; a late subscriber of IDLE gets
	// nothing until its next value, from seq 1.
	if errs, _ := errorsUntilPong(t, pub, quoteFrame("NEXT", 1)); len(errs) > 0 {
		t.Fatalf("a new topic after the reclaim: %v", errs)
	}
	late := dial(t, url)
	if errs, data := errorsUntilPong(t, late, &protocol.Subscribe{Topics: []string{"IDLE"}}); len(errs) > 0 || data["IDLE"] {
		t.Fatalf("a late subscriber of a reclaimed topic: errors %v, data %v; want nothing", errs, data)
	}
	publishPrice(t, h, "IDLE", 3)
	readUntil(t, late, 5*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		if ok && (p.Type != protocol.TypeSnapshot || p.Seq != 1) {
			t.Fatalf("late subscriber: %v seq %d, want a snapshot at seq 1", p.Type, p.Seq)
		}
		return ok
	})
}

// TestReclaimRace: publishes, subscriptions and unsubscriptions racing with
// sweeps that reclaim every unused topic at once leave no subscription on
// a forgotten topic and no slot miscounted: every subscriber gets the next
// value of its topics.
func TestReclaimRace(t *testing.T) {
	// The clients answer no ping: a long heartbeat keeps them from the idle timeout.
	srv, url := startServer(t, Config{TopicReclaimAfter: time.Nanosecond, SubscribeRate: -1, Heartbeat: 10 * time.Second})
	h := srv.Hub()
	topics := []string{"R0", "R1", "R2", "R3"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			h.sweep(time.Now())
		}
	})
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			publishPrice(t, h, topics[i%len(topics)], float64(i))
		}
	})
	type seen struct {
		sync.Mutex
		last map[string]float64 // the last bid received, by topic
	}
	clients := make([]*seen, 4)
	for i := range clients {
		c, got := dial(t, url), &seen{last: map[string]float64{}}
		clients[i] = got
		go func() {
			for c.Read(func(f protocol.Frame) error {
				if p, ok := f.(*protocol.Price); ok {
					if v, ok := p.Quote.Get(protocol.Bid); ok {
						got.Lock()
						got.last[p.Topic] = v
						got.Unlock()
					}
				}
				return nil
			}) == nil {
			}
		}()
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				topic := topics[(i+k)%len(topics)]
				if err := c.Send(&protocol.Subscribe{Topics: []string{topic}}, &protocol.Subscribe{Unsubscribe: true, Topics: []string{topic}}); err != nil {
					t.Error(err)
					return
				}
			}
			if err := c.Send(&protocol.Subscribe{Topics: topics}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "every client subscribed to every topic", func() bool {
		n := 0
		for _, topic := range topics {
			s := h.shard(topic)
			s.mu.Lock()
			if tp := s.topics[topic]; tp != nil {
				n += len(tp.subs)
			}
			s.mu.Unlock()
		}
		return n == len(clients)*len(topics)
	})

	// A sweep now may forget no topic with a subscriber, nor let its next
	// value go to another.
	for _, topic := range topics {
		publishPrice(t, h, topic, -2)
	}
	h.sweep(time.Now().Add(time.Hour))
	slots := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for name, tp := range s.topics {
			if tp.slot {
				slots++
			}
			for _, sb := range tp.subs {
				if sb.topic != tp {
					t.Errorf("topic %s: a subscription to another topic", name)
				}
			}
		}
		s.mu.Unlock()
	}
	h.slots.mu.Lock()
	if h.slots.n != slots {
		t.Errorf("%d slots counted, %d topics hold one", h.slots.n, slots)
	}
	h.slots.mu.Unlock()
	for _, topic := range topics {
		publishPrice(t, h, topic, -1)
	}
	for i, got := range clients {
		waitFor(t, 5*time.Second, fmt.Sprintf("client %d getting the last value of every topic", i), func() bool {
			got.Lock()
			defer got.Unlock()
			for _, topic := range topics {
				if got.last[topic] != -1 {
					return false
				}
			}
			return true
		})
	}
}
