package order

import (
	"slices"

	"github.com/shopspring/decimal"
)

// AvgPxPlaces is the number of decimal places of AvgPx. The book keeps the
// exact notional (sum of LastQty*LastPx over live executions) and derives
// AvgPx = notional / CumQty from it each time, rounded half away from zero to
// AvgPxPlaces places, so busts and corrections never accumulate rounding.
const AvgPxPlaces = 12

// ChangeKind is the kind of a pending cancel or replace.
type ChangeKind string

// Change kinds.
const (
	ChangeCancel  ChangeKind = "cancel"
	ChangeReplace ChangeKind = "replace"
)

// PendingChange is the one outstanding cancel or cancel/replace request of an
// order (the book allows one at a time). For a replace it holds the
// replacement values, which take effect only when the venue accepts it.
type PendingChange struct {
	Kind        ChangeKind
	ClOrdID     string
	Account     string  `json:",omitempty"`
	OrdType     OrdType `json:",omitempty"`
	Price       decimal.NullDecimal
	OrderQty    decimal.Decimal
	TimeInForce TimeInForce `json:",omitempty"`
	HandlInst   HandlInst   `json:",omitempty"`
}

// Execution is one fill of an order.
type Execution struct {
	// ExecIDs are the ExecIDs the book issued for this fill: the Trade
	// report first, then one per Trade Correct. The last one is current.
	ExecIDs     []string
	VenueExecID string
	Qty         decimal.Decimal
	Px          decimal.Decimal
	Busted      bool `json:",omitempty"`
}

// OrderState is the full state of one order. It is what Snapshot exports and
// what the Book queries return (as a deep copy).
type OrderState struct {
	Seq         uint64 // creation order in the book, from 1
	OrderID     string
	Session     string
	ClOrdID     string // the last accepted ClOrdID
	OrigClOrdID string `json:",omitempty"` // the ClOrdID that ClOrdID replaced or canceled
	Account     string `json:",omitempty"`
	Symbol      string
	Side        Side
	OrdType     OrdType
	Price       decimal.NullDecimal
	TimeInForce TimeInForce
	HandlInst   HandlInst `json:",omitempty"`
	OrderQty    decimal.Decimal
	CumQty      decimal.Decimal
	Notional    decimal.Decimal // exact sum of Qty*Px over live executions
	Acked       bool            `json:",omitempty"` // the venue accepted the order (or traded it)
	Rejected    bool            `json:",omitempty"`
	Canceled    bool            `json:",omitempty"`
	DoneForDay  bool            `json:",omitempty"`
	Pending     *PendingChange  `json:",omitempty"`
	Executions  []Execution     `json:",omitempty"`
	// ClOrdIDs lists every ClOrdID the order consumed in its session (the
	// order's, then each cancel/replace request's, rejected ones included),
	// in order of arrival.
	ClOrdIDs []string
}

// Filled reports whether CumQty has reached OrderQty.
func (o *OrderState) Filled() bool {
	return o.OrderQty.Sign() > 0 && o.CumQty.Cmp(o.OrderQty) >= 0
}

// Terminal reports whether nothing is left open: Filled, Canceled, Rejected
// or Done for Day. A terminal order has LeavesQty 0. (A filled order can
// still be reopened by a replace or restatement that raises OrderQty, a
// Done-for-Day GT order by a GT-renewal restatement.)
func (o *OrderState) Terminal() bool {
	return o.Rejected || o.Canceled || o.DoneForDay || o.Filled()
}

// Open reports whether the order still needs its venue or desk: it is not
// terminal, or a cancel/replace of it is pending.
func (o *OrderState) Open() bool { return !o.Terminal() || o.Pending != nil }

// Status is the order's OrdStatus: the state with the highest FIX 4.4
// precedence among those that apply (see OrdStatus.Precedence).
func (o *OrderState) Status() OrdStatus {
	switch {
	case o.Pending != nil && o.Pending.Kind == ChangeCancel:
		return OrdStatusPendingCancel
	case o.Pending != nil:
		return OrdStatusPendingReplace
	case o.DoneForDay:
		return OrdStatusDoneForDay
	case o.Filled():
		return OrdStatusFilled
	case o.Canceled:
		return OrdStatusCanceled
	case o.Rejected:
		return OrdStatusRejected
	case o.CumQty.Sign() > 0:
		return OrdStatusPartiallyFilled
	case !o.Acked:
		return OrdStatusPendingNew
	}
	return OrdStatusNew
}

// LeavesQty is OrderQty - CumQty while the order works, 0 once terminal.
func (o *OrderState) LeavesQty() decimal.Decimal {
	if o.Terminal() {
		return decimal.Zero
	}
	return o.OrderQty.Sub(o.CumQty)
}

// AvgPx is Notional / CumQty (0 without executions), see AvgPxPlaces.
func (o *OrderState) AvgPx() decimal.Decimal {
	if o.CumQty.Sign() == 0 {
		return decimal.Zero
	}
	return o.Notional.DivRound(o.CumQty, AvgPxPlaces)
}

// clone returns a deep copy (decimals are immutable values).
func (o *OrderState) clone() OrderState {
	c := *o
	if o.Pending != nil {
		p := *o.Pending
		c.Pending = &p
	}
	if o.Executions != nil {
		c.Executions = make([]Execution, len(o.Executions))
		for i, x := range o.Executions {
			x.ExecIDs = slices.Clone(x.ExecIDs)
			c.Executions[i] = x
		}
	}
	c.ClOrdIDs = slices.Clone(o.ClOrdIDs)
	return c
}

// execution finds the execution that ref names: its VenueExecID first (what
// the venue quotes in a bust or correct), else any ExecID the book issued
// for it.
func (o *OrderState) execution(ref string) int {
	if i := o.executionByVenueID(ref); i >= 0 {
		return i
	}
	for i := range o.Executions {
		if slices.Contains(o.Executions[i].ExecIDs, ref) {
			return i
		}
	}
	return -1
}

func (o *OrderState) executionByVenueID(id string) int {
	for i := range o.Executions {
		if o.Executions[i].VenueExecID == id {
			return i
		}
	}
	return -1
}
