package order

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// The determinism property the HA design relies on: a book fed a journal
// rebuilds exactly the state and the outputs of the book that wrote it, and
// a book restored from a snapshot continues exactly as the original.
//
// For each fixed seed, a generator drives book A with a random but mostly
// valid event sequence (it reads A's state to aim at real orders, pending
// changes and executions; a share of the events is deliberately invalid).
// Every event goes through the JSON journal. Then:
//   - book B replays the journal: same outputs and errors, event by event,
//     and the same final snapshot;
//   - book C is restored from the JSON snapshot A had at a cut point and
//     replays the rest of the journal: same outputs and final snapshot;
//   - A's invariants hold after every event.

const (
	propertySeeds  = 24
	propertyEvents = 600
)

func TestReplayDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= propertySeeds; seed++ {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			cfg := Config{AckPendingNew: seed%3 == 0}
			g := newGen(seed, NewBook(cfg))
			cut := propertyEvents / 3 * int(1+seed%2)

			var journal [][]byte
			var outputs []string
			var cutSnapshot []byte
			kinds := map[string]int{}
			for i := range propertyEvents {
				ev := g.event(i)
				rec, err := MarshalEvent(ev)
				if err != nil {
					t.Fatal(err)
				}
				journal = append(journal, rec)
				outs, err := g.b.Apply(ev)
				outputs = append(outputs, mustJSON(t, outs)+errString(err))
				if err == nil {
					kinds[ev.EventKind()]++
				}
				checkReports(t, g.b, outs) // checks the orders it touched
				if i%100 == 99 {
					checkInvariants(t, g.b) // all orders: O(n) per call
				}
				if i == cut {
					cutSnapshot, err = json.Marshal(g.b.Snapshot())
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			checkInvariants(t, g.b)
			final := mustJSON(t, g.b.Snapshot())
			t.Logf("%d orders; applied without error: %v", g.b.Len(), kinds)

			// B: replay of the whole journal.
			replayMatches(t, cfg, journal, outputs, g.b)

			// C: restore at the cut, replay the rest.
			var snap Snapshot
			if err := json.Unmarshal(cutSnapshot, &snap); err != nil {
				t.Fatal(err)
			}
			c, err := Restore(snap)
			if err != nil {
				t.Fatal(err)
			}
			for i := cut + 1; i < len(journal); i++ {
				ev, err := UnmarshalEvent(journal[i])
				if err != nil {
					t.Fatal(err)
				}
				outs, err := c.Apply(ev)
				if got := mustJSON(t, outs) + errString(err); got != outputs[i] {
					t.Fatalf("restored book diverged at event %d (%s):\n got %s\nwant %s", i+1, ev.EventKind(), got, outputs[i])
				}
			}
			if got := mustJSON(t, c.Snapshot()); got != final {
				t.Fatalf("restored book ends in another state")
			}

			// The generator must exercise the machine, not just produce errors.
			for _, k := range []string{"NewOrderSingle", "Fill", "AcceptCancel", "AcceptReplace", "RejectReplace", "TradeBust", "TradeCorrect"} {
				if kinds[k] == 0 {
					t.Errorf("seed %d never applied a %s", seed, k)
				}
			}
		})
	}
}

// checkReports verifies output-level invariants and the invariants of the
// orders the outputs name.
func checkReports(t *testing.T, b *Book, outs []Output) {
	t.Helper()
	for _, out := range outs {
		r, ok := out.(ExecutionReport)
		if !ok || r.OrderID == NoneOrderID {
			continue
		}
		o, ok := b.byOrderID[r.OrderID]
		if !ok {
			t.Fatalf("report for unknown order %s", r.OrderID)
		}
		checkOrderInvariants(t, b, o)
		if o.Rejected {
			continue
		}
		if r.CumQty.Cmp(r.OrderQty) > 0 || r.LeavesQty.Sign() < 0 || r.LeavesQty.Add(r.CumQty).Cmp(r.OrderQty) > 0 {
			t.Fatalf("report quantities: %s", dump([]Output{r}))
		}
		if (r.ExecType == ExecTypeTrade) != (r.LastQty.Sign() > 0) && r.ExecType != ExecTypeTradeCorrect {
			t.Fatalf("LastQty on a non-trade or missing on a trade: %s", dump([]Output{r}))
		}
	}
}

// gen produces events aimed at the current state of b.
type gen struct {
	r        *rand.Rand
	b        *Book
	clOrdIDs int
	execs    int
}

func newGen(seed uint64, b *Book) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed*7919)), b: b}
}

var genSessions = []string{"S1", "S2"}

func (g *gen) newClOrdID() string {
	g.clOrdIDs++
	return "C" + strconv.Itoa(g.clOrdIDs)
}

func (g *gen) pct(p int) bool { return g.r.IntN(100) < p }

// qty returns a random quantity in steps of 0.5 in [0.5, max].
func (g *gen) qty(maxQty decimal.Decimal) decimal.Decimal {
	halves := maxQty.Mul(decimal.NewFromInt(2)).IntPart()
	if halves < 1 {
		return decimal.New(5, -1)
	}
	return decimal.NewFromInt(g.r.Int64N(halves) + 1).Div(decimal.NewFromInt(2))
}

func (g *gen) price() decimal.Decimal {
	return decimal.New(9000+g.r.Int64N(2000), -3) // 9.000 .. 10.999
}

// order picks a random existing order, or nil when there is none.
func (g *gen) order() *OrderState {
	if g.b.Len() == 0 {
		return nil
	}
	o, _ := g.b.Order("O" + strconv.Itoa(1+g.r.IntN(g.b.Len())))
	return &o
}

func (g *gen) event(i int) Event {
	t := t0.Add(time.Duration(i) * time.Millisecond)
	o := g.order()
	switch n := g.r.IntN(100); {
	case o == nil || n < 14:
		return g.newOrder(t)
	case n < 17:
		e := g.newOrder(t)
		e.Session, e.ClOrdID = o.Session, o.ClOrdIDs[g.r.IntN(len(o.ClOrdIDs))]
		e.PossResend = g.pct(50)
		return e
	case n < 27:
		return OrderCancelRequest{Session: o.Session, ClOrdID: g.requestClOrdID(o), OrigClOrdID: g.origClOrdID(o),
			Symbol: o.Symbol, Side: o.Side, PossResend: g.pct(5), TransactTime: t}
	case n < 37:
		e := OrderCancelReplaceRequest{Session: o.Session, ClOrdID: g.requestClOrdID(o), OrigClOrdID: g.origClOrdID(o),
			Symbol: o.Symbol, Side: o.Side, OrdType: OrdTypeLimit, Price: decimal.NewNullDecimal(g.price()),
			OrderQty: g.qty(o.OrderQty.Mul(decimal.New(15, -1))), TimeInForce: o.TimeInForce, PossResend: g.pct(5), TransactTime: t}
		if g.pct(5) {
			e.OrderQty = decimal.Zero
		}
		return e
	case n < 42:
		e := OrderStatusRequest{Session: o.Session, ClOrdID: g.origClOrdID(o), TransactTime: t}
		if g.pct(30) {
			e.ClOrdID, e.OrderID = "", o.OrderID
		}
		return e
	}
	return g.venueEvent(o, t)
}

func (g *gen) newOrder(t time.Time) NewOrderSingle {
	tifs := []TimeInForce{TimeInForceDay, TimeInForceDay, TimeInForceGTC, TimeInForceIOC, TimeInForceFOK}
	e := NewOrderSingle{
		Session: genSessions[g.r.IntN(len(genSessions))], ClOrdID: g.newClOrdID(), Symbol: symbol,
		Side: Side('1' + g.r.IntN(2)), OrdType: OrdTypeLimit, Price: decimal.NewNullDecimal(g.price()),
		OrderQty: g.qty(decimal.NewFromInt(100)), TimeInForce: tifs[g.r.IntN(len(tifs))], TransactTime: t,
	}
	if g.pct(20) {
		e.OrdType, e.Price = OrdTypeMarket, decimal.NullDecimal{}
	}
	if g.pct(4) {
		e.OrderQty = decimal.Zero
	}
	return e
}

// requestClOrdID is mostly fresh, sometimes a reused one (duplicate).
func (g *gen) requestClOrdID(o *OrderState) string {
	if g.pct(8) {
		return o.ClOrdIDs[g.r.IntN(len(o.ClOrdIDs))]
	}
	return g.newClOrdID()
}

// origClOrdID is mostly the current ClOrdID; sometimes the pending one
// (chaining), an older one, or unknown.
func (g *gen) origClOrdID(o *OrderState) string {
	switch n := g.r.IntN(100); {
	case n < 75:
		return o.ClOrdID
	case n < 85 && o.Pending != nil:
		return o.Pending.ClOrdID
	case n < 95:
		return o.ClOrdIDs[g.r.IntN(len(o.ClOrdIDs))]
	}
	return "unknown-" + strconv.Itoa(g.r.IntN(5))
}

func (g *gen) venueEvent(o *OrderState, t time.Time) Event {
	id := o.OrderID
	leaves := o.OrderQty.Sub(o.CumQty)
	var live []Execution
	for _, x := range o.Executions {
		if !x.Busted {
			live = append(live, x)
		}
	}
	ref := func() string {
		if len(live) == 0 {
			return "none"
		}
		x := live[g.r.IntN(len(live))]
		if g.pct(50) {
			return x.VenueExecID
		}
		return x.ExecIDs[len(x.ExecIDs)-1]
	}
	// Mostly an event that fits the state, sometimes any event at all.
	aimed := g.pct(85)
	switch {
	case aimed && !o.Acked && !o.Rejected && !o.Canceled && !o.DoneForDay && g.pct(70):
		if g.pct(85) {
			return AcceptNew{OrderID: id, TransactTime: t}
		}
		return RejectNew{OrderID: id, Reason: OrdRejReasonBrokerOption, TransactTime: t}
	case aimed && o.Pending != nil && g.pct(80):
		accept := g.pct(70)
		switch {
		case o.Pending.Kind == ChangeCancel && accept:
			return AcceptCancel{OrderID: id, TransactTime: t}
		case o.Pending.Kind == ChangeCancel:
			return RejectCancel{OrderID: id, Reason: CxlRejReasonTooLate, TransactTime: t}
		case accept:
			return AcceptReplace{OrderID: id, TransactTime: t}
		}
		return RejectReplace{OrderID: id, Reason: CxlRejReasonBrokerOption, TransactTime: t}
	}
	switch n := g.r.IntN(100); {
	case n < 45:
		q := g.qty(leaves)
		switch {
		case o.TimeInForce == TimeInForceFOK:
			q = o.OrderQty
		case g.pct(3):
			q = leaves.Add(decimal.NewFromInt(1)) // overfill
		}
		vid := ""
		if len(o.Executions) > 0 && g.pct(5) {
			x := o.Executions[g.r.IntN(len(o.Executions))] // redelivery
			return Fill{OrderID: id, VenueExecID: x.VenueExecID, LastQty: x.Qty, LastPx: x.Px, TransactTime: t}
		}
		g.execs++
		vid = fmt.Sprintf("V%d", g.execs)
		return Fill{OrderID: id, VenueExecID: vid, LastQty: q, LastPx: g.price(), TransactTime: t}
	case n < 55:
		return TradeBust{OrderID: id, RefExecID: ref(), TransactTime: t}
	case n < 65:
		return TradeCorrect{OrderID: id, RefExecID: ref(), LastQty: g.qty(decimal.NewFromInt(10)), LastPx: g.price(), TransactTime: t}
	case n < 72:
		return UnsolicitedCancel{OrderID: id, Reason: RestatementBrokerOption, TransactTime: t}
	case n < 80:
		return Restate{OrderID: id, OrderQty: decimal.NewNullDecimal(g.qty(o.OrderQty.Mul(decimal.New(15, -1)))),
			Reason: ExecRestatementReason(g.r.IntN(3)), TransactTime: t}
	case n < 86:
		return DoneForDay{OrderID: id, TransactTime: t}
	case n < 94:
		return Expire{OrderID: id, TransactTime: t}
	case n < 97:
		return AcceptNew{OrderID: id, TransactTime: t}
	}
	return Fill{OrderID: "O0", VenueExecID: "V0", LastQty: decimal.NewFromInt(1), LastPx: g.price(), TransactTime: t}
}
