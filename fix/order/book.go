package order

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Config fixes how a Book names what it creates. It is part of the state:
// Snapshot records it and Restore reuses it, so that a replica replaying the
// same journal issues the same IDs.
type Config struct {
	// OrderIDPrefix prefixes the OrderID sequence number ("O" when empty).
	// OrderIDs must stay unique across restarts of the book: when a new
	// book starts (a new trading day, a lost journal), give it a new
	// prefix, e.g. "20250102-O".
	OrderIDPrefix string `json:",omitempty"`
	// ExecIDPrefix prefixes the ExecID sequence number ("E" when empty).
	ExecIDPrefix string `json:",omitempty"`
	// AckPendingNew makes a valid NewOrderSingle answer at once with an
	// ExecutionReport ExecType=A (Pending New). When false (the default,
	// as in the FIX order state matrices) the first report is the venue's
	// New or Rejected.
	AckPendingNew bool `json:",omitempty"`
}

func (c Config) withDefaults() Config {
	if c.OrderIDPrefix == "" {
		c.OrderIDPrefix = "O"
	}
	if c.ExecIDPrefix == "" {
		c.ExecIDPrefix = "E"
	}
	return c
}

// clKey identifies a ClOrdID: ClOrdIDs are unique per session only.
type clKey struct {
	session string
	clOrdID string
}

// Book holds every order of one gateway and applies events to them.
//
// A Book is not safe for concurrent use: give it one owning goroutine and
// feed it the journalled events in journal order.
type Book struct {
	cfg       Config
	orderSeq  uint64
	execSeq   uint64
	orders    []*OrderState // by Seq
	byOrderID map[string]*OrderState
	byClOrdID map[clKey]*OrderState
}

// NewBook returns an empty book.
func NewBook(cfg Config) *Book {
	return &Book{
		cfg:       cfg.withDefaults(),
		byOrderID: make(map[string]*OrderState),
		byClOrdID: make(map[clKey]*OrderState),
	}
}

// Config returns the book's configuration, defaults filled in.
func (b *Book) Config() Config { return b.cfg }

// Apply applies one event and returns the outputs to send, in order.
//
// Counterparty mistakes (invalid fields, duplicate ClOrdID, unknown order,
// a change while another is pending...) are answered with reject outputs,
// never with an error. An error means misuse by the caller (see the Err
// variables); the book is then unchanged and there are no outputs.
func (b *Book) Apply(ev Event) ([]Output, error) {
	if isNil(ev) {
		return nil, ErrUnknownEvent
	}
	return ev.apply(b)
}

// Known reports whether clOrdID was already used in session, by an order or
// by a cancel or replace request (rejected ones included). The gateway can
// use it to recognise a resent D, F or G before doing anything else; Apply
// itself never creates a second order for a known ClOrdID.
func (b *Book) Known(session, clOrdID string) bool {
	_, ok := b.byClOrdID[clKey{session, clOrdID}]
	return ok
}

// Lookup returns a copy of the order that used clOrdID in session.
func (b *Book) Lookup(session, clOrdID string) (OrderState, bool) {
	o, ok := b.byClOrdID[clKey{session, clOrdID}]
	if !ok {
		return OrderState{}, false
	}
	return o.clone(), true
}

// Order returns a copy of the order with this OrderID.
func (b *Book) Order(orderID string) (OrderState, bool) {
	o, ok := b.byOrderID[orderID]
	if !ok {
		return OrderState{}, false
	}
	return o.clone(), true
}

// Orders returns a copy of each order keep selects, in creation order. keep
// is given the book's own order: it must only read it.
func (b *Book) Orders(keep func(*OrderState) bool) []OrderState {
	var out []OrderState
	for _, o := range b.orders {
		if keep(o) {
			out = append(out, o.clone())
		}
	}
	return out
}

// Len returns the number of orders in the book (rejected ones included).
func (b *Book) Len() int { return len(b.orders) }

func (b *Book) nextExecID() string {
	b.execSeq++
	return b.cfg.ExecIDPrefix + strconv.FormatUint(b.execSeq, 10)
}

// addOrder creates an order with the next OrderID and indexes it.
func (b *Book) addOrder(o *OrderState) {
	b.orderSeq++
	o.Seq = b.orderSeq
	o.OrderID = b.cfg.OrderIDPrefix + strconv.FormatUint(b.orderSeq, 10)
	b.orders = append(b.orders, o)
	b.byOrderID[o.OrderID] = o
	b.consume(o, o.ClOrdID)
}

// consume records that o used clOrdID in its session.
func (b *Book) consume(o *OrderState, clOrdID string) {
	o.ClOrdIDs = append(o.ClOrdIDs, clOrdID)
	b.byClOrdID[clKey{o.Session, clOrdID}] = o
}

// report builds an ExecutionReport about o as it is now, with a new ExecID.
// The caller sets OrigClOrdID, reasons, Last* and Text as the case needs.
func (b *Book) report(o *OrderState, et ExecType, t time.Time) ExecutionReport {
	return reportWithID(o, et, b.nextExecID(), t)
}

func reportWithID(o *OrderState, et ExecType, execID string, t time.Time) ExecutionReport {
	return ExecutionReport{
		Session:               o.Session,
		OrderID:               o.OrderID,
		ClOrdID:               o.ClOrdID,
		ExecID:                execID,
		ExecType:              et,
		OrdStatus:             o.Status(),
		OrdRejReason:          NoOrdRejReason,
		ExecRestatementReason: NoRestatementReason,
		Account:               o.Account,
		Symbol:                o.Symbol,
		Side:                  o.Side,
		OrdType:               o.OrdType,
		TimeInForce:           o.TimeInForce,
		Price:                 o.Price,
		OrderQty:              o.OrderQty,
		CumQty:                o.CumQty,
		LeavesQty:             o.LeavesQty(),
		AvgPx:                 o.AvgPx(),
		LastQty:               decimal.Zero,
		LastPx:                decimal.Zero,
		TransactTime:          t,
	}
}

// statusReport is an ExecType=I report; it consumes no ExecID.
func statusReport(o *OrderState, t time.Time) ExecutionReport {
	er := reportWithID(o, ExecTypeOrderStatus, StatusExecID, t)
	er.OrigClOrdID = o.OrigClOrdID
	return er
}

// cancelReject rejects the cancel or replace request clOrdID on order o.
func cancelReject(o *OrderState, clOrdID string, to CxlRejResponseTo, reason CxlRejReason, text string, t time.Time) OrderCancelReject {
	return OrderCancelReject{
		Session:          o.Session,
		OrderID:          o.OrderID,
		ClOrdID:          clOrdID,
		OrigClOrdID:      o.ClOrdID,
		OrdStatus:        o.Status(),
		CxlRejResponseTo: to,
		CxlRejReason:     reason,
		Text:             text,
		TransactTime:     t,
	}
}

func venueRequest(kind VenueRequestKind, o *OrderState, t time.Time) VenueRequest {
	return VenueRequest{
		Kind:         kind,
		OrderID:      o.OrderID,
		Symbol:       o.Symbol,
		Side:         o.Side,
		OrdType:      o.OrdType,
		TimeInForce:  o.TimeInForce,
		Price:        o.Price,
		OrderQty:     o.OrderQty,
		CumQty:       o.CumQty,
		TransactTime: t,
	}
}

func responseTo(k ChangeKind) CxlRejResponseTo {
	if k == ChangeCancel {
		return CxlRejResponseToCancel
	}
	return CxlRejResponseToReplace
}
