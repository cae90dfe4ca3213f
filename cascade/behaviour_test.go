package cascade

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/protocol"
)

// countingVWAP is a behaviour in Go: the trade merge plus a VWAP. It
// counts its calls, so a test sees where it ran.
type countingVWAP struct{ calls atomic.Int64 }

func (b *countingVWAP) Name() string { return "go:vwap" }

func (b *countingVWAP) Merge(dst, src *protocol.Quote) error {
	b.calls.Add(1)
	px, _ := src.Get(protocol.Last)
	if px == -1 {
		return errors.New("a trade at -1: the module traps")
	}
	sz, _ := src.Get(protocol.LastSize)
	vol, _ := dst.Get(protocol.Volume)
	if vw, ok := dst.Get(protocol.VWAP); ok && vol+sz != 0 {
		dst.Put(protocol.VWAP, (vw*vol+px*sz)/(vol+sz))
	} else {
		dst.Put(protocol.VWAP, px)
	}
	protocol.OpsTrade.Merge(dst, src)
	return nil
}

func behaviourRules(b feedserver.Behaviour) []feedserver.TopicRule {
	return append([]feedserver.TopicRule{{Pattern: "*.trades", Kind: feedserver.ConflatedMerge, Ops: protocol.OpsTrade,
		Behaviours: []feedserver.BehaviourRule{{Fields: 1 << protocol.VWAP, Behaviour: b}}}}, feedserver.DefaultTopicRules()...)
}

func tradeQuote(px, size float64) *protocol.Quote {
	var q protocol.Quote
	q.Put(protocol.Last, px)
	q.Put(protocol.LastSize, size)
	q.Put(protocol.Volume, size)
	q.Put(protocol.High, px)
	q.Put(protocol.Low, px)
	return &q
}

// TestCascadeBehaviourTopic: an edge whose topic rule has behaviours (the
// same configuration as the active node's) serves the active node's merged
// values as they are: its own behaviour never runs on them (it would merge
// a merged value again) and the summed volume is not added twice, for a
// client pushed every value and one rate-limited (pulled on the wheel's
// tick) alike. The active node's FlagBehaviourOff travels too.
func TestCascadeBehaviourTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds: two servers and a cascade")
	}
	cfg, key := activeConfig(t)
	activeB := &countingVWAP{}
	cfg.Topics = behaviourRules(activeB)
	active, activeURL, stopActive := serve(t, cfg)
	edgeB := &countingVWAP{}
	edge, edgeURL, _ := serve(t, feedserver.Config{StaleAfter: time.Hour, Topics: behaviourRules(edgeB)})

	t0 := time.Unix(1_750_000_000, 0)
	pub := func(i int, px, size float64) {
		t.Helper()
		if err := active.Hub().Publish("X.trades", tradeQuote(px, size), t0.Add(time.Duration(i)*time.Millisecond).UnixNano(), 0); err != nil {
			t.Fatal(err)
		}
	}
	pub(0, 100, 2)

	c, err := New(Config{Hub: edge.Hub(), Upstream: activeURL, Token: key, Refresh: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = c.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	pushed := watch(t, edgeURL, "X.trades")
	pulled := watchRate(t, edgeURL, 50, "X.trades")
	equalsActive := func(p client.PriceEvent) bool {
		want, ok := active.Hub().Latest("X.trades")
		return ok && p.Quote == want.Quote && p.Time.UnixNano() == want.Time
	}
	pushed.waitPrice(t, "the first trade at the edge", "X.trades", equalsActive)
	for i := 1; i <= 200; i++ {
		pub(i, 100+float64(i%17), float64(1+i%4))
	}
	want, _ := active.Hub().Latest("X.trades")
	for name, w := range map[string]*watcher{"pushed": pushed, "pulled": pulled} {
		w.waitPrice(t, name+" client: the active node's merged value", "X.trades", equalsActive)
	}
	if got, _ := edge.Hub().Latest("X.trades"); got.Quote != want.Quote {
		t.Fatalf("edge holds %+v, the active node %+v", got.Quote, want.Quote)
	}
	if n := edgeB.calls.Load(); n != 0 {
		t.Errorf("the edge ran its behaviour %d times on values the active node merged", n)
	}

	// A trade the active node's behaviour fails on disables it there: the
	// active node's flag reaches the edge's clients with its value.
	pub(1000, -1, 1)
	for name, w := range map[string]*watcher{"pushed": pushed, "pulled": pulled} {
		w.waitPrice(t, name+" client: BehaviourOff from the active node", "X.trades", func(p client.PriceEvent) bool {
			return p.Flags&protocol.FlagBehaviourOff != 0 && equalsActive(p)
		})
	}
	if n := edgeB.calls.Load(); n != 0 {
		t.Errorf("the edge ran its behaviour %d times on values the active node merged", n)
	}

	// The active node goes: both clients see the edge's stale mark
	// (Hub.MarkStale), the rate-limited one on its tick.
	stopActive()
	for name, w := range map[string]*watcher{"pushed": pushed, "pulled": pulled} {
		w.waitPrice(t, name+" client: stale", "X.trades", func(p client.PriceEvent) bool { return p.Stale() })
	}
}
