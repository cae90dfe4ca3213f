package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// priceWatch is a trader pinned to one node, recording its prices until
// its link first drops (its node was killed: what it is sent after
// reconnecting elsewhere is another story, see docs/HA.md).
type priceWatch struct {
	node int
	cl   *client.Client

	mu     sync.Mutex
	prices []client.PriceEvent
	down   bool
}

func (w *priceWatch) receive(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.cl.Events():
			if !ok {
				return
			}
			w.mu.Lock()
			switch ev := ev.(type) {
			case client.PriceEvent:
				if !w.down && !ev.StatusOnly {
					w.prices = append(w.prices, ev)
				}
			case client.StateEvent:
				if ev.State == client.Reconnecting {
					w.down = true
				}
			}
			w.mu.Unlock()
		}
	}
}

// after counts the prices received after t.
func (w *priceWatch) after(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, p := range w.prices {
		if p.Received.After(t) {
			n++
		}
	}
	return n
}

// TestFailoverNoRollback kills the Active twice with traders pinned to
// every node: on every node that survives, each price topic's source time
// never goes back, and every value is the tick the replay's timeline
// places at its time (the new Active continued the replay where the old
// one was, in the same loop; it did not start its files again).
func TestFailoverNoRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes for seconds")
	}
	files := &tickfeed.Files{Names: []string{tickfeed.Embedded}}
	all, err := ticks.ReadAll(mustOpen(t, files))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tickfeed.NewTimeline(files.Open, 10) // startCluster's --speed
	if err != nil {
		t.Fatal(err)
	}
	byTopic := map[string][]ticks.Tick{}
	for _, tk := range all {
		if topic, _, ok := tickfeed.TickValue(&tk); ok {
			byTopic[topic] = append(byTopic[topic], tk)
		}
	}

	l := startCluster(t)
	log := testLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var watches []*priceWatch
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i, n := range l.Nodes {
		w := &priceWatch{node: i, cl: client.New(client.Options{URLs: []string{n.URL()}, Name: fmt.Sprintf("watch-%s", n.ID),
			Topics: tl.Topics, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, TelemetryEvery: -1,
			Logger: slog.New(slog.DiscardHandler)})}
		watches = append(watches, w)
		wg.Add(2)
		go func() { defer wg.Done(); _ = w.cl.Run(ctx) }()
		go func() { defer wg.Done(); w.receive(ctx) }()
	}
	waitPrices := func(since time.Time, ws []*priceWatch) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for _, w := range ws {
			for w.after(since) < 5 {
				if time.Now().After(deadline) {
					t.Fatalf("the trader on n%d got %d prices in 30s", w.node+1, w.after(since))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	waitPrices(time.Now(), watches)
	for round := range 2 {
		active, err := l.WaitActive(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		r, err := KillActive(ctx, l, nil, log) // restarts it, waits for two standbys
		if err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		t.Logf("round %d: %s", round+1, r)
		var alive []*priceWatch
		for _, w := range watches {
			w.mu.Lock()
			if w.node != active && !w.down {
				alive = append(alive, w)
			}
			w.mu.Unlock()
		}
		waitPrices(time.Now(), alive)
	}

	checked := 0
	for _, w := range watches {
		w.mu.Lock()
		prices := append([]client.PriceEvent(nil), w.prices...)
		w.mu.Unlock()
		last := map[string]time.Time{}
		for _, p := range prices {
			if prev, ok := last[p.Topic]; ok && p.Time.Before(prev) {
				t.Errorf("n%d: %s went back from %v to %v (%v older)", w.node+1, p.Topic, prev.Format(time.RFC3339Nano), p.Time.Format(time.RFC3339Nano), prev.Sub(p.Time))
			}
			last[p.Topic] = p.Time
			if err := onTimeline(tl, byTopic[p.Topic], p); err != nil {
				t.Errorf("n%d: %v", w.node+1, err)
			}
		}
		checked += len(prices)
	}
	if checked == 0 {
		t.Fatal("no price checked")
	}
	t.Logf("%d prices checked", checked)
}

// onTimeline checks that p is a tick of ts (its topic's, in time order)
// whose due time on tl is p's time.
func onTimeline(tl *tickfeed.Timeline, ts []ticks.Tick, p client.PriceEvent) error {
	loop, rec := tl.Position(p.Time)
	bid, _ := p.Quote.Get(protocol.Bid)
	ask, _ := p.Quote.Get(protocol.Ask)
	// The ticks of the topic due at p.Time: at or before rec, due then.
	i := sort.Search(len(ts), func(i int) bool { return ts[i].Time.After(rec) })
	for j := i - 1; j >= 0 && tl.Due(loop, ts[j].Time).Equal(p.Time); j-- {
		if ts[j].Bid == bid && ts[j].Ask == ask {
			return nil
		}
	}
	return fmt.Errorf("%s %v/%v at %v is not the tick the timeline has then (loop %d, %v)", p.Topic, bid, ask,
		p.Time.Format(time.RFC3339Nano), loop, rec.Format(time.RFC3339Nano))
}

func mustOpen(t *testing.T, f *tickfeed.Files) ticks.Source {
	t.Helper()
	s, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
