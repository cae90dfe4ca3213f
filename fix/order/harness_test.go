package order

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Test vocabulary: X, Y, Z are ClOrdIDs as in the FIX matrices; O1, O2 are
// the OrderIDs the book issues (Config{} numbers them from 1); quantities
// are strings so that expectations read like the matrix rows.

const (
	sess   = "S1"
	symbol = "ACME"
)

var t0 = time.Date(2025, 1, 2, 14, 30, 0, 0, time.UTC)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func px(s string) decimal.NullDecimal { return decimal.NewNullDecimal(d(s)) }

// Counterparty events.

func nos(cl, qty string) NewOrderSingle {
	return NewOrderSingle{
		Session: sess, ClOrdID: cl, Account: "ACC1", Symbol: symbol, Side: SideBuy,
		OrdType: OrdTypeLimit, Price: px("10"), OrderQty: d(qty), TimeInForce: TimeInForceDay,
		HandlInst: HandlInstAutomatedPrivate, TransactTime: t0,
	}
}

func nosTIF(cl, qty string, tif TimeInForce) NewOrderSingle {
	e := nos(cl, qty)
	e.TimeInForce = tif
	return e
}

func resend(e NewOrderSingle) NewOrderSingle {
	e.PossResend = true
	return e
}

func cxlReq(cl, orig string) OrderCancelRequest {
	return OrderCancelRequest{Session: sess, ClOrdID: cl, OrigClOrdID: orig, Symbol: symbol, Side: SideBuy, TransactTime: t0}
}

func rplReq(cl, orig, qty string) OrderCancelReplaceRequest {
	return OrderCancelReplaceRequest{
		Session: sess, ClOrdID: cl, OrigClOrdID: orig, Symbol: symbol, Side: SideBuy,
		OrdType: OrdTypeLimit, Price: px("10"), OrderQty: d(qty), TimeInForce: TimeInForceDay,
		TransactTime: t0,
	}
}

func rplPx(cl, orig, qty, price string) OrderCancelReplaceRequest {
	e := rplReq(cl, orig, qty)
	e.Price = px(price)
	return e
}

func statusReq(cl string) OrderStatusRequest {
	return OrderStatusRequest{Session: sess, ClOrdID: cl, Symbol: symbol, Side: SideBuy, TransactTime: t0}
}

// Venue events.

func accept(oid string) AcceptNew { return AcceptNew{OrderID: oid, TransactTime: t0} }

func rejectNew(oid string, r OrdRejReason) RejectNew {
	return RejectNew{OrderID: oid, Reason: r, TransactTime: t0}
}

func fill(oid, vid, qty, price string) Fill {
	return Fill{OrderID: oid, VenueExecID: vid, LastQty: d(qty), LastPx: d(price), TransactTime: t0}
}

func acceptCxl(oid string) AcceptCancel { return AcceptCancel{OrderID: oid, TransactTime: t0} }

func rejectCxl(oid string, r CxlRejReason) RejectCancel {
	return RejectCancel{OrderID: oid, Reason: r, TransactTime: t0}
}

func acceptRpl(oid string) AcceptReplace { return AcceptReplace{OrderID: oid, TransactTime: t0} }

func rejectRpl(oid string, r CxlRejReason) RejectReplace {
	return RejectReplace{OrderID: oid, Reason: r, TransactTime: t0}
}

func unsolicitedCxl(oid string, r ExecRestatementReason) UnsolicitedCancel {
	return UnsolicitedCancel{OrderID: oid, Reason: r, TransactTime: t0}
}

func restateQty(oid, qty string, r ExecRestatementReason) Restate {
	return Restate{OrderID: oid, OrderQty: px(qty), Reason: r, TransactTime: t0}
}

func dfd(oid string) DoneForDay { return DoneForDay{OrderID: oid, TransactTime: t0} }

func expire(oid string) Expire { return Expire{OrderID: oid, TransactTime: t0} }

func bust(oid, ref string) TradeBust {
	return TradeBust{OrderID: oid, RefExecID: ref, TransactTime: t0}
}

func correct(oid, ref, qty, price string) TradeCorrect {
	return TradeCorrect{OrderID: oid, RefExecID: ref, LastQty: d(qty), LastPx: d(price), TransactTime: t0}
}

// exp is the expectation for one FIX output. Empty optional fields are not
// checked.
type exp struct {
	msg                         string // "8" ExecutionReport, "9" OrderCancelReject
	execType                    ExecType
	ordStatus                   OrdStatus
	clOrdID, origClOrdID        string
	orderQty, cumQty, leavesQty string
	lastQty, lastPx, avgPx      string
	orderID, execID, execRefID  string
	session                     string // "" means sess
	ordRejReason                *OrdRejReason
	restatement                 *ExecRestatementReason
	responseTo                  CxlRejResponseTo
	cxlRejReason                CxlRejReason
}

// er expects an ExecutionReport; OrdRejReason and ExecRestatementReason
// must be absent unless rej/restated says otherwise.
func er(et ExecType, st OrdStatus, cl, orig, qty, cum, leaves string) exp {
	none, noneR := NoOrdRejReason, NoRestatementReason
	return exp{msg: "8", execType: et, ordStatus: st, clOrdID: cl, origClOrdID: orig,
		orderQty: qty, cumQty: cum, leavesQty: leaves, ordRejReason: &none, restatement: &noneR}
}

// cxl expects an OrderCancelReject.
func cxl(cl, orig string, st OrdStatus, to CxlRejResponseTo, reason CxlRejReason) exp {
	return exp{msg: "9", clOrdID: cl, origClOrdID: orig, ordStatus: st, responseTo: to, cxlRejReason: reason}
}

func (e exp) last(qty, price string) exp           { e.lastQty, e.lastPx = qty, price; return e }
func (e exp) avg(price string) exp                 { e.avgPx = price; return e }
func (e exp) oid(id string) exp                    { e.orderID = id; return e }
func (e exp) in(session string) exp                { e.session = session; return e }
func (e exp) xid(id string) exp                    { e.execID = id; return e }
func (e exp) ref(id string) exp                    { e.execRefID = id; return e }
func (e exp) rej(r OrdRejReason) exp               { e.ordRejReason = &r; return e }
func (e exp) restated(r ExecRestatementReason) exp { e.restatement = &r; return e }

// step is one matrix row: an event and the FIX outputs it must produce, or
// the error it must return (then nothing may change).
type step struct {
	ev    Event
	want  []exp
	err   error
	check func(t *testing.T, b *Book)
}

func expect(ev Event, want ...exp) step { return step{ev: ev, want: want} }

func fails(ev Event, err error) step { return step{ev: ev, err: err} }

func checking(f func(t *testing.T, b *Book)) step { return step{check: f} }

// fixOutputs drops VenueRequests: the matrices show FIX messages only.
func fixOutputs(outs []Output) []Output {
	var fix []Output
	for _, o := range outs {
		if _, venue := o.(VenueRequest); !venue {
			fix = append(fix, o)
		}
	}
	return fix
}

// runSteps applies the steps to a new book, checking every output, the
// book's invariants after every step, and finally that replaying the same
// events through the JSON journal reproduces the same outputs and state.
func runSteps(t *testing.T, cfg Config, steps []step) *Book {
	t.Helper()
	b := NewBook(cfg)
	var journal [][]byte
	var outputs []string
	seen := map[string]bool{}
	for i, s := range steps {
		if s.check != nil {
			s.check(t, b)
			continue
		}
		label := fmt.Sprintf("step %d (%s)", i+1, s.ev.EventKind())
		before := mustJSON(t, b.Snapshot())
		outs, err := b.Apply(s.ev)
		rec, jerr := MarshalEvent(s.ev)
		if jerr != nil {
			t.Fatalf("%s: MarshalEvent: %v", label, jerr)
		}
		journal = append(journal, rec)
		outputs = append(outputs, mustJSON(t, outs)+errString(err))
		if s.err != nil {
			if !errors.Is(err, s.err) {
				t.Fatalf("%s: err = %v, want %v", label, err, s.err)
			}
			if len(outs) != 0 {
				t.Fatalf("%s: error with outputs %v", label, outs)
			}
			if after := mustJSON(t, b.Snapshot()); after != before {
				t.Fatalf("%s: failed event changed the book", label)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: unexpected error %v", label, err)
		}
		got := fixOutputs(outs)
		if len(got) != len(s.want) {
			t.Fatalf("%s: %d FIX outputs, want %d:\n%s", label, len(got), len(s.want), dump(got))
		}
		for j := range got {
			checkOutput(t, fmt.Sprintf("%s output %d", label, j+1), got[j], s.want[j])
			if r, ok := got[j].(ExecutionReport); ok && r.ExecID != StatusExecID {
				if seen[r.ExecID] {
					t.Fatalf("%s: ExecID %s reused", label, r.ExecID)
				}
				seen[r.ExecID] = true
			}
		}
		checkInvariants(t, b)
	}
	replayMatches(t, cfg, journal, outputs, b)
	return b
}

func replayMatches(t *testing.T, cfg Config, journal [][]byte, outputs []string, want *Book) {
	t.Helper()
	r := NewBook(cfg)
	for i, rec := range journal {
		ev, err := UnmarshalEvent(rec)
		if err != nil {
			t.Fatalf("replay %d: %v", i+1, err)
		}
		outs, err := r.Apply(ev)
		if got := mustJSON(t, outs) + errString(err); got != outputs[i] {
			t.Fatalf("replay %d diverged:\n got %s\nwant %s", i+1, got, outputs[i])
		}
	}
	if g, w := mustJSON(t, r.Snapshot()), mustJSON(t, want.Snapshot()); g != w {
		t.Fatalf("replayed state differs:\n got %s\nwant %s", g, w)
	}
}

func checkOutput(t *testing.T, label string, got Output, w exp) {
	t.Helper()
	var errs []string
	eq := func(field string, g, want any) {
		if fmt.Sprint(g) != fmt.Sprint(want) {
			errs = append(errs, fmt.Sprintf("%s = %v, want %v", field, g, want))
		}
	}
	eqDec := func(field string, g decimal.Decimal, want string) {
		if want != "" && !g.Equal(d(want)) {
			errs = append(errs, fmt.Sprintf("%s = %s, want %s", field, g, want))
		}
	}
	wantSession := sess
	if w.session != "" {
		wantSession = w.session
	}
	switch r := got.(type) {
	case ExecutionReport:
		if w.msg != "8" {
			t.Fatalf("%s: got ExecutionReport, want OrderCancelReject:\n%s", label, dump([]Output{got}))
		}
		eq("Session", r.Session, wantSession)
		eq("ExecType", r.ExecType, w.execType)
		eq("OrdStatus", r.OrdStatus, w.ordStatus)
		eq("ClOrdID", r.ClOrdID, w.clOrdID)
		eq("OrigClOrdID", r.OrigClOrdID, w.origClOrdID)
		eqDec("OrderQty", r.OrderQty, w.orderQty)
		eqDec("CumQty", r.CumQty, w.cumQty)
		eqDec("LeavesQty", r.LeavesQty, w.leavesQty)
		eqDec("LastQty", r.LastQty, w.lastQty)
		eqDec("LastPx", r.LastPx, w.lastPx)
		eqDec("AvgPx", r.AvgPx, w.avgPx)
		if w.orderID != "" {
			eq("OrderID", r.OrderID, w.orderID)
		}
		if w.execID != "" {
			eq("ExecID", r.ExecID, w.execID)
		}
		eq("ExecRefID", r.ExecRefID, w.execRefID)
		if w.ordRejReason != nil {
			eq("OrdRejReason", r.OrdRejReason, *w.ordRejReason)
		}
		if w.restatement != nil {
			eq("ExecRestatementReason", r.ExecRestatementReason, *w.restatement)
		}
		if r.ExecType == ExecTypeOrderStatus && r.ExecID != StatusExecID {
			errs = append(errs, "status report ExecID must be "+StatusExecID)
		}
		if !r.TransactTime.Equal(t0) {
			errs = append(errs, "TransactTime not copied from the event")
		}
	case OrderCancelReject:
		if w.msg != "9" {
			t.Fatalf("%s: got OrderCancelReject, want ExecutionReport:\n%s", label, dump([]Output{got}))
		}
		eq("Session", r.Session, wantSession)
		eq("ClOrdID", r.ClOrdID, w.clOrdID)
		eq("OrigClOrdID", r.OrigClOrdID, w.origClOrdID)
		eq("OrdStatus", r.OrdStatus, w.ordStatus)
		eq("CxlRejResponseTo", r.CxlRejResponseTo, w.responseTo)
		eq("CxlRejReason", r.CxlRejReason, w.cxlRejReason)
		if w.orderID != "" {
			eq("OrderID", r.OrderID, w.orderID)
		}
	default:
		t.Fatalf("%s: unexpected output %T", label, got)
	}
	if len(errs) > 0 {
		t.Fatalf("%s:\n  %s\n%s", label, strings.Join(errs, "\n  "), dump([]Output{got}))
	}
}

// checkInvariants verifies what must hold after every event.
func checkInvariants(t *testing.T, b *Book) {
	t.Helper()
	var prev uint64
	for _, o := range b.orders {
		if o.Seq <= prev {
			t.Fatalf("order %s out of sequence", o.OrderID)
		}
		prev = o.Seq
		checkOrderInvariants(t, b, o)
	}
	if len(b.byOrderID) != len(b.orders) {
		t.Fatalf("%d orders, %d indexed", len(b.orders), len(b.byOrderID))
	}
}

// checkOrderInvariants verifies one order.
func checkOrderInvariants(t *testing.T, b *Book, o *OrderState) {
	t.Helper()
	if err := checkOrder(o, o.Seq-1, b.orderSeq); err != nil {
		t.Fatal(err)
	}
	if b.byOrderID[o.OrderID] != o {
		t.Fatalf("order %s not indexed by OrderID", o.OrderID)
	}
	for _, id := range o.ClOrdIDs {
		if b.byClOrdID[clKey{o.Session, id}] != o {
			t.Fatalf("order %s: ClOrdID %s not indexed", o.OrderID, id)
		}
	}
	if o.Rejected {
		if o.Acked || o.CumQty.Sign() != 0 || o.Pending != nil {
			t.Fatalf("rejected order %s acked, filled or pending", o.OrderID)
		}
		return
	}
	if o.CumQty.Sign() < 0 || o.OrderQty.Sign() <= 0 {
		t.Fatalf("order %s: OrderQty %s CumQty %s", o.OrderID, o.OrderQty, o.CumQty)
	}
	leaves := o.LeavesQty()
	switch {
	case o.Terminal() && !leaves.IsZero():
		t.Fatalf("terminal order %s has LeavesQty %s", o.OrderID, leaves)
	case !o.Terminal() && (leaves.Sign() <= 0 || !leaves.Equal(o.OrderQty.Sub(o.CumQty))):
		t.Fatalf("working order %s: LeavesQty %s, OrderQty %s, CumQty %s", o.OrderID, leaves, o.OrderQty, o.CumQty)
	}
	if o.Filled() && o.Pending == nil && !o.DoneForDay && o.Status() != OrdStatusFilled {
		t.Fatalf("filled order %s reports %s", o.OrderID, o.Status())
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " error: " + err.Error()
}

func dump(outs []Output) string {
	var sb strings.Builder
	for _, o := range outs {
		switch r := o.(type) {
		case ExecutionReport:
			fmt.Fprintf(&sb, "  8 %s/%s ClOrdID=%s Orig=%s OrderID=%s ExecID=%s Ref=%s Qty=%s Cum=%s Leaves=%s Last=%s@%s Avg=%s Rej=%d Rst=%d %q\n",
				r.ExecType, r.OrdStatus, r.ClOrdID, r.OrigClOrdID, r.OrderID, r.ExecID, r.ExecRefID,
				r.OrderQty, r.CumQty, r.LeavesQty, r.LastQty, r.LastPx, r.AvgPx, r.OrdRejReason, r.ExecRestatementReason, r.Text)
		case OrderCancelReject:
			fmt.Fprintf(&sb, "  9 ClOrdID=%s Orig=%s OrderID=%s OrdStatus=%s To=%s Reason=%s %q\n",
				r.ClOrdID, r.OrigClOrdID, r.OrderID, r.OrdStatus, r.CxlRejResponseTo, r.CxlRejReason, r.Text)
		default:
			fmt.Fprintf(&sb, "  %T %+v\n", o, o)
		}
	}
	return sb.String()
}
