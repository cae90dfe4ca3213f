package order

import (
	"time"

	"github.com/shopspring/decimal"
)

// This file handles the counterparty (buy-side) messages: D, F, G and H;
// venue.go the sell side.

func (e NewOrderSingle) apply(b *Book) ([]Output, error) {
	if e.Session == "" {
		return nil, ErrNoSession
	}
	t := e.TransactTime.UTC()
	if e.ClOrdID == "" {
		// Nothing to attach the reject to: answer it, record nothing.
		return []Output{ExecutionReport{
			Session:               e.Session,
			OrderID:               NoneOrderID,
			ExecID:                b.nextExecID(),
			ExecType:              ExecTypeRejected,
			OrdStatus:             OrdStatusRejected,
			OrdRejReason:          OrdRejReasonOther,
			ExecRestatementReason: NoRestatementReason,
			Account:               e.Account,
			Symbol:                e.Symbol,
			Side:                  e.Side,
			OrdType:               e.OrdType,
			TimeInForce:           e.TimeInForce,
			Price:                 e.Price,
			OrderQty:              e.OrderQty,
			CumQty:                decimal.Zero,
			LeavesQty:             decimal.Zero,
			AvgPx:                 decimal.Zero,
			LastQty:               decimal.Zero,
			LastPx:                decimal.Zero,
			Text:                  "ClOrdID is required",
			TransactTime:          t,
		}}, nil
	}
	if o, ok := b.byClOrdID[clKey{e.Session, e.ClOrdID}]; ok {
		if e.PossResend {
			// F.1.b: already received, confirm the current state.
			er := statusReport(o, t)
			er.Text = "PossResend: order already received"
			return []Output{er}, nil
		}
		// F.1.a: reject the second order, report the first one's state.
		er := b.report(o, ExecTypeRejected, t)
		er.ClOrdID = e.ClOrdID
		er.OrdRejReason = OrdRejReasonDuplicateOrder
		er.Text = "duplicate ClOrdID"
		return []Output{er}, nil
	}

	o := &OrderState{
		Session:     e.Session,
		ClOrdID:     e.ClOrdID,
		Account:     e.Account,
		Symbol:      e.Symbol,
		Side:        e.Side,
		OrdType:     e.OrdType,
		Price:       e.Price,
		TimeInForce: e.TimeInForce.Normalize(),
		HandlInst:   e.HandlInst,
		OrderQty:    e.OrderQty,
		CumQty:      decimal.Zero,
		Notional:    decimal.Zero,
	}
	reason, text := validateNew(&e)
	b.addOrder(o)
	if reason.Set() {
		// The rejected order is kept: its ClOrdID is consumed and a status
		// request or a PossResend finds it.
		o.Rejected = true
		er := b.report(o, ExecTypeRejected, t)
		er.OrdRejReason = reason
		er.Text = text
		return []Output{er}, nil
	}
	var outs []Output
	if b.cfg.AckPendingNew {
		outs = append(outs, b.report(o, ExecTypePendingNew, t))
	}
	return append(outs, venueRequest(VenueNew, o, t)), nil
}

// validateNew returns the OrdRejReason and text for an invalid order,
// NoOrdRejReason for a valid one.
func validateNew(e *NewOrderSingle) (OrdRejReason, string) {
	switch {
	case e.Symbol == "":
		return OrdRejReasonUnknownSymbol, "Symbol is required"
	case !e.Side.Valid():
		return OrdRejReasonUnsupportedCharacteristic, "unknown Side " + e.Side.String()
	case !e.OrdType.Valid():
		return OrdRejReasonUnsupportedCharacteristic, "unsupported OrdType " + e.OrdType.String()
	case !e.TimeInForce.Valid():
		return OrdRejReasonUnsupportedCharacteristic, "unsupported TimeInForce " + e.TimeInForce.String()
	case !e.HandlInst.Valid():
		return OrdRejReasonUnsupportedCharacteristic, "unsupported HandlInst " + e.HandlInst.String()
	case e.OrderQty.Sign() <= 0:
		return OrdRejReasonIncorrectQuantity, "OrderQty must be positive"
	}
	if text := priceError(e.OrdType, e.Price); text != "" {
		return OrdRejReasonOther, text
	}
	return NoOrdRejReason, ""
}

// priceError checks the price against the order type: a limit order needs a
// positive Price, a market order has none. It returns "" when valid.
func priceError(t OrdType, px decimal.NullDecimal) string {
	switch {
	case t == OrdTypeLimit && !px.Valid:
		return "limit order requires a Price"
	case t == OrdTypeLimit && px.Decimal.Sign() <= 0:
		return "Price must be positive"
	case t == OrdTypeMarket && px.Valid:
		return "market order must not carry a Price"
	}
	return ""
}

func (e OrderCancelRequest) apply(b *Book) ([]Output, error) {
	if e.Session == "" {
		return nil, ErrNoSession
	}
	t := e.TransactTime.UTC()
	o, outs, done := b.changePrologue(e.Session, e.ClOrdID, e.OrigClOrdID, e.PossResend, CxlRejResponseToCancel, t)
	if done {
		return outs, nil
	}
	reject := func(reason CxlRejReason, text string) ([]Output, error) {
		b.consume(o, e.ClOrdID)
		return []Output{cancelReject(o, e.ClOrdID, CxlRejResponseToCancel, reason, text, t)}, nil
	}
	if reason, text, bad := checkChange(o, e.OrigClOrdID, e.Symbol, e.Side, ChangeCancel, decimal.Zero); bad {
		return reject(reason, text)
	}

	o.Pending = &PendingChange{Kind: ChangeCancel, ClOrdID: e.ClOrdID}
	b.consume(o, e.ClOrdID)
	er := b.report(o, ExecTypePendingCancel, t)
	er.ClOrdID = e.ClOrdID
	er.OrigClOrdID = o.ClOrdID
	return []Output{er, venueRequest(VenueCancel, o, t)}, nil
}

func (e OrderCancelReplaceRequest) apply(b *Book) ([]Output, error) {
	if e.Session == "" {
		return nil, ErrNoSession
	}
	t := e.TransactTime.UTC()
	o, outs, done := b.changePrologue(e.Session, e.ClOrdID, e.OrigClOrdID, e.PossResend, CxlRejResponseToReplace, t)
	if done {
		return outs, nil
	}
	reject := func(reason CxlRejReason, text string) ([]Output, error) {
		b.consume(o, e.ClOrdID)
		return []Output{cancelReject(o, e.ClOrdID, CxlRejResponseToReplace, reason, text, t)}, nil
	}
	if reason, text, bad := checkChange(o, e.OrigClOrdID, e.Symbol, e.Side, ChangeReplace, e.OrderQty); bad {
		return reject(reason, text)
	}
	switch {
	case !e.OrdType.Valid():
		return reject(CxlRejReasonOther, "unsupported OrdType "+e.OrdType.String())
	case !e.TimeInForce.Valid():
		return reject(CxlRejReasonOther, "unsupported TimeInForce "+e.TimeInForce.String())
	case !e.HandlInst.Valid():
		return reject(CxlRejReasonOther, "unsupported HandlInst "+e.HandlInst.String())
	case e.OrderQty.Sign() <= 0:
		return reject(CxlRejReasonOther, "OrderQty must be positive")
	}
	if text := priceError(e.OrdType, e.Price); text != "" {
		return reject(CxlRejReasonOther, text)
	}

	p := &PendingChange{
		Kind:        ChangeReplace,
		ClOrdID:     e.ClOrdID,
		Account:     e.Account,
		OrdType:     e.OrdType,
		Price:       e.Price,
		OrderQty:    e.OrderQty,
		TimeInForce: e.TimeInForce.Normalize(),
		HandlInst:   e.HandlInst,
	}
	if p.Account == "" {
		p.Account = o.Account
	}
	if p.HandlInst == 0 {
		p.HandlInst = o.HandlInst
	}
	o.Pending = p
	b.consume(o, e.ClOrdID)
	er := b.report(o, ExecTypePendingReplace, t)
	er.ClOrdID = e.ClOrdID
	er.OrigClOrdID = o.ClOrdID
	vr := venueRequest(VenueReplace, o, t)
	vr.OrdType, vr.TimeInForce, vr.Price, vr.OrderQty = p.OrdType, p.TimeInForce, p.Price, p.OrderQty
	return []Output{er, vr}, nil
}

// changePrologue runs the checks common to cancel and replace requests that
// do not depend on the order's state: resend/duplicate ClOrdID and unknown
// order. When done is true, outs is the whole answer. Otherwise o is the
// order OrigClOrdID names.
func (b *Book) changePrologue(session, clOrdID, origClOrdID string, possResend bool, to CxlRejResponseTo, t time.Time) (o *OrderState, outs []Output, done bool) {
	o = b.byClOrdID[clKey{session, origClOrdID}]
	if owner, ok := b.byClOrdID[clKey{session, clOrdID}]; ok && clOrdID != "" {
		if possResend {
			er := statusReport(owner, t)
			er.Text = "PossResend: request already received"
			return nil, []Output{er}, true
		}
		if o == nil {
			o = owner
		}
		return nil, []Output{cancelReject(o, clOrdID, to, CxlRejReasonDuplicateClOrdID, "duplicate ClOrdID", t)}, true
	}
	if o == nil {
		// B.1.f: unknown order. Neither ClOrdID is consumed.
		return nil, []Output{OrderCancelReject{
			Session:          session,
			OrderID:          NoneOrderID,
			ClOrdID:          clOrdID,
			OrigClOrdID:      origClOrdID,
			OrdStatus:        OrdStatusRejected,
			CxlRejResponseTo: to,
			CxlRejReason:     CxlRejReasonUnknownOrder,
			Text:             "unknown order",
			TransactTime:     t,
		}}, true
	}
	if clOrdID == "" {
		return nil, []Output{cancelReject(o, clOrdID, to, CxlRejReasonOther, "ClOrdID is required", t)}, true
	}
	return o, nil, false
}

// checkChange applies the state checks common to cancel and replace
// requests on a known order, in this order: one outstanding change per
// order (reason 3), OrigClOrdID must be the last accepted ClOrdID (reason
// 2), the change must not be too late (reason 0, see tooLate; qty is a
// replace's new OrderQty), Symbol/Side must match (reason 99).
func checkChange(o *OrderState, origClOrdID, symbol string, side Side, kind ChangeKind, qty decimal.Decimal) (CxlRejReason, string, bool) {
	if o.Pending != nil {
		return CxlRejReasonAlreadyPending, "order already has a pending " + string(o.Pending.Kind) + " (ClOrdID " + o.Pending.ClOrdID + ")", true
	}
	if origClOrdID != o.ClOrdID {
		return CxlRejReasonBrokerOption, "OrigClOrdID " + origClOrdID + " is not the order's current ClOrdID " + o.ClOrdID, true
	}
	if text, late := tooLate(o, kind, qty); late {
		return CxlRejReasonTooLate, text, true
	}
	switch {
	case symbol != "" && symbol != o.Symbol:
		return CxlRejReasonOther, "Symbol does not match the order", true
	case side != 0 && side != o.Side:
		return CxlRejReasonOther, "Side does not match the order", true
	}
	return 0, "", false
}

// tooLate says why a change of kind (a replace to OrderQty qty) is too late
// for o as it stands, CxlRejReason 0: the order was rejected or canceled,
// is done for day (unless GTC: it works again on another day), or is filled
// (B.1.c; for a replace, unless it raises OrderQty above CumQty, which
// reopens the order, C.1.c). The same rule answers a request on arrival and
// a pending one when the order gets there (settle).
func tooLate(o *OrderState, kind ChangeKind, qty decimal.Decimal) (string, bool) {
	switch {
	case o.Rejected:
		return "order was rejected", true
	case o.Canceled:
		return "order is canceled", true
	case o.DoneForDay && o.TimeInForce != TimeInForceGTC:
		return "order is done for day", true
	case o.Filled() && (kind == ChangeCancel || qty.Cmp(o.CumQty) <= 0):
		return "order is filled", true
	}
	return "", false
}

func (e OrderStatusRequest) apply(b *Book) ([]Output, error) {
	if e.Session == "" {
		return nil, ErrNoSession
	}
	t := e.TransactTime.UTC()
	o := b.byClOrdID[clKey{e.Session, e.ClOrdID}]
	if o == nil && e.OrderID != "" {
		if byID := b.byOrderID[e.OrderID]; byID != nil && byID.Session == e.Session {
			o = byID
		}
	}
	if o == nil {
		// G.1.a: unknown order.
		return []Output{ExecutionReport{
			Session:               e.Session,
			OrderID:               NoneOrderID,
			ClOrdID:               e.ClOrdID,
			ExecID:                StatusExecID,
			ExecType:              ExecTypeOrderStatus,
			OrdStatus:             OrdStatusRejected,
			OrdRejReason:          OrdRejReasonUnknownOrder,
			ExecRestatementReason: NoRestatementReason,
			Symbol:                e.Symbol,
			Side:                  e.Side,
			OrderQty:              decimal.Zero,
			CumQty:                decimal.Zero,
			LeavesQty:             decimal.Zero,
			AvgPx:                 decimal.Zero,
			LastQty:               decimal.Zero,
			LastPx:                decimal.Zero,
			OrdStatusReqID:        e.OrdStatusReqID,
			Text:                  "unknown order",
			TransactTime:          t,
		}}, nil
	}
	er := statusReport(o, t)
	er.OrdStatusReqID = e.OrdStatusReqID
	return []Output{er}, nil
}
