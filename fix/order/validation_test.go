package order

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

// TestNewOrderValidation: invalid orders are answered with an
// ExecutionReport ExecType=8 (never a Go error) and kept as rejected orders,
// so that their ClOrdID is spent and a status request finds them.
func TestNewOrderValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*NewOrderSingle)
		reason OrdRejReason
	}{
		{"zero quantity", func(e *NewOrderSingle) { e.OrderQty = decimal.Zero }, OrdRejReasonIncorrectQuantity},
		{"negative quantity", func(e *NewOrderSingle) { e.OrderQty = d("-5") }, OrdRejReasonIncorrectQuantity},
		{"limit order without price", func(e *NewOrderSingle) { e.Price = decimal.NullDecimal{} }, OrdRejReasonOther},
		{"limit order with zero price", func(e *NewOrderSingle) { e.Price = px("0") }, OrdRejReasonOther},
		{"market order with price", func(e *NewOrderSingle) { e.OrdType = OrdTypeMarket }, OrdRejReasonOther},
		{"unknown side", func(e *NewOrderSingle) { e.Side = 'Z' }, OrdRejReasonUnsupportedCharacteristic},
		{"missing side", func(e *NewOrderSingle) { e.Side = 0 }, OrdRejReasonUnsupportedCharacteristic},
		{"unsupported order type", func(e *NewOrderSingle) { e.OrdType = '3' }, OrdRejReasonUnsupportedCharacteristic},
		{"unsupported time in force", func(e *NewOrderSingle) { e.TimeInForce = '6' }, OrdRejReasonUnsupportedCharacteristic},
		{"unknown HandlInst", func(e *NewOrderSingle) { e.HandlInst = '9' }, OrdRejReasonUnsupportedCharacteristic},
		{"missing symbol", func(e *NewOrderSingle) { e.Symbol = "" }, OrdRejReasonUnknownSymbol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := nos("X", "100")
			tt.mutate(&ev)
			qty := ev.OrderQty.String()
			b := runSteps(t, Config{}, []step{
				expect(ev, er(etRejected, stRejected, "X", "", qty, "0", "0").rej(tt.reason).oid("O1")),
				expect(statusReq("X"), er(etStatus, stRejected, "X", "", qty, "0", "0")),
				expect(nos("X", "100"), er(etRejected, stRejected, "X", "", qty, "0", "0").rej(OrdRejReasonDuplicateOrder)),
				expect(cxlReq("Y", "X"), cxl("Y", "X", stRejected, toCancel, CxlRejReasonTooLate)),
				fails(accept("O1"), ErrInvalidTransition),
			})
			if !b.Known(sess, "X") || b.Len() != 1 {
				t.Fatal("the rejected order must be kept")
			}
		})
	}

	t.Run("valid market order", func(t *testing.T) {
		ev := nos("X", "100")
		ev.OrdType, ev.Price, ev.TimeInForce, ev.HandlInst = OrdTypeMarket, decimal.NullDecimal{}, 0, 0
		b := runSteps(t, Config{}, []step{
			expect(ev),
			expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
		})
		if o, _ := b.Order("O1"); o.TimeInForce != TimeInForceDay {
			t.Fatalf("absent TimeInForce stored as %v, want Day", o.TimeInForce)
		}
	})

	t.Run("missing ClOrdID", func(t *testing.T) {
		b := NewBook(Config{})
		outs, err := b.Apply(nos("", "100"))
		if err != nil || len(outs) != 1 {
			t.Fatalf("outs %v err %v", outs, err)
		}
		r := outs[0].(ExecutionReport)
		if r.ExecType != etRejected || r.OrdStatus != stRejected || r.OrderID != NoneOrderID || r.OrdRejReason != OrdRejReasonOther {
			t.Fatalf("got %s", dump(outs))
		}
		if b.Len() != 0 {
			t.Fatal("an order without ClOrdID must not be recorded")
		}
	})
}

// TestChangeRequestValidation: invalid cancel/replace requests are answered
// with OrderCancelReject and leave the order as it was.
func TestChangeRequestValidation(t *testing.T) {
	setup := []step{
		expect(nos("X", "100")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
	}
	tests := []struct {
		name   string
		ev     Event
		reason CxlRejReason
	}{
		{"replace to zero quantity", rplReq("Y", "X", "0"), CxlRejReasonOther},
		{"replace to negative price", rplPx("Y", "X", "100", "-1"), CxlRejReasonOther},
		{"replace to market with price", func() Event { e := rplReq("Y", "X", "100"); e.OrdType = OrdTypeMarket; return e }(), CxlRejReasonOther},
		{"replace to unsupported order type", func() Event { e := rplReq("Y", "X", "100"); e.OrdType = 0; return e }(), CxlRejReasonOther},
		{"replace with another symbol", func() Event { e := rplReq("Y", "X", "100"); e.Symbol = "OTHER"; return e }(), CxlRejReasonOther},
		{"replace with another side", func() Event { e := rplReq("Y", "X", "100"); e.Side = SideSell; return e }(), CxlRejReasonOther},
		{"cancel with another side", func() Event { e := cxlReq("Y", "X"); e.Side = SideSell; return e }(), CxlRejReasonOther},
		{"cancel without ClOrdID", cxlReq("", "X"), CxlRejReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := toReplace
			if _, ok := tt.ev.(OrderCancelRequest); ok {
				to = toCancel
			}
			cl := "Y"
			if c, ok := tt.ev.(OrderCancelRequest); ok {
				cl = c.ClOrdID
			}
			steps := append(append([]step{}, setup...),
				expect(tt.ev, cxl(cl, "X", stNew, to, tt.reason).oid("O1")),
				expect(statusReq("X"), er(etStatus, stNew, "X", "", "100", "0", "100")),
			)
			runSteps(t, Config{}, steps)
		})
	}

	t.Run("cancel of a done-for-day GTC order goes to the venue", func(t *testing.T) {
		runSteps(t, Config{}, []step{
			expect(nosTIF("X", "100", TimeInForceGTC)),
			expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
			expect(dfd("O1"), er(etDFD, stDFD, "X", "", "100", "0", "0")),
			expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "100", "0", "0")),
			expect(acceptCxl("O1"), er(etCanceled, stDFD, "Y", "X", "100", "0", "0")), // Done for Day outranks Canceled
		})
	})
}

// TestVenueMisuse: venue events impossible in the order's state are errors
// and change nothing (runSteps checks the snapshot is untouched).
func TestVenueMisuse(t *testing.T) {
	working := []step{
		expect(nos("X", "100")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
		expect(fill("O1", "V1", "10", "10"), er(etTrade, stPartFilled, "X", "", "100", "10", "90")),
	}
	tests := []struct {
		name string
		ev   Event
		err  error
	}{
		{"unknown OrderID", accept("O9"), ErrUnknownOrderID},
		{"fill on unknown OrderID", fill("O9", "V9", "1", "1"), ErrUnknownOrderID},
		{"second AcceptNew", accept("O1"), ErrInvalidTransition},
		{"RejectNew after the ack", rejectNew("O1", OrdRejReasonBrokerOption), ErrInvalidTransition},
		{"overfill", fill("O1", "V2", "91", "10"), ErrOverfill},
		{"fill without quantity", fill("O1", "V2", "0", "10"), ErrInvalidEvent},
		{"fill without price", fill("O1", "V2", "1", "0"), ErrInvalidEvent},
		{"fill without VenueExecID", fill("O1", "", "1", "10"), ErrInvalidEvent},
		{"conflicting redelivery", fill("O1", "V1", "11", "10"), ErrConflictingFill},
		{"AcceptCancel without pending cancel", acceptCxl("O1"), ErrInvalidTransition},
		{"RejectCancel without pending cancel", rejectCxl("O1", CxlRejReasonTooLate), ErrInvalidTransition},
		{"AcceptReplace without pending replace", acceptRpl("O1"), ErrInvalidTransition},
		{"RejectReplace without pending replace", rejectRpl("O1", CxlRejReasonTooLate), ErrInvalidTransition},
		{"Restate without reason", Restate{OrderID: "O1", Reason: NoRestatementReason, TransactTime: t0}, ErrInvalidEvent},
		{"Restate to zero quantity", restateQty("O1", "0", RestatementBrokerOption), ErrInvalidEvent},
		{"bust of an unknown execution", bust("O1", "nope"), ErrUnknownExecution},
		{"correct to zero quantity", correct("O1", "V1", "0", "10"), ErrInvalidEvent},
		{"correct above OrderQty", correct("O1", "V1", "101", "10"), ErrOverfill},
		{"nil event", nil, ErrUnknownEvent},
		{"nil pointer event", (*Fill)(nil), ErrUnknownEvent},
		{"counterparty event without session", func() Event { e := nos("Z", "1"); e.Session = ""; return e }(), ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if isNil(tt.ev) {
				if _, err := NewBook(Config{}).Apply(tt.ev); !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if _, err := MarshalEvent(tt.ev); !errors.Is(err, tt.err) {
					t.Fatalf("MarshalEvent err = %v, want %v", err, tt.err)
				}
				return
			}
			runSteps(t, Config{}, append(append([]step{}, working...), fails(tt.ev, tt.err)))
		})
	}

	t.Run("pointer events are accepted", func(t *testing.T) {
		ev := nos("X", "100")
		runSteps(t, Config{}, []step{expect(&ev), expect(&AcceptNew{OrderID: "O1", TransactTime: t0}, er(etNew, stNew, "X", "", "100", "0", "100"))})
	})
}

// TestFillRedelivery: the venue delivers at least once; a redelivered fill
// is ignored.
func TestFillRedelivery(t *testing.T) {
	runSteps(t, Config{}, []step{
		expect(nos("X", "100")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
		expect(fill("O1", "V1", "10", "10"), er(etTrade, stPartFilled, "X", "", "100", "10", "90")),
		expect(fill("O1", "V1", "10", "10")),
		expect(correct("O1", "V1", "20", "10"), er(etCorrect, stPartFilled, "X", "", "100", "20", "80").ref("E2")),
		expect(fill("O1", "V1", "10", "10")), // the original, redelivered after its correction
		expect(bust("O1", "V1"), er(etBust, stNew, "X", "", "100", "0", "100").ref("E3")),
		expect(fill("O1", "V1", "10", "10")),
	})
}

// TestVenueRequests: the book tells the gateway what to route to the venue,
// once per accepted request, never for rejected, duplicate or resent ones.
func TestVenueRequests(t *testing.T) {
	b := NewBook(Config{})
	venue := func(ev Event) []VenueRequest {
		t.Helper()
		outs, err := b.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		var v []VenueRequest
		for _, o := range outs {
			if r, ok := o.(VenueRequest); ok {
				v = append(v, r)
			}
		}
		return v
	}
	got := venue(nos("X", "100"))
	if len(got) != 1 || got[0].Kind != VenueNew || got[0].OrderID != "O1" || !got[0].OrderQty.Equal(d("100")) ||
		!got[0].Price.Decimal.Equal(d("10")) || got[0].Symbol != symbol || got[0].Side != SideBuy {
		t.Fatalf("new: %+v", got)
	}
	if got := venue(resend(nos("X", "100"))); len(got) != 0 {
		t.Fatalf("resent order routed again: %+v", got)
	}
	if got := venue(nos("X", "100")); len(got) != 0 {
		t.Fatalf("duplicate order routed: %+v", got)
	}
	venue(accept("O1"))
	got = venue(rplPx("Y", "X", "150", "11"))
	if len(got) != 1 || got[0].Kind != VenueReplace || !got[0].OrderQty.Equal(d("150")) || !got[0].Price.Decimal.Equal(d("11")) {
		t.Fatalf("replace: %+v", got)
	}
	if got := venue(cxlReq("Z", "Y")); len(got) != 0 {
		t.Fatalf("rejected cancel routed: %+v", got)
	}
	venue(acceptRpl("O1"))
	got = venue(cxlReq("W", "Y"))
	if len(got) != 1 || got[0].Kind != VenueCancel || got[0].OrderID != "O1" {
		t.Fatalf("cancel: %+v", got)
	}
}

// TestAckPendingNew: with Config.AckPendingNew a valid order is answered
// with ExecType A at once.
func TestAckPendingNew(t *testing.T) {
	runSteps(t, Config{AckPendingNew: true}, []step{
		expect(nos("X", "100"), er(ExecTypePendingNew, stPendNew, "X", "", "100", "0", "100").oid("O1")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "100", "0", "100")),
	})
}

// TestAvgPx: the notional is exact; AvgPx is derived from it, rounded half
// away from zero at AvgPxPlaces.
func TestAvgPx(t *testing.T) {
	runSteps(t, Config{}, []step{
		expect(nos("X", "3")),
		expect(fill("O1", "V1", "1", "10"), er(etTrade, stPartFilled, "X", "", "3", "1", "2").avg("10")),
		expect(fill("O1", "V2", "2", "10.01"), er(etTrade, stFilled, "X", "", "3", "3", "0").avg("10.006666666667")),
		expect(bust("O1", "V1"), er(etBust, stPartFilled, "X", "", "3", "2", "1").avg("10.01").ref("E1")),
		expect(correct("O1", "V2", "2", "10.015"), er(etCorrect, stPartFilled, "X", "", "3", "2", "1").avg("10.015").ref("E2")),
	})
}

// TestCustomIDs: the configured prefixes name orders and executions.
func TestCustomIDs(t *testing.T) {
	runSteps(t, Config{OrderIDPrefix: "20250102-", ExecIDPrefix: "X-"}, []step{
		expect(nos("X", "100")),
		expect(AcceptNew{OrderID: "20250102-1", TransactTime: t0}, er(etNew, stNew, "X", "", "100", "0", "100").oid("20250102-1").xid("X-1")),
	})
}

// TestSessionsAreIndependent: ClOrdIDs are unique per session only.
func TestSessionsAreIndependent(t *testing.T) {
	b := NewBook(Config{})
	a, c := nos("X", "100"), nos("X", "200")
	c.Session = "S2"
	for _, ev := range []Event{a, c} {
		outs, err := b.Apply(ev)
		if err != nil || len(fixOutputs(outs)) != 0 {
			t.Fatalf("outs %v err %v", outs, err)
		}
	}
	o1, _ := b.Lookup(sess, "X")
	o2, _ := b.Lookup("S2", "X")
	if b.Len() != 2 || o1.OrderID != "O1" || o2.OrderID != "O2" || !o2.OrderQty.Equal(d("200")) {
		t.Fatalf("lookup: %+v %+v", o1, o2)
	}
}
