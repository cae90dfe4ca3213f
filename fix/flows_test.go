package fix_test

import (
	"context"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/fix/order"
)

// The order state matrices of fix/order (REFERENCE §1) over a real FIX
// session on loopback: a quickfix initiator (fixclient) against the gateway.
// The desk (HandlInst=3) plays the venue where a scenario needs control of
// timing; the auto venue where it fills against the price. Every step checks
// ExecType, OrdStatus, ClOrdID, OrigClOrdID, OrderQty, CumQty, LeavesQty
// (CxlRejResponseTo and CxlRejReason for 9s) as the client received them.

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// desk sends a desk (HandlInst=3) limit order and returns its OrderID once
// the desk sees it.
func (r *rig) deskOrder(t *testing.T, cl, side, qty, px string) string {
	t.Helper()
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: side[0], OrdType: '2', Price: px, Qty: qty, HandlInst: '3'}))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		os, err := r.gw.Desk().Orders(ctx(t))
		must(t, err)
		for _, o := range os {
			if o.ClOrdID == cl {
				return o.OrderID
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("desk never saw order %s", cl)
	return ""
}

func cancelReq(cl, orig string) fixclient.Order {
	return fixclient.Order{ClOrdID: cl, OrigClOrdID: orig, Symbol: "EURUSD", Side: '1'}
}

func replaceReq(cl, orig, qty, px string) fixclient.Order {
	return fixclient.Order{ClOrdID: cl, OrigClOrdID: orig, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: px, Qty: qty, HandlInst: '3'}
}

func TestFlowsOverFIX(t *testing.T) {
	r := newRig(t)
	desk := r.gw.Desk()
	n := 0
	id := func(s string) string {
		n++
		return s + "-" + string(rune('a'+n%26)) + time.Now().Format("150405.000000")
	}

	t.Run("A/filled order", func(t *testing.T) {
		a := id("A")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0", ordStatus: "0", clOrdID: a, orderQty: "10", cumQty: "0", leavesQty: "10", orderID: oid})
		must(t, desk.Fill(ctx(t), oid, dec("3"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "1", clOrdID: a, orderQty: "10", cumQty: "3", leavesQty: "7", lastQty: "3", lastPx: "1.1"})
		must(t, desk.Fill(ctx(t), oid, dec("7"), dec("1.09")))
		r.expect(want{execType: "F", ordStatus: "2", clOrdID: a, orderQty: "10", cumQty: "10", leavesQty: "0", lastQty: "7", lastPx: "1.09"})
	})

	t.Run("A/part-filled day order, done for day", func(t *testing.T) {
		a := id("A")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("4"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "1", clOrdID: a, cumQty: "4", leavesQty: "6"})
		must(t, desk.DoneForDay(ctx(t), oid))
		r.expect(want{execType: "3", ordStatus: "3", clOrdID: a, orderQty: "10", cumQty: "4", leavesQty: "0"})
	})

	t.Run("A/order rejected by the desk", func(t *testing.T) {
		a := id("A")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Reject(ctx(t), oid, order.OrdRejReasonBrokerOption, "no"))
		r.expect(want{execType: "8", ordStatus: "8", clOrdID: a, ordRejReason: "0", cumQty: "0", leavesQty: "0"})
	})

	t.Run("B/cancel of a zero-filled order", func(t *testing.T) {
		a, c := id("B"), id("Bc")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0", ordStatus: "0", clOrdID: a})
		r.send(fixclient.OrderCancelRequest(cancelReq(c, a)))
		r.expect(want{execType: "6", ordStatus: "6", clOrdID: c, origClOrdID: a, orderQty: "10", cumQty: "0", leavesQty: "10"})
		must(t, desk.AcceptCancel(ctx(t), oid))
		r.expect(want{execType: "4", ordStatus: "4", clOrdID: c, origClOrdID: a, orderQty: "10", cumQty: "0", leavesQty: "0"})
	})

	t.Run("B/part-filled, fill while cancel pending", func(t *testing.T) {
		a, c := id("B"), id("Bc")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("2"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "1", clOrdID: a, cumQty: "2", leavesQty: "8"})
		r.send(fixclient.OrderCancelRequest(cancelReq(c, a)))
		r.expect(want{execType: "6", ordStatus: "6", clOrdID: c, origClOrdID: a, cumQty: "2", leavesQty: "8"})
		must(t, desk.Fill(ctx(t), oid, dec("3"), dec("1.1")))
		// Fills while the cancel is pending carry the original ClOrdID.
		r.expect(want{execType: "F", ordStatus: "6", clOrdID: a, orderQty: "10", cumQty: "5", leavesQty: "5", lastQty: "3"})
		must(t, desk.AcceptCancel(ctx(t), oid))
		r.expect(want{execType: "4", ordStatus: "4", clOrdID: c, origClOrdID: a, cumQty: "5", leavesQty: "0"})
	})

	t.Run("B/filled before the cancel is accepted", func(t *testing.T) {
		a, c := id("B"), id("Bc")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0", clOrdID: a})
		r.send(fixclient.OrderCancelRequest(cancelReq(c, a)))
		r.expect(want{execType: "6", ordStatus: "6", clOrdID: c, origClOrdID: a})
		must(t, desk.Fill(ctx(t), oid, dec("10"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "6", clOrdID: a, cumQty: "10", leavesQty: "0"})
		// Nothing left to cancel: the cancel is answered with the fill.
		r.expect(want{typ: "9", ordStatus: "2", clOrdID: c, origClOrdID: a, responseTo: "1", cxlRejReason: "0"})
		if err := desk.AcceptCancel(ctx(t), oid); err == nil {
			t.Fatal("AcceptCancel of a filled order was accepted")
		}
		if err := desk.RejectCancel(ctx(t), oid, order.CxlRejReasonTooLate, "filled"); err == nil {
			t.Fatal("RejectCancel of a cancel answered already was accepted")
		}
	})

	t.Run("B/cancel of an order not yet acknowledged", func(t *testing.T) {
		a, c := id("B"), id("Bc")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		r.send(fixclient.OrderCancelRequest(cancelReq(c, a)))
		r.expect(want{execType: "6", ordStatus: "6", clOrdID: c, origClOrdID: a})
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0", ordStatus: "6", clOrdID: a})
		must(t, desk.AcceptCancel(ctx(t), oid))
		r.expect(want{execType: "4", ordStatus: "4", clOrdID: c, origClOrdID: a, leavesQty: "0"})
	})

	t.Run("B/cancel of an unknown order", func(t *testing.T) {
		c := id("Bc")
		r.send(fixclient.OrderCancelRequest(cancelReq(c, "no-such-order")))
		r.expect(want{typ: "9", ordStatus: "8", clOrdID: c, origClOrdID: "no-such-order", responseTo: "1", cxlRejReason: "1", orderID: "NONE"})
	})

	t.Run("C/increase on a part-filled order, fill while pending", func(t *testing.T) {
		a, c := id("C"), id("Cr")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("1"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "1", cumQty: "1", leavesQty: "9"})
		r.send(fixclient.OrderCancelReplaceRequest(replaceReq(c, a, "12", "1.1")))
		r.expect(want{execType: "E", ordStatus: "E", clOrdID: c, origClOrdID: a, orderQty: "10", cumQty: "1", leavesQty: "9"})
		must(t, desk.Fill(ctx(t), oid, dec("1"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "E", clOrdID: a, orderQty: "10", cumQty: "2", leavesQty: "8"})
		must(t, desk.AcceptReplace(ctx(t), oid))
		r.expect(want{execType: "5", ordStatus: "1", clOrdID: c, origClOrdID: a, orderQty: "12", cumQty: "2", leavesQty: "10"})
	})

	t.Run("C/decrease crossing a fill, new qty below CumQty", func(t *testing.T) {
		a, c := id("C"), id("Cr")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("1"), dec("1.1")))
		r.expect(want{execType: "F", cumQty: "1"})
		r.send(fixclient.OrderCancelReplaceRequest(replaceReq(c, a, "2", "1.1")))
		r.expect(want{execType: "E", ordStatus: "E", clOrdID: c, origClOrdID: a, orderQty: "10", cumQty: "1", leavesQty: "9"})
		must(t, desk.Fill(ctx(t), oid, dec("2"), dec("1.1")))
		r.expect(want{execType: "F", ordStatus: "E", clOrdID: a, orderQty: "10", cumQty: "3", leavesQty: "7"})
		must(t, desk.AcceptReplace(ctx(t), oid))
		r.expect(want{execType: "5", ordStatus: "2", clOrdID: c, origClOrdID: a, orderQty: "3", cumQty: "3", leavesQty: "0"})
	})

	t.Run("D/second replace while the first is pending rejected with reason 3", func(t *testing.T) {
		a, c1, c2, c3 := id("D"), id("Dr"), id("Dr"), id("Dr")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0"})
		r.send(fixclient.OrderCancelReplaceRequest(replaceReq(c1, a, "11", "1.1")))
		r.expect(want{execType: "E", ordStatus: "E", clOrdID: c1, origClOrdID: a})
		r.send(fixclient.OrderCancelReplaceRequest(replaceReq(c2, c1, "12", "1.1")))
		r.expect(want{typ: "9", ordStatus: "E", clOrdID: c2, origClOrdID: a, responseTo: "2", cxlRejReason: "3"})
		must(t, desk.AcceptReplace(ctx(t), oid))
		r.expect(want{execType: "5", ordStatus: "0", clOrdID: c1, origClOrdID: a, orderQty: "11", leavesQty: "11"})
		// The buy side resends under a new ClOrdID, chained on the accepted one.
		r.send(fixclient.OrderCancelReplaceRequest(replaceReq(c3, c1, "12", "1.1")))
		r.expect(want{execType: "E", clOrdID: c3, origClOrdID: c1})
		must(t, desk.RejectReplace(ctx(t), oid, order.CxlRejReasonBrokerOption, "no"))
		r.expect(want{typ: "9", ordStatus: "0", clOrdID: c3, origClOrdID: c1, responseTo: "2", cxlRejReason: "2"})
	})

	t.Run("E/unsolicited cancel of a part-filled order", func(t *testing.T) {
		a := id("E")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("4"), dec("1.1")))
		r.expect(want{execType: "F", cumQty: "4"})
		must(t, desk.Cancel(ctx(t), oid, "risk"))
		m := r.expect(want{execType: "4", ordStatus: "4", clOrdID: a, orderQty: "10", cumQty: "4", leavesQty: "0"})
		if m.Get(tag.ExecRestatementReason) != "4" {
			t.Errorf("ExecRestatementReason = %q, want 4", m.Get(tag.ExecRestatementReason))
		}
	})

	t.Run("F/duplicate ClOrdID and PossResend", func(t *testing.T) {
		a := id("F")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Accept(ctx(t), oid))
		r.expect(want{execType: "0", clOrdID: a})
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.1", Qty: "10", HandlInst: '3'}))
		r.expect(want{execType: "8", ordStatus: "0", clOrdID: a, ordRejReason: "6", orderID: oid})
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.1", Qty: "10", HandlInst: '3', PossResend: true}))
		r.expect(want{execType: "I", ordStatus: "0", clOrdID: a, orderID: oid, leavesQty: "10"})
	})

	t.Run("G/status requests", func(t *testing.T) {
		a := id("G")
		r.send(fixclient.OrderStatusRequest("no-such", "EURUSD", '1'))
		r.expect(want{execType: "I", ordStatus: "8", clOrdID: "no-such", orderID: "NONE"})
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("5"), dec("1.1")))
		r.expect(want{execType: "F"})
		r.send(fixclient.OrderStatusRequest(a, "EURUSD", '1'))
		r.expect(want{execType: "I", ordStatus: "1", clOrdID: a, cumQty: "5", leavesQty: "5", orderID: oid})
	})

	t.Run("J/busted and corrected execution", func(t *testing.T) {
		a := id("J")
		oid := r.deskOrder(t, a, "1", "10", "1.1")
		must(t, desk.Fill(ctx(t), oid, dec("10"), dec("1.1")))
		f := r.expect(want{execType: "F", ordStatus: "2", cumQty: "10"})
		must(t, desk.Correct(ctx(t), oid, f.Get(tag.ExecID), dec("8"), dec("1.2"), "fat finger"))
		g := r.expect(want{execType: "G", ordStatus: "1", cumQty: "8", leavesQty: "2", lastQty: "8", lastPx: "1.2"})
		if g.Get(tag.ExecRefID) != f.Get(tag.ExecID) {
			t.Errorf("ExecRefID %q, want %q", g.Get(tag.ExecRefID), f.Get(tag.ExecID))
		}
		must(t, desk.Bust(ctx(t), oid, g.Get(tag.ExecID), "bust"))
		r.expect(want{execType: "H", ordStatus: "0", cumQty: "0", leavesQty: "10"})
	})

	t.Run("desk refuses auto orders and unknown ids", func(t *testing.T) {
		if err := desk.Accept(ctx(t), "nope"); err == nil {
			t.Fatal("accept of an unknown order succeeded")
		}
	})
}

func TestAutoVenue(t *testing.T) {
	r := newRig(t)
	n := 0
	next := func() string { n++; return "V" + time.Now().Format("150405.000000") + string(rune('a'+n%26)) }

	t.Run("market order filled at the ask", func(t *testing.T) {
		a := next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1000"}))
		r.expect(want{execType: "0", ordStatus: "0", clOrdID: a})
		r.expect(want{execType: "F", ordStatus: "2", cumQty: "1000", leavesQty: "0", lastPx: "1.1002"})
	})

	t.Run("partial fills sized by the quote, then the rest on the next quote", func(t *testing.T) {
		r.prices.set("NZDUSD", 0.6000, 0.6002, 300, 200)
		a := next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "NZDUSD", Side: '2', OrdType: '2', Price: "0.5999", Qty: "500"}))
		r.expect(want{execType: "0", clOrdID: a})
		r.expect(want{execType: "F", ordStatus: "1", cumQty: "300", leavesQty: "200", lastQty: "300", lastPx: "0.6"})
		r.prices.set("NZDUSD", 0.6001, 0.6003, 1000, 1000)
		r.expect(want{execType: "F", ordStatus: "2", cumQty: "500", leavesQty: "0", lastQty: "200", lastPx: "0.6001"})
	})

	t.Run("resting limit filled when the price comes", func(t *testing.T) {
		r.prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
		a := next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.0990", Qty: "10"}))
		r.expect(want{execType: "0", clOrdID: a})
		r.quiet(150 * time.Millisecond)
		r.prices.set("EURUSD", 1.0985, 1.0988, 0, 0)
		r.expect(want{execType: "F", ordStatus: "2", cumQty: "10", lastPx: "1.0988"})
	})

	t.Run("I/FOK order cannot be filled", func(t *testing.T) {
		r.prices.set("NZDUSD", 0.6000, 0.6002, 100, 100)
		a := next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "NZDUSD", Side: '1', OrdType: '1', Qty: "500", TimeInForce: '4'}))
		r.expect(want{execType: "0", clOrdID: a})
		r.expect(want{execType: "4", ordStatus: "4", clOrdID: a, cumQty: "0", leavesQty: "0"})
	})

	t.Run("I/IOC partly hit, remainder canceled", func(t *testing.T) {
		r.prices.set("NZDUSD", 0.6000, 0.6002, 100, 100)
		a := next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "NZDUSD", Side: '1', OrdType: '1', Qty: "500", TimeInForce: '3'}))
		r.expect(want{execType: "0", clOrdID: a})
		r.expect(want{execType: "F", ordStatus: "1", cumQty: "100", leavesQty: "400"})
		r.expect(want{execType: "4", ordStatus: "4", cumQty: "100", leavesQty: "0"})
	})

	t.Run("cancel and replace of a resting order", func(t *testing.T) {
		r.prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
		a, c1, c2 := next(), next(), next()
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.05", Qty: "10"}))
		r.expect(want{execType: "0", clOrdID: a})
		r.send(fixclient.OrderCancelReplaceRequest(fixclient.Order{ClOrdID: c1, OrigClOrdID: a, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.06", Qty: "20"}))
		r.expect(want{execType: "E", ordStatus: "E", clOrdID: c1, origClOrdID: a})
		r.expect(want{execType: "5", ordStatus: "0", clOrdID: c1, origClOrdID: a, orderQty: "20", leavesQty: "20"})
		r.send(fixclient.OrderCancelRequest(fixclient.Order{ClOrdID: c2, OrigClOrdID: c1, Symbol: "EURUSD", Side: '1'}))
		r.expect(want{execType: "6", ordStatus: "6", clOrdID: c2, origClOrdID: c1})
		r.expect(want{execType: "4", ordStatus: "4", clOrdID: c2, origClOrdID: c1, leavesQty: "0"})
	})
}

func TestAutoVenueLatency(t *testing.T) {
	r := newRig(t, withAuto(fix.AutoConfig{Latency: 100 * time.Millisecond}))
	start := time.Now()
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "L1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "10"}))
	r.expect(want{execType: "0", clOrdID: "L1"})
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("ack after %v, want >= 100ms latency", d)
	}
	r.expect(want{execType: "F", ordStatus: "2"})
}
