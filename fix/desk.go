package fix

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/fix/order"
	"tickwire/orderwire"
)

// Desk is the trader's side of the gateway: orders with HandlInst=3
// (manual) wait here until a trader works them. The TUI and the HTTP API
// call these methods; so do the tests.
//
// Each operation is an order event applied by the engine goroutine and
// journalled before its ExecutionReport is sent; it returns once that is
// done. It returns the book's error when the operation is impossible in
// the order's state (order.ErrInvalidTransition, order.ErrOverfill...),
// ErrNotDesk for an order that is not the desk's, ErrBadText for a text
// that cannot go into a FIX field, or the context's error, which means the
// operation was not applied (the engine skips an operation whose caller has
// given up; one it has started is waited for). All methods are safe for
// concurrent use.
type Desk struct{ g *Gateway }

// checkDecimals refuses a quantity or price of more than
// orderwire.MaxDecimalDigits digits: written out (journal, report) it
// would cost what its exponent says.
func checkDecimals(ds ...decimal.Decimal) error {
	for _, d := range ds {
		if err := orderwire.CheckDecimal(d); err != nil {
			return fmt.Errorf("fix: quantity or price: %w", err)
		}
	}
	return nil
}

// checkText refuses a text that cannot go into a FIX field (ErrBadText).
func checkText(text string) error {
	if len(text) > orderwire.MaxTextLen {
		return fmt.Errorf("%w: %d bytes, max %d", ErrBadText, len(text), orderwire.MaxTextLen)
	}
	if !orderwire.PrintableText(text) {
		return fmt.Errorf("%w: control characters or invalid UTF-8", ErrBadText)
	}
	return nil
}

// Orders returns the desk's open orders (OrderState.Open: not terminal, or
// with a pending cancel/replace), in creation order. It reads the whole
// book, so an order a bust, a correction or a replace reopens is listed
// again at once.
func (d *Desk) Orders(ctx context.Context) ([]order.OrderState, error) {
	var out []order.OrderState
	err := d.g.eng.submit(ctx, command{query: func(b *order.Book) {
		out = b.Orders(func(o *order.OrderState) bool { return o.HandlInst == order.HandlInstManual && o.Open() })
	}})
	return out, err
}

// Accept acknowledges a new desk order (ExecType 0).
func (d *Desk) Accept(ctx context.Context, orderID string) error {
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.AcceptNew{OrderID: orderID, TransactTime: now}
	})
}

// Reject rejects a new desk order (ExecType 8) with reason (e.g.
// order.OrdRejReasonBrokerOption) and text.
func (d *Desk) Reject(ctx context.Context, orderID string, reason order.OrdRejReason, text string) error {
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.RejectNew{OrderID: orderID, Reason: reason, Text: text, TransactTime: now}
	})
}

// Fill executes qty at px (ExecType F). A fill implies the ack. The
// price guard does not stop it (the trader is the judge), but on a stale
// or missing price the report's Text says so.
func (d *Desk) Fill(ctx context.Context, orderID string, qty, px decimal.Decimal) error {
	if err := checkDecimals(qty, px); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.Fill{
			OrderID:      orderID,
			VenueExecID:  orderID + "-D" + strconv.Itoa(len(o.Executions)+1),
			LastQty:      qty,
			LastPx:       px,
			Text:         d.g.eng.venue.deskFillText(o.Symbol),
			TransactTime: now,
		}
	})
}

// AcceptCancel accepts the pending cancel (ExecType 4).
func (d *Desk) AcceptCancel(ctx context.Context, orderID string) error {
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.AcceptCancel{OrderID: orderID, TransactTime: now}
	})
}

// RejectCancel rejects the pending cancel (OrderCancelReject, response to 1)
// with reason (order.CxlRejReasonTooLate, order.CxlRejReasonBrokerOption...).
func (d *Desk) RejectCancel(ctx context.Context, orderID string, reason order.CxlRejReason, text string) error {
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.RejectCancel{OrderID: orderID, Reason: reason, Text: text, TransactTime: now}
	})
}

// AcceptReplace accepts the pending replace (ExecType 5).
func (d *Desk) AcceptReplace(ctx context.Context, orderID string) error {
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.AcceptReplace{OrderID: orderID, TransactTime: now}
	})
}

// RejectReplace rejects the pending replace (OrderCancelReject, response to 2).
func (d *Desk) RejectReplace(ctx context.Context, orderID string, reason order.CxlRejReason, text string) error {
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.RejectReplace{OrderID: orderID, Reason: reason, Text: text, TransactTime: now}
	})
}

// DoneForDay ends the order's day (ExecType 3). Any order, desk or auto.
func (d *Desk) DoneForDay(ctx context.Context, orderID string) error {
	return d.do(ctx, orderID, false, func(o *order.OrderState, now time.Time) order.Event {
		return order.DoneForDay{OrderID: orderID, TransactTime: now}
	})
}

// Cancel cancels the order on the sell side's initiative (unsolicited
// cancel, ExecType 4, ExecRestatementReason 4 broker option). Any order.
func (d *Desk) Cancel(ctx context.Context, orderID, text string) error {
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, false, func(o *order.OrderState, now time.Time) order.Event {
		return order.UnsolicitedCancel{OrderID: orderID, Reason: order.RestatementBrokerOption, Text: text, TransactTime: now}
	})
}

// Bust cancels an execution (ExecType H); execRef is the ExecID of its
// report or its venue execution id.
func (d *Desk) Bust(ctx context.Context, orderID, execRef, text string) error {
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.TradeBust{OrderID: orderID, RefExecID: execRef, Text: text, TransactTime: now}
	})
}

// Correct corrects an execution's quantity and price (ExecType G).
func (d *Desk) Correct(ctx context.Context, orderID, execRef string, qty, px decimal.Decimal, text string) error {
	if err := checkDecimals(qty, px); err != nil {
		return err
	}
	if err := checkText(text); err != nil {
		return err
	}
	return d.do(ctx, orderID, true, func(o *order.OrderState, now time.Time) order.Event {
		return order.TradeCorrect{OrderID: orderID, RefExecID: execRef, LastQty: qty, LastPx: px, Text: text, TransactTime: now}
	})
}

// do runs a desk operation on the engine goroutine.
func (d *Desk) do(ctx context.Context, orderID string, deskOnly bool, mk func(o *order.OrderState, now time.Time) order.Event) error {
	return d.g.eng.submit(ctx, command{desk: func(b *order.Book, now time.Time) (order.Event, error) {
		o, ok := b.Order(orderID)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownOrder, orderID)
		}
		if deskOnly && o.HandlInst != order.HandlInstManual {
			return nil, fmt.Errorf("%w: %s", ErrNotDesk, orderID)
		}
		return mk(&o, now), nil
	}})
}
