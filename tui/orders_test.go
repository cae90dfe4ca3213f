package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tickwire/protocol"
)

// orderModel is a connected model with EURUSD fresh and NZDUSD feed-stale.
func orderModel(t *testing.T, svc OrderService) (*Model, *clock) {
	clk := &clock{t: t0}
	m := newModel(t, clk, svc, 80, 24)
	update(m, EventsMsg{connected(testURL, "a"),
		price("EURUSD", 1.39231, 1.39244, clk.t.Add(-time.Second), 0),
		price("NZDUSD", 0.86478, 0.86503, clk.t.Add(-9*time.Second), protocol.FlagStale)})
	return m, clk
}

func TestOrderEntry(t *testing.T) {
	svc := &fakeOrders{}
	m, _ := orderModel(t, svc)

	keys(m, "b")
	if !m.form.open || m.form.symbol.Value() != "EURUSD" || m.form.price.Value() != "1.39244" || m.form.focus != fieldQty {
		t.Fatalf("b on EURUSD: open %v symbol %q price %q focus %d", m.form.open, m.form.symbol.Value(), m.form.price.Value(), m.form.focus)
	}
	keys(m, "enter")
	if v := plain(m); !strings.Contains(line(v, "Qty"), "✖ required") || !strings.Contains(v, "✖ 1 field to fix") {
		t.Errorf("empty qty:\n%s", v)
	}
	typeText(m, "1e5x")
	keys(m, "enter")
	if l := line(plain(m), "Qty"); !strings.Contains(l, `✖ "1e5x" is not a number`) {
		t.Errorf("qty line %q", l)
	}
	keys(m, "ctrl+u")
	typeText(m, "100000")
	keys(m, "enter")
	if m.form.open || len(svc.submits) != 1 {
		t.Fatalf("valid order: form open %v, %d submits", m.form.open, len(svc.submits))
	}
	got := svc.submits[0]
	if got.ClOrdID != "T-1" || got.Symbol != "EURUSD" || got.Side != SideBuy || got.Type != OrdTypeLimit || got.TIF != TIFDay ||
		got.Qty.String() != "100000" || got.Price.String() != "1.39244" || got.StaleAck != "" {
		t.Errorf("request %+v", got)
	}
	if l := line(plain(m), "EURUSD  BUY"); !strings.Contains(l, "T-1") || !strings.Contains(l, "PendNew") || !strings.Contains(l, "100000") {
		t.Errorf("blotter row %q: want the order pending", l)
	}

	// A market sell: the price field is skipped and sent as zero; IOC.
	keys(m, "s", "tab", "right", "tab", "right")
	if m.form.focus != fieldTIF || m.form.typ != OrdTypeMarket || m.form.tif != TIFIOC {
		t.Errorf("tab skips price on a market order: focus %d type %v tif %v", m.form.focus, m.form.typ, m.form.tif)
	}
	keys(m, "up", "up")
	typeText(m, "5")
	keys(m, "enter")
	if len(svc.submits) != 2 || svc.submits[1].Type != OrdTypeMarket || !svc.submits[1].Price.IsZero() || svc.submits[1].Side != SideSell ||
		svc.submits[1].TIF != TIFIOC || svc.submits[1].Qty.String() != "5" {
		t.Errorf("market order %+v", svc.submits)
	}

	// Enter twice while the first is in flight sends once.
	keys(m, "b")
	typeText(m, "7")
	_, cmd := m.Update(keyMsg("enter"))
	if _, again := m.Update(keyMsg("enter")); cmd == nil || again != nil {
		t.Fatalf("enter while sending: first cmd %v, second %v", cmd != nil, again != nil)
	}
	if v := plain(m); !strings.Contains(v, "sending T-3…") {
		t.Errorf("no sending line:\n%s", v)
	}
	runCmd(m, cmd)
	if len(svc.submits) != 3 || m.form.open {
		t.Errorf("%d submits, form open %v", len(svc.submits), m.form.open)
	}
}

func TestOrderEntryStaleConfirm(t *testing.T) {
	svc := &fakeOrders{}
	m, _ := orderModel(t, svc)
	keys(m, "j", "b")
	typeText(m, "1000")
	keys(m, "enter")
	v := plain(m)
	if len(svc.submits) != 0 || !strings.Contains(v, "⚠ NZDUSD is FEED-STALE (server: source silent), price 9.0s old") ||
		!strings.Contains(v, "y sends anyway") || !strings.Contains(v, "trades at ask 0.86503 · FEED-STALE · 9.0s old") {
		t.Fatalf("stale symbol: %d submits\n%s", len(svc.submits), v)
	}
	// Enter again is not a confirmation: a double press sends nothing.
	keys(m, "enter")
	if len(svc.submits) != 0 || m.form.warn == "" {
		t.Fatalf("enter twice on a stale row: %d submits, warn %q", len(svc.submits), m.form.warn)
	}
	// Changing the order drops the confirmation: enter warns again.
	typeText(m, "0")
	if m.form.warn != "" {
		t.Fatalf("edited after the warning: warn %q", m.form.warn)
	}
	keys(m, "enter")
	if len(svc.submits) != 0 || m.form.warn == "" {
		t.Fatalf("edited after the warning: %d submits, warn %q", len(svc.submits), m.form.warn)
	}
	keys(m, "y")
	if len(svc.submits) != 1 || !strings.Contains(svc.submits[0].StaleAck, "FEED-STALE") || svc.submits[0].Qty.String() != "10000" {
		t.Fatalf("confirmed: %+v", svc.submits)
	}
	// esc on a warning goes back to the form rather than closing it.
	keys(m, "b")
	typeText(m, "1")
	keys(m, "enter", "esc")
	if !m.form.open || m.form.warn != "" {
		t.Errorf("esc on the warning: open %v warn %q", m.form.open, m.form.warn)
	}
	keys(m, "esc")
	if m.form.open {
		t.Error("esc did not close the form")
	}

	// The link down freezes every symbol: a fresh one warns too.
	keys(m, "k", "b")
	typeText(m, "1")
	update(m, EventsMsg{reconnecting(1)})
	keys(m, "enter")
	if !strings.Contains(m.form.warn, "EURUSD is FROZEN (link down), price 1.0s old") {
		t.Errorf("warn %q", m.form.warn)
	}
}

func TestOrderEntryServiceError(t *testing.T) {
	svc := &fakeOrders{err: errors.New("gateway not connected")}
	m, _ := orderModel(t, svc)
	keys(m, "b")
	typeText(m, "100")
	keys(m, "enter")
	v := plain(m)
	if !m.form.open || !strings.Contains(v, "✖ not sent: gateway not connected") {
		t.Errorf("service error: form open %v\n%s", m.form.open, v)
	}
	if a := m.alerts.items[len(m.alerts.items)-1]; a.Level != LevelError || a.Text != "new order T-1 not sent: gateway not connected" {
		t.Errorf("alert %+v", a)
	}
	if len(m.blotter.ids) != 0 {
		t.Errorf("an order not sent is not on the blotter: %v", m.blotter.ids)
	}
	// Trying again is a new request with a new ClOrdID.
	svc.err = nil
	keys(m, "enter")
	if len(svc.submits) != 2 || svc.submits[1].ClOrdID != "T-2" || m.form.open {
		t.Errorf("retry: %+v", svc.submits)
	}
}

func TestBlotterCancelReplace(t *testing.T) {
	svc := &fakeOrders{}
	m, clk := orderModel(t, svc)
	update(m, partialFill(clk.t))
	keys(m, "tab") // Orders; newest first: T-2 (rejected), then T-1
	keys(m, "x")
	if len(svc.cancels) != 0 || !strings.Contains(plain(m), "order T-2 is Rejected: nothing to cancel") {
		t.Errorf("cancel of a rejected order: %+v\n%s", svc.cancels, plain(m))
	}
	keys(m, "j", "x", "x")
	if len(svc.cancels) != 1 || svc.cancels[0].OrigClOrdID != "T-1" || svc.cancels[0].ClOrdID != "T-1" && svc.cancels[0].ClOrdID == "" {
		t.Fatalf("cancels %+v", svc.cancels)
	}
	if v := plain(m); !strings.Contains(v, "order T-1: cancel already in flight") || !strings.Contains(line(v, "T-1 "), "PartFill…") {
		t.Errorf("second x:\n%s", v)
	}
	// The venue refuses the cancel: an alert, and the order can be canceled again.
	update(m, OrdersMsg{CancelRejects: []CancelReject{{ID: "T-1", ClOrdID: svc.cancels[0].ClOrdID, Reason: "too late to cancel"}}})
	if a := m.alerts.items[len(m.alerts.items)-1]; a.Level != LevelError || a.Text != "cancel rejected for order T-1: too late to cancel" {
		t.Errorf("alert %+v", a)
	}
	// Replace: quantity cannot go under what is filled.
	keys(m, "r")
	if !m.form.open || m.form.replace == nil || m.form.qty.Value() != "100000" || m.form.price.Value() != "1.3924" {
		t.Fatalf("replace form: %+v", m.form)
	}
	keys(m, "enter")
	if !strings.Contains(plain(m), "✖ nothing changed") || len(svc.replaces) != 0 {
		t.Errorf("unchanged replace:\n%s", plain(m))
	}
	keys(m, "ctrl+u")
	typeText(m, "20000")
	keys(m, "enter")
	if l := line(plain(m), "Qty"); !strings.Contains(l, "must be more than the 30000 already filled") {
		t.Errorf("qty %q", l)
	}
	keys(m, "ctrl+u")
	typeText(m, "80000")
	keys(m, "enter")
	if len(svc.replaces) != 1 || svc.replaces[0].OrigClOrdID != "T-1" || svc.replaces[0].ID != "T-1" || svc.replaces[0].Qty.String() != "80000" {
		t.Fatalf("replaces %+v", svc.replaces)
	}
	// Fill to the end: an alert.
	o := partialFill(clk.t).Orders[0]
	o.Status, o.CumQty, o.LeavesQty, o.Qty = StatusFilled, dec("80000"), dec("0"), dec("80000")
	update(m, OrdersMsg{Orders: []Order{o}})
	if a := m.alerts.items[len(m.alerts.items)-1]; a.Text != "order T-1 Buy 80000 EURUSD filled, avg 1.39238" {
		t.Errorf("alert %+v", a)
	}
	keys(m, "f")
	if v := plain(m); !strings.Contains(v, "▸ Fills  2") || !strings.Contains(line(v, "E-2"), "20000") {
		t.Errorf("fills view:\n%s", v)
	}
}

func TestOrderEntryUnavailable(t *testing.T) {
	m, clk := orderModel(t, nil)
	update(m, partialFill(clk.t)) // a nil service still shows what it is told
	v := plain(m)
	if !strings.Contains(v, "Order entry unavailable: no order service is connected") || !strings.Contains(line(v, "T-1"), "PartFill") {
		t.Errorf("blotter without a service:\n%s", v)
	}
	keys(m, "tab", "j", "x")
	if !strings.Contains(plain(m), "order entry unavailable") {
		t.Errorf("x without a service:\n%s", plain(m))
	}
}

// TestHistoryRaisesNoAlerts: an account's order history, replayed when the
// dashboard connects, fills the blotter without an alert per past fill;
// what happens after the start alerts as before.
func TestHistoryRaisesNoAlerts(t *testing.T) {
	m, clk := orderModel(t, nil)
	before := len(m.alerts.items)
	update(m, partialFill(clk.t.Add(-time.Hour))) // an hour-old partial fill and rejection
	if got := len(m.alerts.items); got != before {
		t.Errorf("history raised %d alerts: %+v", got-before, m.alerts.items[before:])
	}
	if v := plain(m); !strings.Contains(v, "T-1") || !strings.Contains(v, "T-2") {
		t.Errorf("history not in the blotter:\n%s", v)
	}
	// Now a new fill: it alerts.
	update(m, OrdersMsg{Fills: []Fill{{ExecID: "E-3", ID: "T-1", Symbol: "EURUSD", Side: SideBuy, Qty: dec("5000"), Price: dec("1.3925"), Time: clk.add(time.Second)}}})
	if a := m.alerts.items[len(m.alerts.items)-1]; a.Text != "fill Buy 5000 EURUSD @ 1.3925 (order T-1)" {
		t.Errorf("live fill: last alert %+v", a)
	}
}
