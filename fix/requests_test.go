package fix_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/orderwire"
)

// recorder is an OrderEvents that keeps what the gateway publishes.
type recorder struct {
	mu  sync.Mutex
	evs []published
}

type published struct {
	account string
	data    []byte
}

func (r *recorder) PublishOrderEvent(account string, ev []byte) error {
	r.mu.Lock()
	r.evs = append(r.evs, published{account, append([]byte(nil), ev...)})
	r.mu.Unlock()
	return nil
}

// take returns what was published since the last take.
func (r *recorder) take() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.evs
	r.evs = nil
	return out
}

func withEvents(rec *recorder) rigOption { return func(r *rig) { r.cfg.Events = rec } }

// reportsOf decodes published events with orderwire (as a trader does).
func reportsOf(t *testing.T, ps []published) []*orderwire.OrderEvent {
	t.Helper()
	out := make([]*orderwire.OrderEvent, 0, len(ps))
	for _, p := range ps {
		e, err := orderwire.DecodeOrderEvent(p.data)
		if err != nil {
			t.Fatalf("%v: %s", err, p.data)
		}
		if e.Account != p.account {
			t.Fatalf("event account %q published for %q", e.Account, p.account)
		}
		out = append(out, e)
	}
	return out
}

// execTypes lists the events as ExecType (reports) or "9" (rejects).
func execTypes(evs []*orderwire.OrderEvent) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Report != nil {
			b.WriteByte(byte(e.Report.ExecType))
		} else {
			b.WriteByte('9')
		}
	}
	return b.String()
}

func request(t *testing.T, r *rig, js string) error {
	t.Helper()
	rq, err := orderwire.DecodeRequest([]byte(js)) // as the server does (cmd/tickwire/requests.go)
	if err != nil {
		return err
	}
	return r.gw.Request(ctx(t), rq)
}

func refused(t *testing.T, err error, want string) *orderwire.Refusal {
	t.Helper()
	var rf *orderwire.Refusal
	if !errors.As(err, &rf) {
		t.Fatalf("got %v, want a refusal containing %q", err, want)
	}
	if !strings.Contains(rf.Error(), want) {
		t.Fatalf("refusal %q, want it to contain %q", rf.Error(), want)
	}
	return rf
}

// TestTraderRequests: new, cancel and replace from a trader session become
// order events like FIX ones, answered on the account's order topic and
// never over FIX; duplicates and bad requests are refused and change
// nothing; desk actions work through the same path.
func TestTraderRequests(t *testing.T) {
	rec := &recorder{}
	r := newRig(t, withEvents(rec))

	// A marketable limit order: acknowledged and filled by the auto venue
	// in the same batch, published before Request returns.
	must(t, request(t, r, `{"Action":"new","ClOrdID":"T1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.2","OrderQty":"100"}`))
	evs := reportsOf(t, rec.take())
	if got := execTypes(evs); got != "0F" {
		t.Fatalf("new T1: got %q, want 0F", got)
	}
	er := evs[1].Report
	if er.Session != "TRADER:ACC1" || er.ClOrdID != "T1" || er.Account != "ACC1" || er.OrdStatus != orderwire.OrdStatusFilled ||
		!er.LastPx.Equal(dec("1.1002")) || !er.CumQty.Equal(dec("100")) {
		t.Fatalf("fill report %+v", er)
	}
	o, ok, err := r.gw.Lookup(ctx(t), "TRADER:ACC1", "T1")
	must(t, err)
	if !ok || o.Account != "ACC1" || o.OrderID != er.OrderID {
		t.Fatalf("Lookup TRADER:ACC1 T1 = %+v %v", o, ok)
	}

	// Idempotent on (session, ClOrdID): a second request with T1 is refused
	// whatever it asks, and nothing is published. Another account's
	// session may use T1.
	for _, js := range []string{
		`{"Action":"new","ClOrdID":"T1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"5"}`,
		`{"Action":"cancel","ClOrdID":"T1","OrigClOrdID":"T1","Account":"ACC1"}`,
	} {
		rf := refused(t, request(t, r, js), "duplicate ClOrdID T1 in session TRADER:ACC1")
		if rf.ID != "T1" {
			t.Fatalf("refusal %+v names %q", rf, rf.ID)
		}
	}
	if ps := rec.take(); len(ps) != 0 {
		t.Fatalf("a refused duplicate published %d events", len(ps))
	}
	must(t, request(t, r, `{"Action":"new","ClOrdID":"T1","Account":"ACC2","Symbol":"EURUSD","Side":"2","OrdType":"1","OrderQty":"5"}`))
	if evs := reportsOf(t, rec.take()); execTypes(evs) != "0F" || evs[0].Account != "ACC2" || evs[0].Report.Session != "TRADER:ACC2" {
		t.Fatalf("ACC2 T1: %q", execTypes(evs))
	}

	// A resting order, replaced then canceled (the auto venue accepts both).
	must(t, request(t, r, `{"Action":"new","ClOrdID":"T2","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.0","OrderQty":"100","TimeInForce":"1"}`))
	if got := execTypes(reportsOf(t, rec.take())); got != "0" {
		t.Fatalf("new T2: %q", got)
	}
	must(t, request(t, r, `{"Action":"replace","ClOrdID":"T3","OrigClOrdID":"T2","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.05","OrderQty":"200","TimeInForce":"1"}`))
	evs = reportsOf(t, rec.take())
	if got := execTypes(evs); got != "E5" {
		t.Fatalf("replace T2->T3: %q", got)
	}
	if rp := evs[1].Report; rp.ClOrdID != "T3" || rp.OrigClOrdID != "T2" || !rp.OrderQty.Equal(dec("200")) || !rp.Price.Decimal.Equal(dec("1.05")) ||
		rp.TimeInForce != orderwire.TimeInForceGTC {
		t.Fatalf("replaced %+v", rp)
	}
	must(t, request(t, r, `{"Action":"cancel","ClOrdID":"T4","OrigClOrdID":"T3","Account":"ACC1","Symbol":"EURUSD","Side":"1"}`))
	evs = reportsOf(t, rec.take())
	if got := execTypes(evs); got != "64" || evs[1].Report.OrdStatus != orderwire.OrdStatusCanceled || evs[1].Report.ClOrdID != "T4" {
		t.Fatalf("cancel T3: %q", got)
	}
	// The book's answers are order events too: a cancel of an unknown
	// order is a journalled 9, published on the session's account.
	must(t, request(t, r, `{"Action":"cancel","ClOrdID":"T5","OrigClOrdID":"NOPE","Account":"ACC1"}`))
	evs = reportsOf(t, rec.take())
	if len(evs) != 1 || evs[0].Reject == nil || evs[0].Account != "ACC1" || evs[0].Reject.CxlRejReason != orderwire.CxlRejReasonUnknownOrder {
		t.Fatalf("cancel of an unknown order: %+v", evs)
	}
	// ... and an unknown symbol is the venue's reject.
	must(t, request(t, r, `{"Action":"new","ClOrdID":"T6","Account":"ACC1","Symbol":"XAUUSD","Side":"1","OrdType":"1","OrderQty":"1"}`))
	if evs := reportsOf(t, rec.take()); execTypes(evs) != "8" || evs[0].Report.OrdRejReason != orderwire.OrdRejReasonUnknownSymbol {
		t.Fatalf("unknown symbol: %q", execTypes(evs))
	}

	// A desk order, worked through the request path.
	must(t, request(t, r, `{"Action":"new","ClOrdID":"D1","Account":"ACC1","Symbol":"EURUSD","Side":"2","OrdType":"2","Price":"1.3","OrderQty":"100","HandlInst":"3"}`))
	if ps := rec.take(); len(ps) != 0 {
		t.Fatalf("a desk order was answered before the desk: %d events", len(ps))
	}
	desk, err := r.gw.Desk().Orders(ctx(t))
	must(t, err)
	if len(desk) != 1 || desk[0].ClOrdID != "D1" {
		t.Fatalf("desk orders %+v", desk)
	}
	oid := desk[0].OrderID
	must(t, request(t, r, `{"Action":"desk-accept","OrderID":"`+oid+`"}`))
	must(t, request(t, r, `{"Action":"desk-fill","OrderID":"`+oid+`","LastQty":"40","LastPx":"1.31"}`))
	evs = reportsOf(t, rec.take())
	if got := execTypes(evs); got != "0F" || evs[1].Report.OrdStatus != orderwire.OrdStatusPartiallyFilled || !evs[1].Report.LastQty.Equal(dec("40")) {
		t.Fatalf("desk accept+fill: %q", got)
	}
	refused(t, request(t, r, `{"Action":"desk-accept","OrderID":"`+oid+`"}`), "desk-accept "+oid+": ")
	refused(t, request(t, r, `{"Action":"desk-fill","OrderID":"`+er.OrderID+`","LastQty":"1","LastPx":"1"}`), "not a desk")
	refused(t, request(t, r, `{"Action":"desk-fill","OrderID":"`+oid+`","LastQty":"61","LastPx":"1.31"}`), "desk-fill "+oid+": ")
	must(t, request(t, r, `{"Action":"desk-cancel","OrderID":"`+oid+`","Text":"end of day"}`))
	evs = reportsOf(t, rec.take())
	if got := execTypes(evs); got != "4" || evs[0].Report.Text != "end of day" || !evs[0].Report.CumQty.Equal(dec("40")) {
		t.Fatalf("desk cancel: %q %+v", got, evs)
	}

	// Bad requests are refused with a reason and change nothing.
	before, err := r.gw.Snapshot(ctx(t))
	must(t, err)
	for _, c := range []struct{ js, want string }{
		{`not json`, "bad request"},
		{`{"Action":"buy"}`, `unknown Action "buy"`},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1"}`, "new B1: missing OrderQty"},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"ten"}`, "new B1: bad request"},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"1","Qty":"1"}`, `unknown field "Qty"`},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"-1"}`, "OrderQty must be more than 0"},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"Z","OrdType":"1","OrderQty":"1"}`, "unknown Side"},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"2","OrderQty":"1"}`, "needs a Price"},
		{`{"Action":"new","ClOrdID":"B1","Account":"ACC 1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"1"}`, "Account"},
		{`{"Action":"cancel","ClOrdID":"B1","OrigClOrdID":"T2","Account":"ACC1","OrderQty":"1"}`, "cancel does not take OrderQty"},
		{`{"Action":"desk-fill","OrderID":"` + oid + `","LastQty":"1"}`, "missing LastPx"},
		{`{"Action":"desk-accept","OrderID":"O-404"}`, "unknown order"},
	} {
		refused(t, request(t, r, c.js), c.want)
	}
	after, err := r.gw.Snapshot(ctx(t))
	must(t, err)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("a refused request changed the book")
	}
	if ps := rec.take(); len(ps) != 0 {
		t.Fatalf("refused requests published %d events", len(ps))
	}
	// B1 was never consumed.
	must(t, request(t, r, `{"Action":"new","ClOrdID":"B1","Account":"ACC1","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"1"}`))

	// Nothing of the trader sessions went to the FIX counterparty.
	r.quiet(100 * time.Millisecond)
}

// TestTraderRequestsSurviveRestart: trader orders are in the journal like
// FIX ones; after a restart their ClOrdIDs are still consumed and their
// desk orders still work.
func TestTraderRequestsSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the gateway: slow; make test runs it")
	}
	rec := &recorder{}
	r := newRig(t, withEvents(rec), withoutClient())
	must(t, request(t, r, `{"Action":"new","ClOrdID":"K1","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.0","OrderQty":"10","HandlInst":"3"}`))
	desk, err := r.gw.Desk().Orders(ctx(t))
	must(t, err)
	if len(desk) != 1 {
		t.Fatalf("desk orders %+v", desk)
	}
	r.stopGateway()
	r.startGateway()
	refused(t, request(t, r, `{"Action":"new","ClOrdID":"K1","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"1"}`), "duplicate ClOrdID")
	rec.take()
	must(t, request(t, r, `{"Action":"desk-fill","OrderID":"`+desk[0].OrderID+`","LastQty":"10","LastPx":"1.0"}`))
	if evs := reportsOf(t, rec.take()); execTypes(evs) != "F" || evs[0].Report.ClOrdID != "K1" || evs[0].Report.OrdStatus != orderwire.OrdStatusFilled {
		t.Fatalf("fill after restart: %q", execTypes(evs))
	}
}

// TestOrderWireMatchesOrderEvent keeps orderwire's order events (what
// traders decode) identical to the gateway's fix.OrderEvent JSON: every
// field the gateway writes is known to orderwire and comes back the same.
func TestOrderWireMatchesOrderEvent(t *testing.T) {
	ts := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)
	full := []fix.OrderEvent{
		{Epoch: "e1", Seq: 7, Index: 1, Kind: "ExecutionReport", Account: "ACC", Report: &order.ExecutionReport{
			Session: "TRADER:ACC", OrderID: "O1", ClOrdID: "C2", OrigClOrdID: "C1", ExecID: "E3", ExecRefID: "E2", SecondaryExecID: "X1",
			ExecType: order.ExecTypeTradeCorrect, OrdStatus: order.OrdStatusPartiallyFilled, OrdRejReason: order.OrdRejReasonOther,
			ExecRestatementReason: order.RestatementBrokerOption, Account: "ACC", Symbol: "EURUSD", Side: order.SideSellShort,
			OrdType: order.OrdTypeLimit, TimeInForce: order.TimeInForceGTC, Price: decimal.NewNullDecimal(dec("1.25")),
			OrderQty: dec("100"), CumQty: dec("40"), LeavesQty: dec("60"), AvgPx: dec("1.2345"), LastQty: dec("40"), LastPx: dec("1.2345"),
			OrdStatusReqID: "S1", Text: "corrected", TransactTime: ts}},
		{Epoch: "e1", Seq: 8, Kind: "ExecutionReport", Report: &order.ExecutionReport{
			Session: "FIX.4.4:A->B", OrderID: "NONE", ExecID: "E4", ExecType: order.ExecTypeRejected, OrdStatus: order.OrdStatusRejected,
			OrdRejReason: order.NoOrdRejReason, ExecRestatementReason: order.NoRestatementReason, Side: 0x01, TransactTime: ts}},
		{Epoch: "e1", Seq: 9, Kind: "OrderCancelReject", Account: "ACC", Reject: &order.OrderCancelReject{
			Session: "TRADER:ACC", OrderID: "O1", ClOrdID: "C5", OrigClOrdID: "C2", OrdStatus: order.OrdStatusNew,
			CxlRejResponseTo: order.CxlRejResponseToReplace, CxlRejReason: order.CxlRejReasonAlreadyPending, Text: "pending", TransactTime: ts}},
	}
	for i, ev := range full {
		data, err := json.Marshal(ev)
		must(t, err)
		var w orderwire.OrderEvent
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&w); err != nil {
			t.Fatalf("event %d: orderwire does not know the gateway's JSON: %v\n%s", i, err, data)
		}
		again, err := json.Marshal(&w)
		must(t, err)
		var a, b any
		must(t, json.Unmarshal(data, &a))
		must(t, json.Unmarshal(again, &b))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d differs through orderwire:\n gateway   %s\n orderwire %s", i, data, again)
		}
	}
	// And every field orderwire knows is one the gateway writes.
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[order.ExecutionReport](), reflect.TypeFor[orderwire.ExecutionReport]()},
		{reflect.TypeFor[order.OrderCancelReject](), reflect.TypeFor[orderwire.OrderCancelReject]()},
		{reflect.TypeFor[fix.OrderEvent](), reflect.TypeFor[orderwire.OrderEvent]()},
	} {
		if pair[0].NumField() != pair[1].NumField() {
			t.Fatalf("%v has %d fields, %v %d", pair[0], pair[0].NumField(), pair[1], pair[1].NumField())
		}
		for i := range pair[0].NumField() {
			f, g := pair[0].Field(i), pair[1].Field(i)
			if f.Name != g.Name || f.Tag != g.Tag {
				t.Fatalf("%v field %d: %s %q, %v has %s %q", pair[0], i, f.Name, f.Tag, pair[1], g.Name, g.Tag)
			}
		}
	}
}
