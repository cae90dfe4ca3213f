package order

import (
	"testing"
)

// Short names so that the tables read like the matrix rows:
// ExecType, OrdStatus, ClOrdID, OrigClOrdID, OrderQty, CumQty, LeavesQty.
const (
	etNew        = ExecTypeNew
	etDFD        = ExecTypeDoneForDay
	etCanceled   = ExecTypeCanceled
	etReplaced   = ExecTypeReplaced
	etPendCxl    = ExecTypePendingCancel
	etRejected   = ExecTypeRejected
	etRestated   = ExecTypeRestated
	etPendRpl    = ExecTypePendingReplace
	etTrade      = ExecTypeTrade
	etCorrect    = ExecTypeTradeCorrect
	etBust       = ExecTypeTradeCancel
	etStatus     = ExecTypeOrderStatus
	stNew        = OrdStatusNew
	stPartFilled = OrdStatusPartiallyFilled
	stFilled     = OrdStatusFilled
	stDFD        = OrdStatusDoneForDay
	stCanceled   = OrdStatusCanceled
	stPendCxl    = OrdStatusPendingCancel
	stRejected   = OrdStatusRejected
	stPendNew    = OrdStatusPendingNew
	stPendRpl    = OrdStatusPendingReplace
	toCancel     = CxlRejResponseToCancel
	toReplace    = CxlRejResponseToReplace
)

// scenario is one FIX 4.4 order state change matrix (ref) or a case the
// matrices leave open (ref ""). name is the subtest name; docs/orderstate.md
// maps each one to its matrix.
type scenario struct {
	name  string
	ref   string
	cfg   Config
	steps []step
}

var matrixScenarios = []scenario{
	// A: vanilla.
	{name: "A/filled order", ref: "A.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000").oid("O1")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000").last("2000", "10").avg("10")),
		expect(fill("O1", "V2", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3000", "7000").last("1000", "10")),
		expect(fill("O1", "V3", "7000", "10"), er(etTrade, stFilled, "X", "", "10000", "10000", "0").last("7000", "10").avg("10")),
	}},
	{name: "A/order rejected by the sell side", ref: "A.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(rejectNew("O1", OrdRejReasonExchangeClosed),
			er(etRejected, stRejected, "X", "", "10000", "0", "0").rej(OrdRejReasonExchangeClosed)),
		fails(accept("O1"), ErrInvalidTransition),
		fails(fill("O1", "V1", "1", "10"), ErrInvalidTransition),
	}},
	{name: "A/part-filled day order, done for day", ref: "A.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(fill("O1", "V2", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3000", "7000")),
		expect(dfd("O1"), er(etDFD, stDFD, "X", "", "10000", "3000", "0")),
		expect(cxlReq("Y", "X"), cxl("Y", "X", stDFD, toCancel, CxlRejReasonTooLate)),
	}},

	{name: "A/done for day before the ack, late ack refused", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(dfd("O1"), er(etDFD, stDFD, "X", "", "10000", "0", "0")),
		fails(accept("O1"), ErrInvalidTransition),
		fails(rejectNew("O1", OrdRejReasonExchangeClosed), ErrInvalidTransition),
		expect(statusReq("X"), er(etStatus, stDFD, "X", "", "10000", "0", "0")),
	}},

	// B: cancels.
	{name: "B/cancel of a zero-filled order", ref: "B.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
		expect(fill("O1", "V1", "10", "10"), er(etTrade, stCanceled, "Y", "", "10000", "10", "0")), // a late execution still counts
	}},
	{name: "B/cancel of a zero-filled order rejected by the sell side", ref: "B.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(rejectCxl("O1", CxlRejReasonBrokerOption), cxl("Y", "X", stNew, toCancel, CxlRejReasonBrokerOption).oid("O1")),
		expect(statusReq("X"), er(etStatus, stNew, "X", "", "10000", "0", "10000")),
		fails(acceptCxl("O1"), ErrInvalidTransition),
	}},
	{name: "B/part-filled, fill while cancel pending", ref: "B.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(fill("O1", "V2", "3000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "5000", "5000")), // passes the cancel on the wire
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "5000", "5000")),
		expect(fill("O1", "V3", "1000", "10"), er(etTrade, stPendCxl, "X", "", "10000", "6000", "4000").last("1000", "10")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "6000", "0")),
	}},
	{name: "B/filled before the cancel is accepted", ref: "B.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(fill("O1", "V2", "3000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "5000", "5000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "5000", "5000")),
		// The fill leaves nothing to cancel: the cancel is answered at once,
		// too late, with the status after (Filled).
		expect(fill("O1", "V3", "5000", "10"), er(etTrade, stPendCxl, "X", "", "10000", "10000", "0"),
			cxl("Y", "X", stFilled, toCancel, CxlRejReasonTooLate)),
		fails(acceptCxl("O1"), ErrInvalidTransition), // answered already
		fails(rejectCxl("O1", CxlRejReasonTooLate), ErrInvalidTransition),
		expect(cxlReq("Z", "X"), cxl("Z", "X", stFilled, toCancel, CxlRejReasonTooLate)), // not reason 3
	}},
	{name: "B/cancel arriving after the fill is too late", ref: "B.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "10000", "10"), er(etTrade, stFilled, "X", "", "10000", "10000", "0")),
		expect(cxlReq("Y", "X"), cxl("Y", "X", stFilled, toCancel, CxlRejReasonTooLate)),
	}},
	{name: "B/cancel of an order not yet acknowledged", ref: "B.1.d", steps: []step{
		expect(nos("X", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
		fails(accept("O1"), ErrInvalidTransition),
	}},
	{name: "B/cancel of an order not yet acknowledged, venue acks first", ref: "B.1.d", steps: []step{
		expect(nos("X", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(accept("O1"), er(etNew, stPendCxl, "X", "", "10000", "0", "10000")), // Pending Cancel takes precedence
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
	}},
	{name: "B/ack and cancel crossing", ref: "B.1.e", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")), // crosses the cancel
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
	}},
	{name: "B/cancel of an unknown order", ref: "B.1.f", steps: []step{
		expect(cxlReq("Y", "X"), cxl("Y", "X", stRejected, toCancel, CxlRejReasonUnknownOrder).oid(NoneOrderID)),
		checking(func(t *testing.T, b *Book) {
			if b.Known(sess, "X") || b.Known(sess, "Y") || b.Len() != 0 {
				t.Fatal("a reject for an unknown order must consume no ClOrdID")
			}
		}),
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
	}},

	{name: "B/order rejected while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(rejectNew("O1", OrdRejReasonBrokerOption),
			er(etRejected, stRejected, "X", "", "10000", "0", "0").rej(OrdRejReasonBrokerOption),
			cxl("Y", "X", stRejected, toCancel, CxlRejReasonTooLate)),
		fails(acceptCxl("O1"), ErrInvalidTransition),
	}},
	{name: "B/done for day while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "2000", "8000")),
		expect(dfd("O1"), er(etDFD, stPendCxl, "X", "", "10000", "2000", "0"),
			cxl("Y", "X", stDFD, toCancel, CxlRejReasonTooLate)),
		fails(acceptCxl("O1"), ErrInvalidTransition),
	}},
	{name: "B/GTC order done for day keeps its pending cancel", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceGTC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(dfd("O1"), er(etDFD, stPendCxl, "X", "", "10000", "0", "0")), // it works again another day
		expect(acceptCxl("O1"), er(etCanceled, stDFD, "Y", "X", "10000", "0", "0")),
	}},
	{name: "B/bust to zero while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "4000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "4000", "6000").xid("E2")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "4000", "6000")),
		// A bust only lowers CumQty: the order stays open, the cancel pending.
		expect(bust("O1", "V1"), er(etBust, stPendCxl, "X", "", "10000", "0", "10000").ref("E2")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
	}},
	{name: "B/order rejected while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(rejectNew("O1", OrdRejReasonBrokerOption),
			er(etRejected, stRejected, "X", "", "10000", "0", "0").rej(OrdRejReasonBrokerOption),
			cxl("Y", "X", stRejected, toReplace, CxlRejReasonTooLate)),
		fails(acceptRpl("O1"), ErrInvalidTransition),
	}},
	{name: "B/done for day while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "2000", "8000")),
		expect(dfd("O1"), er(etDFD, stPendRpl, "X", "", "10000", "2000", "0"),
			cxl("Y", "X", stDFD, toReplace, CxlRejReasonTooLate)),
		fails(acceptRpl("O1"), ErrInvalidTransition),
		expect(rplReq("Z", "X", "7000"), cxl("Z", "X", stDFD, toReplace, CxlRejReasonTooLate)), // not reason 3
	}},
	{name: "B/GTC order done for day keeps its pending replace", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceGTC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(func() Event { e := rplReq("Y", "X", "8000"); e.TimeInForce = TimeInForceGTC; return e }(),
			er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(dfd("O1"), er(etDFD, stPendRpl, "X", "", "10000", "0", "0")), // it works again another day
		expect(acceptRpl("O1"), er(etReplaced, stDFD, "Y", "X", "8000", "0", "0")),
	}},
	{name: "B/bust to zero while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "4000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "4000", "6000").xid("E2")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "4000", "6000")),
		// A bust only lowers CumQty: the order stays open, the replace pending.
		expect(bust("O1", "V1"), er(etBust, stPendRpl, "X", "", "10000", "0", "10000").ref("E2")),
		expect(acceptRpl("O1"), er(etReplaced, stNew, "Y", "X", "8000", "0", "8000")),
	}},

	// C: cancel/replace quantity changes.
	{name: "C/increase on a zero-filled order", ref: "C.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "11000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(acceptRpl("O1"), er(etReplaced, stNew, "Y", "X", "11000", "0", "11000")),
		expect(fill("O1", "V1", "11000", "10"), er(etTrade, stFilled, "Y", "", "11000", "11000", "0")),
	}},
	{name: "C/increase on a part-filled order, fill while pending", ref: "C.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplReq("Y", "X", "12000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "100", "10"), er(etTrade, stPendRpl, "X", "", "10000", "1100", "8900")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "12000", "1100", "10900")),
		expect(fill("O1", "V3", "10900", "10"), er(etTrade, stFilled, "Y", "", "12000", "12000", "0")),
	}},
	{name: "C/increase on a filled order", ref: "C.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "10000", "10"), er(etTrade, stFilled, "X", "", "10000", "10000", "0")),
		expect(rplReq("Y", "X", "12000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "10000", "0")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "12000", "10000", "2000")),
		expect(fill("O1", "V2", "2000", "10"), er(etTrade, stFilled, "Y", "", "12000", "12000", "0")),
	}},
	{name: "C/non-quantity replace rejected because of a fill", ref: "C.2.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "9000", "10"), er(etTrade, stFilled, "X", "", "10000", "10000", "0")), // passes the replace
		expect(rplPx("Y", "X", "10000", "10.5"), cxl("Y", "X", stFilled, toReplace, CxlRejReasonTooLate)),
	}},
	{name: "C/decrease crossing a fill, new qty above CumQty", ref: "C.3.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "500", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1500", "8500")), // passes the replace
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1500", "8500")),
		expect(fill("O1", "V3", "100", "10"), er(etTrade, stPendRpl, "X", "", "10000", "1600", "8400")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "8000", "1600", "6400")),
		expect(fill("O1", "V4", "6400", "10"), er(etTrade, stFilled, "Y", "", "8000", "8000", "0")),
	}},
	{name: "C/decrease crossing a fill, new qty equal to CumQty", ref: "C.3.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "7000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "7000", "3000")), // passes the replace
		expect(rplReq("Y", "X", "7000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "7000", "3000")),
		expect(acceptRpl("O1"), er(etReplaced, stFilled, "Y", "X", "7000", "7000", "0")),
	}},
	{name: "C/decrease crossing a fill, new qty below CumQty", ref: "C.3.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "8000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "8000", "2000")), // passes the replace
		expect(rplReq("Y", "X", "7000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "8000", "2000")),
		expect(acceptRpl("O1"), er(etReplaced, stFilled, "Y", "X", "8000", "8000", "0")), // OrderQty amended to CumQty
		fails(fill("O1", "V2", "1", "10"), ErrOverfill),
	}},
	{name: "C/decrease overtaken by a fill while pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "5000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(fill("O1", "V1", "7000", "10"), er(etTrade, stPendRpl, "X", "", "10000", "7000", "3000")), // against the original 10000
		expect(acceptRpl("O1"), er(etReplaced, stFilled, "Y", "X", "7000", "7000", "0")),
	}},

	{name: "C/filled while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplPx("Y", "X", "10000", "10.5"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "9000", "10"), er(etTrade, stPendRpl, "X", "", "10000", "10000", "0"),
			cxl("Y", "X", stFilled, toReplace, CxlRejReasonTooLate)),
		fails(acceptRpl("O1"), ErrInvalidTransition),
	}},
	{name: "C/filled while an increase is pending keeps it pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "12000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(fill("O1", "V1", "10000", "10"), er(etTrade, stPendRpl, "X", "", "10000", "10000", "0")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "12000", "10000", "2000")),
	}},

	// D: sequencing and chaining.
	{name: "D/two replaces accepted in a row", ref: "D.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "500", "10"), er(etTrade, stPendRpl, "X", "", "10000", "1500", "8500")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "8000", "1500", "6500")),
		expect(fill("O1", "V3", "2000", "10"), er(etTrade, stPartFilled, "Y", "", "8000", "3500", "4500")),
		expect(rplReq("Z", "Y", "6000"), er(etPendRpl, stPendRpl, "Z", "Y", "8000", "3500", "4500")),
		expect(fill("O1", "V4", "500", "10"), er(etTrade, stPendRpl, "Y", "", "8000", "4000", "4000")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Z", "Y", "6000", "4000", "2000")),
		expect(fill("O1", "V5", "2000", "10"), er(etTrade, stFilled, "Z", "", "6000", "6000", "0")),
	}},
	{name: "D/first replace rejected before pending, then another", ref: "D.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplPx("Y", "X", "8000", "-1"), cxl("Y", "X", stPartFilled, toReplace, CxlRejReasonOther)), // rejected at once
		expect(fill("O1", "V2", "500", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1500", "8500")),
		expect(fill("O1", "V3", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3500", "6500")),
		expect(rplReq("Z", "X", "6000"), er(etPendRpl, stPendRpl, "Z", "X", "10000", "3500", "6500")), // X: last non-rejected
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Z", "X", "6000", "3500", "2500")),
		expect(fill("O1", "V4", "1500", "10"), er(etTrade, stPartFilled, "Z", "", "6000", "5000", "1000")),
	}},
	{name: "D/first replace rejected after pending, then another", ref: "D.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(fill("O1", "V2", "500", "10"), er(etTrade, stPendRpl, "X", "", "10000", "1500", "8500")),
		expect(rejectRpl("O1", CxlRejReasonBrokerOption), cxl("Y", "X", stPartFilled, toReplace, CxlRejReasonBrokerOption)),
		expect(fill("O1", "V3", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3500", "6500")),
		expect(rplReq("Z", "X", "6000"), er(etPendRpl, stPendRpl, "Z", "X", "10000", "3500", "6500")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Z", "X", "6000", "3500", "2500")),
		expect(fill("O1", "V4", "1500", "10"), er(etTrade, stPartFilled, "Z", "", "6000", "5000", "1000")),
	}},
	{name: "D/second replace while the first is pending rejected with reason 3", ref: "D.2.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		// The buy side chains: OrigClOrdID = Y, its last non-rejected ClOrdID.
		expect(rplReq("Z", "Y", "7000"), cxl("Z", "X", stPendRpl, toReplace, CxlRejReasonAlreadyPending)),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "8000", "1000", "7000")),
		expect(fill("O1", "V2", "2000", "10"), er(etTrade, stPartFilled, "Y", "", "8000", "3000", "5000")),
		expect(rplReq("Z", "Y", "7000"), cxl("Z", "Y", stPartFilled, toReplace, CxlRejReasonDuplicateClOrdID)), // Z is spent
		expect(rplReq("Z2", "Y", "7000"), er(etPendRpl, stPendRpl, "Z2", "Y", "8000", "3000", "5000")),
	}},
	{name: "D/cancel while a replace is pending rejected with reason 3", ref: "D.2.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(cxlReq("Z", "Y"), cxl("Z", "X", stPendRpl, toCancel, CxlRejReasonAlreadyPending)),
		expect(cxlReq("W", "X"), cxl("W", "X", stPendRpl, toCancel, CxlRejReasonAlreadyPending)),
		expect(acceptRpl("O1"), er(etReplaced, stNew, "Y", "X", "8000", "0", "8000")),
		expect(cxlReq("V", "Y"), er(etPendCxl, stPendCxl, "V", "Y", "8000", "0", "8000")),
		expect(rplReq("U", "Y", "9000"), cxl("U", "Y", stPendCxl, toReplace, CxlRejReasonAlreadyPending)),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "V", "Y", "8000", "0", "0")),
	}},
	{name: "D/OrigClOrdID naming a rejected or replaced ClOrdID", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "0"), cxl("Y", "X", stNew, toReplace, CxlRejReasonOther)),
		expect(rplReq("Z", "Y", "8000"), cxl("Z", "X", stNew, toReplace, CxlRejReasonBrokerOption)),
		expect(rplReq("W", "X", "8000"), er(etPendRpl, stPendRpl, "W", "X", "10000", "0", "10000")),
		expect(acceptRpl("O1"), er(etReplaced, stNew, "W", "X", "8000", "0", "8000")),
		expect(cxlReq("V", "X"), cxl("V", "W", stNew, toCancel, CxlRejReasonBrokerOption)), // X was replaced
	}},

	// E: unsolicited cancels and replaces.
	{name: "E/unsolicited cancel of a zero-filled order", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(unsolicitedCxl("O1", RestatementCancelOnTradingHalt),
			er(etCanceled, stCanceled, "X", "", "10000", "0", "0").restated(RestatementCancelOnTradingHalt)),
	}},
	{name: "E/unsolicited cancel of a part-filled order", ref: "E.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(unsolicitedCxl("O1", RestatementVerbalChange),
			er(etCanceled, stCanceled, "X", "", "10000", "1000", "0").restated(RestatementVerbalChange)),
		fails(unsolicitedCxl("O1", RestatementVerbalChange), ErrInvalidTransition),
	}},
	{name: "E/unsolicited replace", ref: "E.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(restateQty("O1", "11000", RestatementVerbalChange),
			er(etRestated, stNew, "X", "", "11000", "0", "11000").restated(RestatementVerbalChange)),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "11000", "1000", "10000")),
		expect(restateQty("O1", "12000", RestatementVerbalChange),
			er(etRestated, stPartFilled, "X", "", "12000", "1000", "11000").restated(RestatementVerbalChange)),
	}},
	{name: "E/unsolicited reduction of order quantity", ref: "E.1.d", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(restateQty("O1", "8000", RestatementPartialDecline),
			er(etRestated, stPartFilled, "X", "", "8000", "1000", "7000").restated(RestatementPartialDecline)),
		expect(restateQty("O1", "500", RestatementPartialDecline), // below CumQty: nothing left open
			er(etRestated, stFilled, "X", "", "1000", "1000", "0").restated(RestatementPartialDecline)),
	}},
	{name: "E/unsolicited cancel while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(unsolicitedCxl("O1", RestatementBrokerOption),
			er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0").restated(RestatementBrokerOption)),
	}},
	{name: "E/unsolicited cancel while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "0", "10000")),
		expect(unsolicitedCxl("O1", RestatementCancelOnSystemFailure),
			er(etCanceled, stCanceled, "X", "", "10000", "0", "0").restated(RestatementCancelOnSystemFailure),
			cxl("Y", "X", stCanceled, toReplace, CxlRejReasonTooLate)),
	}},
	{name: "E/restatement below CumQty while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "3000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3000", "7000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "3000", "7000")),
		expect(restateQty("O1", "2000", RestatementPartialDecline),
			er(etRestated, stPendCxl, "X", "", "3000", "3000", "0").restated(RestatementPartialDecline),
			cxl("Y", "X", stFilled, toCancel, CxlRejReasonTooLate)),
	}},
	{name: "E/restatement below CumQty while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "3000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "3000", "7000")),
		// A replace to at most CumQty: once filled, it is too late (an
		// increase above CumQty would stay pending, C.1.c).
		expect(rplPx("Y", "X", "3000", "10.5"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "3000", "7000")),
		expect(restateQty("O1", "2000", RestatementPartialDecline),
			er(etRestated, stPendRpl, "X", "", "3000", "3000", "0").restated(RestatementPartialDecline),
			cxl("Y", "X", stFilled, toReplace, CxlRejReasonTooLate)),
		fails(acceptRpl("O1"), ErrInvalidTransition),
	}},
	{name: "E/GT order done for day, renewed by restatement", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceGTC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "2000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "2000", "8000")),
		expect(dfd("O1"), er(etDFD, stDFD, "X", "", "10000", "2000", "0")),
		expect(Restate{OrderID: "O1", Reason: RestatementGTRenewal, TransactTime: t0},
			er(etRestated, stPartFilled, "X", "", "10000", "2000", "8000").restated(RestatementGTRenewal)),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "2000", "8000")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "2000", "0")),
	}},

	// F: rejects.
	{name: "F/duplicate ClOrdID", ref: "F.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		// Reject of the second order combined with the state of the first.
		expect(nos("X", "20000"), er(etRejected, stNew, "X", "", "10000", "0", "10000").rej(OrdRejReasonDuplicateOrder).oid("O1")),
		expect(statusReq("X"), er(etStatus, stNew, "X", "", "10000", "0", "10000")),
		checking(func(t *testing.T, b *Book) {
			if b.Len() != 1 {
				t.Fatalf("%d orders, want 1", b.Len())
			}
		}),
	}},
	{name: "F/PossResend duplicate", ref: "F.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(resend(nos("X", "10000")), er(etStatus, stNew, "X", "", "10000", "0", "10000").oid("O1").xid(StatusExecID)),
		expect(nos("X", "20000"), er(etRejected, stNew, "X", "", "10000", "0", "10000").rej(OrdRejReasonDuplicateOrder)),
		expect(resend(nos("Y", "15000"))), // never received before: a new order
		expect(accept("O2"), er(etNew, stNew, "Y", "", "15000", "0", "15000").oid("O2")),
		checking(func(t *testing.T, b *Book) {
			if b.Len() != 2 {
				t.Fatalf("%d orders, want 2", b.Len())
			}
		}),
	}},
	{name: "F/resent and duplicate cancel requests", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(func() Event { e := cxlReq("Y", "X"); e.PossResend = true; return e }(),
			er(etStatus, stPendCxl, "X", "", "10000", "0", "10000")),
		expect(cxlReq("Y", "X"), cxl("Y", "X", stPendCxl, toCancel, CxlRejReasonDuplicateClOrdID)),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")),
		expect(nos("Y", "500"), er(etRejected, stCanceled, "Y", "", "10000", "0", "0").rej(OrdRejReasonDuplicateOrder).oid("O1")),
	}},

	// G: order status requests.
	{name: "G/status request for an unknown order", ref: "G.1.a", steps: []step{
		expect(statusReq("X"), er(etStatus, stRejected, "X", "", "0", "0", "0").oid(NoneOrderID).rej(OrdRejReasonUnknownOrder)),
	}},
	{name: "G/status requests during the order's life", ref: "G.1.c", steps: []step{
		expect(nos("X", "10000")),
		expect(statusReq("X"), er(etStatus, stPendNew, "X", "", "10000", "0", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(statusReq("X"), er(etStatus, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(statusReq("X"), er(etStatus, stPartFilled, "X", "", "10000", "1000", "9000").avg("10")),
		expect(rplReq("Y", "X", "8000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(statusReq("X"), er(etStatus, stPendRpl, "X", "", "10000", "1000", "9000")),
		expect(statusReq("Y"), er(etStatus, stPendRpl, "X", "", "10000", "1000", "9000")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "8000", "1000", "7000")),
		expect(statusReq("Y"), er(etStatus, stPartFilled, "Y", "X", "8000", "1000", "7000")),
		expect(fill("O1", "V2", "7000", "10"), er(etTrade, stFilled, "Y", "", "8000", "8000", "0")),
		expect(OrderStatusRequest{Session: sess, OrderID: "O1", OrdStatusReqID: "R1", TransactTime: t0},
			er(etStatus, stFilled, "Y", "X", "8000", "8000", "0")),
		expect(OrderStatusRequest{Session: "S2", ClOrdID: "Y", OrderID: "O1", TransactTime: t0},
			er(etStatus, stRejected, "Y", "", "0", "0", "0").oid(NoneOrderID).rej(OrdRejReasonUnknownOrder).in("S2")),
	}},

	// I: time in force.
	{name: "I/FOK order cannot be filled", ref: "I.1.a", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceFOK)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		fails(fill("O1", "V1", "4000", "10"), ErrOverfill), // all or nothing
		expect(expire("O1"), er(etCanceled, stCanceled, "X", "", "10000", "0", "0")),
	}},
	{name: "I/FOK order filled in full", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceFOK)),
		expect(fill("O1", "V1", "10000", "10"), er(etTrade, stFilled, "X", "", "10000", "10000", "0")), // implies the ack
		fails(expire("O1"), ErrInvalidTransition),
	}},
	{name: "I/IOC order not hit", ref: "I.1.b", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceIOC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(expire("O1"), er(etCanceled, stCanceled, "X", "", "10000", "0", "0")),
	}},
	{name: "I/IOC order partly hit, remainder canceled", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceIOC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(expire("O1"), er(etCanceled, stCanceled, "X", "", "10000", "1000", "0")),
		fails(expire("O1"), ErrInvalidTransition),
	}},
	{name: "I/IOC expired while a cancel is pending", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceIOC)),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(accept("O1"), er(etNew, stPendCxl, "X", "", "10000", "0", "10000")),
		expect(expire("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")), // honours the cancel
	}},
	{name: "I/IOC expired while a replace is pending", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceIOC)),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "1000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000")),
		expect(func() Event { e := rplReq("Y", "X", "8000"); e.TimeInForce = TimeInForceIOC; return e }(),
			er(etPendRpl, stPendRpl, "Y", "X", "10000", "1000", "9000")),
		expect(expire("O1"), er(etCanceled, stCanceled, "X", "", "10000", "1000", "0"),
			cxl("Y", "X", stCanceled, toReplace, CxlRejReasonTooLate)),
	}},
	{name: "I/FOK killed while a cancel is pending", ref: "", steps: []step{
		expect(nosTIF("X", "10000", TimeInForceFOK)),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "0", "10000")),
		expect(accept("O1"), er(etNew, stPendCxl, "X", "", "10000", "0", "10000")),
		expect(expire("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "0", "0")), // honours the cancel
		fails(acceptCxl("O1"), ErrInvalidTransition),
	}},
	{name: "I/expiry of a day order is refused", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		fails(expire("O1"), ErrInvalidTransition),
	}},

	// J: busted and corrected executions.
	{name: "J/filled order, corrections and busts", ref: "J.1.a", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000").xid("E1")),
		expect(fill("O1", "C", "1000", "100"), er(etTrade, stPartFilled, "X", "", "10000", "1000", "9000").avg("100").last("1000", "100").xid("E2")),
		expect(fill("O1", "D", "9000", "110"), er(etTrade, stFilled, "X", "", "10000", "10000", "0").avg("109").last("9000", "110").xid("E3")),
		expect(bust("O1", "C"), er(etBust, stPartFilled, "X", "", "10000", "9000", "1000").avg("110").last("0", "0").ref("E2")),
		expect(correct("O1", "D", "9000", "100"), er(etCorrect, stPartFilled, "X", "", "10000", "9000", "1000").avg("100").last("9000", "100").ref("E3").xid("E5")),
		expect(fill("O1", "G", "1000", "120"), er(etTrade, stFilled, "X", "", "10000", "10000", "0").avg("102").last("1000", "120")),
		expect(correct("O1", "E5", "9000", "120"), er(etCorrect, stFilled, "X", "", "10000", "10000", "0").avg("120").last("9000", "120").ref("E5").xid("E7")),
		expect(rplReq("Y", "X", "12000"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "10000", "0").avg("120")),
		expect(acceptRpl("O1"), er(etReplaced, stPartFilled, "Y", "X", "12000", "10000", "2000").avg("120")),
		expect(correct("O1", "E7", "9500", "120"), er(etCorrect, stPartFilled, "Y", "", "12000", "10500", "1500").avg("120").last("9500", "120").ref("E7")),
		fails(bust("O1", "C"), ErrUnknownExecution), // already busted
	}},
	{name: "J/canceled order, busted execution then a new one", ref: "J.1.b", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "B", "5000", "50"), er(etTrade, stPartFilled, "X", "", "10000", "5000", "5000").xid("E2")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "5000", "5000")),
		expect(acceptCxl("O1"), er(etCanceled, stCanceled, "Y", "X", "10000", "5000", "0")),
		expect(bust("O1", "B"), er(etBust, stCanceled, "Y", "", "10000", "0", "0").ref("E2").avg("0")),
		expect(fill("O1", "F", "4000", "51"), er(etTrade, stCanceled, "Y", "", "10000", "4000", "0").last("4000", "51").avg("51")),
	}},
	{name: "J/correction fills the order while a cancel is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "4000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "4000", "6000").xid("E2")),
		expect(cxlReq("Y", "X"), er(etPendCxl, stPendCxl, "Y", "X", "10000", "4000", "6000")),
		expect(correct("O1", "V1", "10000", "10"), er(etCorrect, stPendCxl, "X", "", "10000", "10000", "0").ref("E2"),
			cxl("Y", "X", stFilled, toCancel, CxlRejReasonTooLate)),
	}},
	{name: "J/correction fills the order while a replace is pending", ref: "", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "V1", "4000", "10"), er(etTrade, stPartFilled, "X", "", "10000", "4000", "6000").xid("E2")),
		expect(rplPx("Y", "X", "10000", "10.5"), er(etPendRpl, stPendRpl, "Y", "X", "10000", "4000", "6000")),
		expect(correct("O1", "V1", "10000", "10"), er(etCorrect, stPendRpl, "X", "", "10000", "10000", "0").ref("E2"),
			cxl("Y", "X", stFilled, toReplace, CxlRejReasonTooLate)),
		fails(acceptRpl("O1"), ErrInvalidTransition),
	}},
	{name: "J/done for day, corrected then busted", ref: "J.1.d", steps: []step{
		expect(nos("X", "10000")),
		expect(accept("O1"), er(etNew, stNew, "X", "", "10000", "0", "10000")),
		expect(fill("O1", "B", "5000", "50"), er(etTrade, stPartFilled, "X", "", "10000", "5000", "5000").xid("E2")),
		expect(dfd("O1"), er(etDFD, stDFD, "X", "", "10000", "5000", "0")),
		expect(correct("O1", "B", "4000", "50"), er(etCorrect, stDFD, "X", "", "10000", "4000", "0").last("4000", "50").ref("E2").xid("E4")),
		expect(bust("O1", "E4"), er(etBust, stDFD, "X", "", "10000", "0", "0").ref("E4")),
	}},
}

// TestOrderStateMatrices runs every scenario of the FIX 4.4 order state
// change matrices (and the cases they leave open) step by step.
func TestOrderStateMatrices(t *testing.T) {
	for _, sc := range matrixScenarios {
		t.Run(sc.name, func(t *testing.T) {
			runSteps(t, sc.cfg, sc.steps)
		})
	}
}
