package fix

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/fix/order"
	"tickwire/orderwire"
)

// The engine's queries and desk operations against a stalled engine: a test
// holds the engine inside AfterCommit (gate), queues commands behind it
// (watching the command channel fill), then lets it go.

// gate stalls the engine in AfterCommit, once per arming, until release is
// closed.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{} // set before armed
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1)} }

func (g *gate) afterCommit([]order.Event) {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		<-g.release
	}
}

// counter is an OrderEvents that counts what is published.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) PublishOrderEvent(string, []byte) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var testGatewaySeq atomic.Int64

// newTestGateway starts a gateway (one FIX session nobody logs on to, no
// prices: every symbol is known and the auto venue never fills).
func newTestGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	name := fmt.Sprintf("%d%s", testGatewaySeq.Add(1), regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), ""))
	text := fmt.Sprintf("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=GW%s\nTargetCompID=CL%s\nTickwireAccounts=*\nTickwireOpenLogon=Y\n", name, name)
	s, err := ParseSettings(strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Settings, cfg.DataDir = s, t.TempDir()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop() })
	return g
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func newDeskOrder(g *Gateway, clOrdID string) error {
	js := `{"Action":"new","ClOrdID":"` + clOrdID + `","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.1","OrderQty":"10","HandlInst":"3"}`
	r, err := orderwire.DecodeRequest([]byte(js))
	if err != nil {
		return err
	}
	return g.Request(context.Background(), r)
}

// deskOrderFor creates a desk order of account ACC1 and returns its OrderID.
func deskOrderFor(t *testing.T, g *Gateway, clOrdID string) string {
	t.Helper()
	if err := newDeskOrder(g, clOrdID); err != nil {
		t.Fatal(err)
	}
	o, ok, err := g.Lookup(testCtx(t), "TRADER:ACC1", clOrdID)
	if err != nil || !ok {
		t.Fatalf("Lookup %s: %v %v", clOrdID, ok, err)
	}
	return o.OrderID
}

// queued waits until n commands wait in the engine's channel.
func queued(t *testing.T, g *Gateway, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.eng.cmds) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commands queued, want %d", len(g.eng.cmds), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// stall makes the engine commit a batch (a new desk order clOrdID) and stop
// in AfterCommit until the returned function is called, which waits for the
// request to return.
func stall(t *testing.T, g *Gateway, gt *gate, clOrdID string) (resume func()) {
	t.Helper()
	gt.release = make(chan struct{})
	gt.armed.Store(true)
	done := make(chan error, 1)
	go func() { done <- newDeskOrder(g, clOrdID) }()
	select {
	case <-gt.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the engine never committed")
	}
	release := gt.release
	return func() {
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueriesRunBetweenBatches: a query queued behind a desk fill, in the
// same batch, reads the book only once the fill is published. OrdersAt's
// at must see the order topics exactly where the copy of the book stands
// (issue 17 item 12): a trader resuming from it would otherwise see the
// fill twice.
func TestQueriesRunBetweenBatches(t *testing.T) {
	gt, pub := newGate(), &counter{}
	g := newTestGateway(t, Config{Events: pub, Hooks: Hooks{AfterCommit: gt.afterCommit}})
	oid := deskOrderFor(t, g, "Q1")
	resume := stall(t, g, gt, "Q2")

	fillDone := make(chan error, 1)
	go func() {
		fillDone <- g.Desk().Fill(context.Background(), oid, decimal.RequireFromString("4"), decimal.RequireFromString("1.1"))
	}()
	queued(t, g, 1)
	type snap struct {
		orders    []order.OrderState
		published int
		err       error
	}
	snapDone := make(chan snap, 1)
	go func() {
		var s snap
		s.orders, s.err = g.OrdersAt(context.Background(), func(o *order.OrderState) bool { return o.OrderID == oid }, func() { s.published = pub.count() })
		snapDone <- s
	}()
	queued(t, g, 2)
	resume()
	if err := <-fillDone; err != nil {
		t.Fatal(err)
	}
	s := <-snapDone
	if s.err != nil || len(s.orders) != 1 {
		t.Fatalf("OrdersAt: %d orders, %v", len(s.orders), s.err)
	}
	if !s.orders[0].CumQty.Equal(decimal.RequireFromString("4")) {
		t.Fatalf("OrdersAt copy has CumQty %s, want 4 (the fill queued before it)", s.orders[0].CumQty)
	}
	if all := pub.count(); s.published != all {
		t.Fatalf("at ran with %d order events published, the copy includes all %d: the snapshot is ahead of the topic", s.published, all)
	}
}

// queries calls each query of the gateway about order oid (C1 of ACC1) and
// reads what it returns.
func queries(g *Gateway, oid string, at func()) map[string]func(ctx context.Context) (any, error) {
	return map[string]func(ctx context.Context) (any, error){
		"Order": func(ctx context.Context) (any, error) {
			o, ok, err := g.Order(ctx, oid)
			return fmt.Sprint(o.OrderID, ok), err
		},
		"Lookup": func(ctx context.Context) (any, error) {
			o, ok, err := g.Lookup(ctx, "TRADER:ACC1", "C1")
			return fmt.Sprint(o.OrderID, ok), err
		},
		"Snapshot": func(ctx context.Context) (any, error) { s, err := g.Snapshot(ctx); return len(s.Orders), err },
		"OrdersAt": func(ctx context.Context) (any, error) {
			os, err := g.OrdersAt(ctx, func(*order.OrderState) bool { return true }, at)
			return len(os), err
		},
		"Desk.Orders": func(ctx context.Context) (any, error) { os, err := g.Desk().Orders(ctx); return len(os), err },
	}
}

// TestCanceledQueryRace: queries whose context ends while the engine gets
// to them, at the same time. Run with -race: a query must never write its
// caller's variables once the caller has returned (issue 17 item 13).
func TestCanceledQueryRace(t *testing.T) {
	gt := newGate()
	g := newTestGateway(t, Config{Hooks: Hooks{AfterCommit: gt.afterCommit}})
	oid := deskOrderFor(t, g, "C1")
	for round := range 3 {
		resume := stall(t, g, gt, fmt.Sprint("S", round))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		qs := queries(g, oid, func() {})
		for name, q := range qs {
			wg.Go(func() {
				if v, err := q(ctx); err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("round %d %s: %v (%v)", round, name, err, v)
				}
			})
		}
		queued(t, g, len(qs))
		cancel()
		resume()
		wg.Wait()
	}
}

// TestCanceledCallsNeverRun: a query or desk operation whose context ends
// while it waits for the engine returns the context's error, and the engine
// then skips it: it writes none of its caller's variables (the race
// detector checks) and applies nothing (issue 17 item 13).
func TestCanceledCallsNeverRun(t *testing.T) {
	gt := newGate()
	g := newTestGateway(t, Config{Hooks: Hooks{AfterCommit: gt.afterCommit}})
	oid := deskOrderFor(t, g, "C1")
	resume := stall(t, g, gt, "C2")

	var atRan atomic.Bool
	type namedCall struct {
		name string
		run  func(ctx context.Context) (any, error)
	}
	var calls []namedCall
	for name, q := range queries(g, oid, func() { atRan.Store(true) }) {
		calls = append(calls, namedCall{name, q})
	}
	calls = append(calls, namedCall{"Desk.Fill", func(ctx context.Context) (any, error) {
		return nil, g.Desk().Fill(ctx, oid, decimal.RequireFromString("1"), decimal.RequireFromString("1.1"))
	}})
	for i, c := range calls {
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			v, err := c.run(ctx)
			_ = fmt.Sprint(v) // read what the call returned
			res <- err
		}()
		queued(t, g, i+1)
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: got %v, want context.Canceled", c.name, err)
		}
	}
	resume()
	o, ok, err := g.Order(testCtx(t), oid) // runs after every abandoned call
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if atRan.Load() {
		t.Error("OrdersAt ran at for a caller that had given up")
	}
	if !o.CumQty.IsZero() {
		t.Errorf("a canceled Desk.Fill was applied: CumQty %s", o.CumQty)
	}
}
