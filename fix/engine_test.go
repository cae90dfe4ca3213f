package fix_test

import (
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/fix/fixclient"
	"tickwire/fix/order"
)

// committed records the events of every journal append.
type committed struct {
	mu     sync.Mutex
	events []order.Event
}

func (c *committed) hook(evs []order.Event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	c.mu.Unlock()
}

func (c *committed) kinds() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := make(map[string]int)
	for _, ev := range c.events {
		n[ev.EventKind()]++
	}
	return n
}

// TestStatusRequestsNotJournalled: a status request (35=H) is answered from
// the book and leaves the journal as it was (issue 17 item 15); its
// MsgSeqNum is still acknowledged once answered, so a restart does not ask
// for it again.
func TestStatusRequestsNotJournalled(t *testing.T) {
	var c committed
	r := newRig(t, func(r *rig) { r.cfg.Hooks.AfterCommit = c.hook })
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "S1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"}))
	r.expect(want{execType: "0", clOrdID: "S1"})
	r.expect(want{execType: "F", ordStatus: "2", clOrdID: "S1"})
	for range 3 {
		r.send(fixclient.OrderStatusRequest("S1", "EURUSD", '1'))
		r.expect(want{execType: "I", ordStatus: "2", clOrdID: "S1", cumQty: "5", leavesQty: "0"})
		r.send(fixclient.OrderStatusRequest("nope", "EURUSD", '1'))
		r.expect(want{execType: "I", ordStatus: "8", clOrdID: "nope", orderID: "NONE"})
	}
	if n := c.kinds()["OrderStatusRequest"]; n != 0 {
		t.Fatalf("%d status requests journalled, want none (journal: %v)", n, c.kinds())
	}

	r.cl.Stop()
	r.stopGateway()
	r.startGateway()
	r.startClient()
	r.quiet(300 * time.Millisecond) // no status request is asked for and answered again
	r.send(fixclient.OrderStatusRequest("S1", "EURUSD", '1'))
	r.expect(want{execType: "I", ordStatus: "2", clOrdID: "S1"})
}

// TestDeskOrdersReopened: a filled desk order that a bust or a correction
// reopens is on the desk again at once (issue 17 item 14).
func TestDeskOrdersReopened(t *testing.T) {
	r := newRig(t)
	desk := r.gw.Desk()
	listed := func() bool {
		os, err := desk.Orders(ctx(t))
		must(t, err)
		for _, o := range os {
			if o.ClOrdID == "K1" {
				return true
			}
		}
		return false
	}
	oid := r.deskOrder(t, "K1", "1", "10", "1.1")
	must(t, desk.Fill(ctx(t), oid, dec("10"), dec("1.1")))
	f := r.expect(want{execType: "F", ordStatus: "2", cumQty: "10"})
	if listed() {
		t.Fatal("a filled desk order is still listed")
	}
	must(t, desk.Correct(ctx(t), oid, f.Get(tag.ExecID), dec("6"), dec("1.1"), "fat finger"))
	g := r.expect(want{execType: "G", ordStatus: "1", cumQty: "6", leavesQty: "4"})
	if !listed() {
		t.Fatal("a desk order reopened by a correction is not listed")
	}
	must(t, desk.Fill(ctx(t), oid, dec("4"), dec("1.1")))
	r.expect(want{execType: "F", ordStatus: "2", cumQty: "10"})
	if listed() {
		t.Fatal("a filled desk order is still listed")
	}
	must(t, desk.Bust(ctx(t), oid, g.Get(tag.ExecID), "bust"))
	r.expect(want{execType: "H", ordStatus: "1", cumQty: "4", leavesQty: "6"})
	if !listed() {
		t.Fatal("a desk order reopened by a bust is not listed")
	}
}

// TestIDPrefixesDefaultEach: with only OrderIDPrefix configured, a new
// journal still gets its own ExecID prefix from its creation time, so
// ExecIDs never repeat across journals (issue 17 item 14).
func TestIDPrefixesDefaultEach(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	r := newRig(t, func(r *rig) {
		r.cfg.Book = order.Config{OrderIDPrefix: "DESK-"}
		r.cfg.Clock = func() time.Time { return at }
	})
	s, err := r.gw.Snapshot(ctx(t))
	must(t, err)
	if want := (order.Config{OrderIDPrefix: "DESK-", ExecIDPrefix: "20260304T050607-E"}); s.Config != want {
		t.Fatalf("book config %+v, want %+v", s.Config, want)
	}
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "P1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"}))
	m := r.expect(want{execType: "0", clOrdID: "P1", orderID: "DESK-1"})
	if got := m.Get(tag.ExecID); got != "20260304T050607-E1" {
		t.Fatalf("ExecID %q, want 20260304T050607-E1", got)
	}
}
