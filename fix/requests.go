package fix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tickwire/fix/order"
	"tickwire/orderwire"
)

// Trader requests: orders and desk work that come over tickwire's own
// protocol (orderwire, published by traders on orderwire.RequestTopic)
// rather than over a FIX session.
//
// new, cancel and replace become the counterparty events D, F and G of the
// account's internal trader session, orderwire.TraderSession(account)
// ("TRADER:DEMO"), and go through the engine exactly like FIX ones: applied
// to the book, journalled, and only then answered. Their ExecutionReports
// and OrderCancelRejects are not sent over FIX (the session is not a FIX
// session); they are published as order events on the account's topic, like
// every other output. The desk actions call the Desk.
//
// Request returns once the engine has dealt with the request: nil when it
// became an order event (journalled; what the book made of it, e.g. a
// reject for an unknown symbol, is in the order events), or the
// *orderwire.Refusal of a request that changed nothing:
//
//   - an invalid request (orderwire.Request.Validate);
//   - new, cancel or replace with a ClOrdID the session has used already
//     (idempotence on (session, ClOrdID), checked against the book, so it
//     holds across restarts): a FIX duplicate gets a journalled reject, but
//     a trader has the refusal as its answer, and a duplicate changes
//     nothing either way;
//   - a desk action the order's state does not allow (Desk's errors);
//   - an event too large for the journal (ErrEventTooLarge);
//   - the gateway stopped.
//
// It waits for the engine whatever ctx says once the request is queued, so
// a refusal means "not applied" and nil means "journalled". The one
// exception is a refusal with Unknown set (ErrOutcomeUnknown): the gateway
// failed while committing the request's batch, so it may have been
// applied, and the trader must not resubmit it as new.

// Request runs a trader request (decoded with orderwire.DecodeRequest): see
// the comment above. Every error is an *orderwire.Refusal.
func (g *Gateway) Request(ctx context.Context, r *orderwire.Request) error {
	if err := r.Validate(); err != nil {
		return err
	}
	// Once queued, the engine answers (or stops): wait for it, so the
	// answer is the truth. ctx is not honoured past this point.
	ctx = context.WithoutCancel(ctx)
	var err error
	if r.Action.Desk() {
		err = g.deskRequest(ctx, r)
	} else {
		err = g.eng.submit(ctx, command{desk: func(b *order.Book, now time.Time) (order.Event, error) {
			return traderEvent(b, r, now)
		}})
	}
	if err != nil {
		rf := r.Refuse(err)
		rf.Unknown = errors.Is(err, ErrOutcomeUnknown)
		return rf
	}
	return nil
}

// traderEvent turns a new, cancel or replace into the order event of the
// account's trader session. It runs on the engine goroutine.
func traderEvent(b *order.Book, r *orderwire.Request, now time.Time) (order.Event, error) {
	session := orderwire.TraderSession(r.Account)
	if b.Known(session, r.ClOrdID) {
		return nil, fmt.Errorf("%w %s in session %s", ErrDuplicateClOrdID, r.ClOrdID, session)
	}
	switch r.Action {
	case orderwire.ActionNew:
		return order.NewOrderSingle{
			Session:      session,
			ClOrdID:      r.ClOrdID,
			Account:      r.Account,
			Symbol:       r.Symbol,
			Side:         order.Side(r.Side),
			OrdType:      order.OrdType(r.OrdType),
			Price:        r.Price,
			OrderQty:     r.OrderQty.Decimal,
			TimeInForce:  order.TimeInForce(r.TimeInForce),
			HandlInst:    order.HandlInst(r.HandlInst),
			TransactTime: now,
		}, nil
	case orderwire.ActionCancel:
		return order.OrderCancelRequest{
			Session:      session,
			ClOrdID:      r.ClOrdID,
			OrigClOrdID:  r.OrigClOrdID,
			Symbol:       r.Symbol,
			Side:         order.Side(r.Side),
			TransactTime: now,
		}, nil
	case orderwire.ActionReplace:
		// The account is the session's: a replace never moves an order to
		// another account (Account "" keeps the order's).
		return order.OrderCancelReplaceRequest{
			Session:      session,
			ClOrdID:      r.ClOrdID,
			OrigClOrdID:  r.OrigClOrdID,
			Symbol:       r.Symbol,
			Side:         order.Side(r.Side),
			OrdType:      order.OrdType(r.OrdType),
			Price:        r.Price,
			OrderQty:     r.OrderQty.Decimal,
			TimeInForce:  order.TimeInForce(r.TimeInForce),
			HandlInst:    order.HandlInst(r.HandlInst),
			TransactTime: now,
		}, nil
	}
	return nil, fmt.Errorf("action %q is not an order request", r.Action)
}

// deskRequest runs a desk action.
func (g *Gateway) deskRequest(ctx context.Context, r *orderwire.Request) error {
	d, id := g.desk, r.OrderID
	reason := func(def int) int {
		if r.Reason != nil {
			return *r.Reason
		}
		return def
	}
	switch r.Action {
	case orderwire.ActionDeskAccept:
		return d.Accept(ctx, id)
	case orderwire.ActionDeskReject:
		return d.Reject(ctx, id, order.OrdRejReason(reason(int(order.OrdRejReasonBrokerOption))), r.Text)
	case orderwire.ActionDeskFill:
		return d.Fill(ctx, id, r.LastQty.Decimal, r.LastPx.Decimal)
	case orderwire.ActionDeskAcceptCancel:
		return d.AcceptCancel(ctx, id)
	case orderwire.ActionDeskRejectCancel:
		return d.RejectCancel(ctx, id, order.CxlRejReason(reason(int(order.CxlRejReasonBrokerOption))), r.Text)
	case orderwire.ActionDeskAcceptReplace:
		return d.AcceptReplace(ctx, id)
	case orderwire.ActionDeskRejectReplace:
		return d.RejectReplace(ctx, id, order.CxlRejReason(reason(int(order.CxlRejReasonBrokerOption))), r.Text)
	case orderwire.ActionDeskDoneForDay:
		return d.DoneForDay(ctx, id)
	case orderwire.ActionDeskCancel:
		return d.Cancel(ctx, id, r.Text)
	case orderwire.ActionDeskBust:
		return d.Bust(ctx, id, r.ExecRefID, r.Text)
	case orderwire.ActionDeskCorrect:
		return d.Correct(ctx, id, r.ExecRefID, r.LastQty.Decimal, r.LastPx.Decimal, r.Text)
	}
	return fmt.Errorf("action %q is not a desk action", r.Action)
}

// traderSession reports whether session is a trader session: its outputs
// are published, never sent over FIX.
func traderSession(session string) bool {
	_, ok := orderwire.TraderAccount(session)
	return ok
}

// traderAccount returns the account of a trader session, "" for others.
func traderAccount(session string) string {
	a, _ := orderwire.TraderAccount(session)
	return a
}
