package order

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// This file handles the venue/desk (sell-side) events. Each one names the
// order by OrderID; an event impossible in the order's state is an error
// and changes nothing (every check runs before the first mutation).

func (b *Book) venueOrder(orderID string) (*OrderState, error) {
	o, ok := b.byOrderID[orderID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOrderID, orderID)
	}
	return o, nil
}

func transition(o *OrderState, what string) error {
	return fmt.Errorf("%w: %s on order %s (%s)", ErrInvalidTransition, what, o.OrderID, o.Status())
}

func (e AcceptNew) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Acked || o.Rejected || o.Canceled || o.DoneForDay {
		// The order's day is over: a New after the Done for Day is too late.
		return nil, transition(o, "AcceptNew")
	}
	o.Acked = true
	// With a cancel/replace already pending (B.1.d) the status stays 6/E.
	er := b.report(o, ExecTypeNew, e.TransactTime.UTC())
	er.Text = e.Text
	return []Output{er}, nil
}

func (e RejectNew) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Acked || o.Rejected || o.Canceled || o.DoneForDay {
		return nil, transition(o, "RejectNew")
	}
	if !e.Reason.Set() {
		return nil, fmt.Errorf("%w: RejectNew without Reason", ErrInvalidEvent)
	}
	t := e.TransactTime.UTC()
	p := o.Pending
	o.Pending = nil
	o.Rejected = true
	er := b.report(o, ExecTypeRejected, t)
	er.OrdRejReason = e.Reason
	er.Text = e.Text
	outs := []Output{er}
	if p != nil {
		// A cancel/replace sent before the ack dies with the order.
		outs = append(outs, cancelReject(o, p.ClOrdID, responseTo(p.Kind), CxlRejReasonTooLate, "order rejected", t))
	}
	return outs, nil
}

func (e Fill) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if e.VenueExecID == "" || e.LastQty.Sign() <= 0 || e.LastPx.Sign() <= 0 {
		return nil, fmt.Errorf("%w: Fill needs VenueExecID, LastQty > 0 and LastPx > 0", ErrInvalidEvent)
	}
	if i := o.executionByVenueID(e.VenueExecID); i >= 0 {
		// Redelivered by the venue: already applied. Values can only be
		// compared while the execution is neither busted nor corrected.
		x := &o.Executions[i]
		if x.Busted || len(x.ExecIDs) > 1 || (x.Qty.Equal(e.LastQty) && x.Px.Equal(e.LastPx)) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s on order %s", ErrConflictingFill, e.VenueExecID, o.OrderID)
	}
	if o.Rejected {
		return nil, transition(o, "Fill")
	}
	cum := o.CumQty.Add(e.LastQty)
	if cum.Cmp(o.OrderQty) > 0 {
		return nil, fmt.Errorf("%w: order %s CumQty %s + %s > OrderQty %s", ErrOverfill, o.OrderID, o.CumQty, e.LastQty, o.OrderQty)
	}
	if o.TimeInForce == TimeInForceFOK && (o.CumQty.Sign() != 0 || !e.LastQty.Equal(o.OrderQty)) {
		return nil, fmt.Errorf("%w: fill-or-kill order %s must fill %s at once", ErrOverfill, o.OrderID, o.OrderQty)
	}

	// Fills while a cancel/replace is pending apply to the original order:
	// its ClOrdID, OrderQty and LeavesQty; the status stays 6 or E.
	o.Acked = true
	o.CumQty = cum
	o.Notional = o.Notional.Add(e.LastQty.Mul(e.LastPx))
	er := b.report(o, ExecTypeTrade, e.TransactTime.UTC())
	er.LastQty = e.LastQty
	er.LastPx = e.LastPx
	er.SecondaryExecID = e.VenueExecID
	er.Text = e.Text
	o.Executions = append(o.Executions, Execution{
		ExecIDs:     []string{er.ExecID},
		VenueExecID: e.VenueExecID,
		Qty:         e.LastQty,
		Px:          e.LastPx,
	})
	return settle(o, []Output{er}, er.TransactTime), nil
}

// settle answers the pending change of o once the order's state no longer
// allows it (tooLate: the event filled the order, or ended its day): the
// change is dropped and answered with an OrderCancelReject, CxlRejReason 0,
// with the status after it, as FIX 4.4 B.1.c does for a fill that leaves
// nothing to cancel. The event's own report (outs) goes first and still
// shows the change pending (OrdStatus 6/E). A change the order still
// allows (a replace raising OrderQty above CumQty, any change of a GTC
// order done for day) stays pending for the venue or desk to answer.
//
// The events that can end an order with a change pending settle it:
// Fill, TradeCorrect, Restate and DoneForDay here; RejectNew,
// UnsolicitedCancel and Expire end the change before their report
// (cancelBySellSide). A TradeBust only lowers CumQty, so it never ends an
// order and never settles.
func settle(o *OrderState, outs []Output, t time.Time) []Output {
	p := o.Pending
	if p == nil {
		return outs
	}
	text, late := tooLate(o, p.Kind, p.OrderQty)
	if !late {
		return outs
	}
	o.Pending = nil
	return append(outs, cancelReject(o, p.ClOrdID, responseTo(p.Kind), CxlRejReasonTooLate, text, t))
}

func (e AcceptCancel) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Pending == nil || o.Pending.Kind != ChangeCancel {
		// Also after a fill that left nothing to cancel: settle answered it.
		return nil, transition(o, "AcceptCancel without a pending cancel")
	}
	er := b.applyCancel(o, e.TransactTime.UTC())
	er.Text = e.Text
	return []Output{er}, nil
}

// applyCancel makes the pending cancel effective: the cancel's ClOrdID
// becomes the order's, and the Canceled report names both.
func (b *Book) applyCancel(o *OrderState, t time.Time) ExecutionReport {
	prev := o.ClOrdID
	o.OrigClOrdID = prev
	o.ClOrdID = o.Pending.ClOrdID
	o.Pending = nil
	o.Canceled = true
	er := b.report(o, ExecTypeCanceled, t)
	er.OrigClOrdID = prev
	return er
}

func (e RejectCancel) apply(b *Book) ([]Output, error) {
	return b.rejectPending(e.OrderID, ChangeCancel, e.Reason, e.Text, e.TransactTime)
}

func (e RejectReplace) apply(b *Book) ([]Output, error) {
	return b.rejectPending(e.OrderID, ChangeReplace, e.Reason, e.Text, e.TransactTime)
}

// rejectPending drops the pending change and answers OrderCancelReject with
// the status after the reject and OrigClOrdID = the last accepted ClOrdID.
func (b *Book) rejectPending(orderID string, kind ChangeKind, reason CxlRejReason, text string, t time.Time) ([]Output, error) {
	o, err := b.venueOrder(orderID)
	if err != nil {
		return nil, err
	}
	if o.Pending == nil || o.Pending.Kind != kind {
		return nil, transition(o, "reject of a "+string(kind)+" that is not pending")
	}
	if reason < 0 {
		return nil, fmt.Errorf("%w: negative CxlRejReason", ErrInvalidEvent)
	}
	p := o.Pending
	o.Pending = nil
	return []Output{cancelReject(o, p.ClOrdID, responseTo(kind), reason, text, t.UTC())}, nil
}

func (e AcceptReplace) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	p := o.Pending
	if p == nil || p.Kind != ChangeReplace {
		return nil, transition(o, "AcceptReplace without a pending replace")
	}
	prev := o.ClOrdID
	o.OrigClOrdID = prev
	o.ClOrdID = p.ClOrdID
	o.Account = p.Account
	o.OrdType = p.OrdType
	o.Price = p.Price
	o.TimeInForce = p.TimeInForce
	o.HandlInst = p.HandlInst
	o.OrderQty = p.OrderQty
	if o.OrderQty.Cmp(o.CumQty) <= 0 {
		// C.3.b/C.3.c: the replace cancels the balance; the order ends
		// Filled with OrderQty amended to CumQty.
		o.OrderQty = o.CumQty
	}
	o.Pending = nil
	er := b.report(o, ExecTypeReplaced, e.TransactTime.UTC())
	er.OrigClOrdID = prev
	er.Text = e.Text
	return []Output{er}, nil
}

func (e UnsolicitedCancel) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Rejected || o.Canceled || o.Filled() {
		return nil, transition(o, "UnsolicitedCancel")
	}
	outs := b.cancelBySellSide(o, e.TransactTime.UTC())
	er := outs[0].(ExecutionReport)
	er.ExecRestatementReason = e.Reason
	er.Text = e.Text
	outs[0] = er
	return outs, nil
}

func (e Expire) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.TimeInForce != TimeInForceIOC && o.TimeInForce != TimeInForceFOK {
		return nil, transition(o, "Expire of a "+o.TimeInForce.String()+" order")
	}
	if o.Rejected || o.Canceled || o.Filled() {
		return nil, transition(o, "Expire")
	}
	outs := b.cancelBySellSide(o, e.TransactTime.UTC())
	er := outs[0].(ExecutionReport)
	er.Text = e.Text
	outs[0] = er
	return outs, nil
}

// cancelBySellSide cancels an open order. A pending cancel is honoured by
// it (the report names the cancel's ClOrdID); a pending replace dies and is
// rejected after the Canceled report. outs[0] is the Canceled report.
func (b *Book) cancelBySellSide(o *OrderState, t time.Time) []Output {
	p := o.Pending
	if p != nil && p.Kind == ChangeCancel {
		return []Output{b.applyCancel(o, t)}
	}
	o.Pending = nil
	o.Canceled = true
	outs := []Output{b.report(o, ExecTypeCanceled, t)}
	if p != nil {
		outs = append(outs, cancelReject(o, p.ClOrdID, CxlRejResponseToReplace, CxlRejReasonTooLate, "order canceled by the sell side", t))
	}
	return outs
}

func (e Restate) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Rejected || o.Canceled {
		return nil, transition(o, "Restate")
	}
	switch {
	case !e.Reason.Set():
		return nil, fmt.Errorf("%w: Restate without Reason", ErrInvalidEvent)
	case e.OrderQty.Valid && e.OrderQty.Decimal.Sign() <= 0:
		return nil, fmt.Errorf("%w: Restate OrderQty must be positive", ErrInvalidEvent)
	case e.Price.Valid && (o.OrdType != OrdTypeLimit || e.Price.Decimal.Sign() <= 0):
		return nil, fmt.Errorf("%w: Restate Price needs a limit order and a positive price", ErrInvalidEvent)
	}
	if e.OrderQty.Valid {
		o.OrderQty = decimal.Max(e.OrderQty.Decimal, o.CumQty) // a reduction below CumQty fills the order
	}
	if e.Price.Valid {
		o.Price = e.Price
	}
	if o.DoneForDay && (e.Reason == RestatementGTRenewal || e.Reason == RestatementGTCorporateAction) {
		o.DoneForDay = false // a GT order restated for a new day works again
	}
	er := b.report(o, ExecTypeRestated, e.TransactTime.UTC())
	er.ExecRestatementReason = e.Reason
	er.Text = e.Text
	return settle(o, []Output{er}, er.TransactTime), nil
}

func (e DoneForDay) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Rejected || o.Canceled || o.DoneForDay {
		return nil, transition(o, "DoneForDay")
	}
	o.DoneForDay = true
	er := b.report(o, ExecTypeDoneForDay, e.TransactTime.UTC())
	er.Text = e.Text
	return settle(o, []Output{er}, er.TransactTime), nil
}

func (e TradeBust) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	i := o.execution(e.RefExecID)
	if i < 0 || o.Executions[i].Busted {
		return nil, fmt.Errorf("%w: %q on order %s", ErrUnknownExecution, e.RefExecID, o.OrderID)
	}
	x := &o.Executions[i]
	ref := x.ExecIDs[len(x.ExecIDs)-1]
	x.Busted = true
	o.CumQty = o.CumQty.Sub(x.Qty)
	o.Notional = o.Notional.Sub(x.Qty.Mul(x.Px))
	er := b.report(o, ExecTypeTradeCancel, e.TransactTime.UTC())
	er.ExecRefID = ref
	er.SecondaryExecID = x.VenueExecID
	er.Text = e.Text
	return []Output{er}, nil
}

func (e TradeCorrect) apply(b *Book) ([]Output, error) {
	o, err := b.venueOrder(e.OrderID)
	if err != nil {
		return nil, err
	}
	i := o.execution(e.RefExecID)
	if i < 0 || o.Executions[i].Busted {
		return nil, fmt.Errorf("%w: %q on order %s", ErrUnknownExecution, e.RefExecID, o.OrderID)
	}
	if e.LastQty.Sign() <= 0 || e.LastPx.Sign() <= 0 {
		return nil, fmt.Errorf("%w: TradeCorrect needs LastQty > 0 and LastPx > 0 (bust instead)", ErrInvalidEvent)
	}
	x := &o.Executions[i]
	cum := o.CumQty.Sub(x.Qty).Add(e.LastQty)
	if cum.Cmp(o.OrderQty) > 0 {
		return nil, fmt.Errorf("%w: correction of %s takes CumQty to %s > OrderQty %s", ErrOverfill, e.RefExecID, cum, o.OrderQty)
	}
	ref := x.ExecIDs[len(x.ExecIDs)-1]
	o.CumQty = cum
	o.Notional = o.Notional.Sub(x.Qty.Mul(x.Px)).Add(e.LastQty.Mul(e.LastPx))
	x.Qty = e.LastQty
	x.Px = e.LastPx
	er := b.report(o, ExecTypeTradeCorrect, e.TransactTime.UTC())
	er.ExecRefID = ref
	er.SecondaryExecID = x.VenueExecID
	er.LastQty = e.LastQty
	er.LastPx = e.LastPx
	er.Text = e.Text
	x.ExecIDs = append(x.ExecIDs, er.ExecID)
	return settle(o, []Output{er}, er.TransactTime), nil
}
