package order

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/shopspring/decimal"
)

// Event is one input of the state machine: a message from the counterparty
// (buy side) or a report from the venue/desk (sell side). Events are plain
// values that encode to JSON (see MarshalEvent) so that they can be journalled
// and replayed: the same events applied in the same order to a Book built with
// the same Config rebuild the same state and the same outputs.
//
// Every event carries TransactTime, its business timestamp. The book never
// reads the clock; TransactTime is copied, in UTC, into the outputs.
type Event interface {
	// EventKind names the event type in a journal record.
	EventKind() string
	apply(b *Book) ([]Output, error)
}

// Counterparty (buy-side) events. Session identifies the FIX session (or
// counterparty) the message came on; ClOrdIDs are unique per Session.

// NewOrderSingle is a FIX D message.
type NewOrderSingle struct {
	Session     string
	ClOrdID     string
	Account     string              `json:",omitempty"`
	Symbol      string              `json:",omitempty"`
	Side        Side                `json:",omitempty"`
	OrdType     OrdType             `json:",omitempty"`
	Price       decimal.NullDecimal // absent (Valid=false) on market orders
	OrderQty    decimal.Decimal
	TimeInForce TimeInForce `json:",omitempty"` // 0 = Day
	HandlInst   HandlInst   `json:",omitempty"`
	// PossResend is the header flag PossResend(97)=Y: the counterparty may
	// have sent this order before.
	PossResend   bool `json:",omitempty"`
	TransactTime time.Time
}

// OrderCancelRequest is a FIX F message. OrigClOrdID names the order; the
// book does not look orders up by OrderID here.
type OrderCancelRequest struct {
	Session      string
	ClOrdID      string
	OrigClOrdID  string
	Symbol       string `json:",omitempty"` // checked against the order when set
	Side         Side   `json:",omitempty"` // checked against the order when set
	PossResend   bool   `json:",omitempty"`
	TransactTime time.Time
}

// OrderCancelReplaceRequest is a FIX G message. As FIX requires, it carries
// the whole replacement order: OrdType, Price, OrderQty, TimeInForce and
// HandlInst replace the current values when the venue accepts it.
type OrderCancelReplaceRequest struct {
	Session      string
	ClOrdID      string
	OrigClOrdID  string
	Account      string `json:",omitempty"` // empty keeps the current account
	Symbol       string `json:",omitempty"` // checked against the order when set
	Side         Side   `json:",omitempty"` // checked against the order when set
	OrdType      OrdType
	Price        decimal.NullDecimal
	OrderQty     decimal.Decimal
	TimeInForce  TimeInForce `json:",omitempty"`
	HandlInst    HandlInst   `json:",omitempty"`
	PossResend   bool        `json:",omitempty"`
	TransactTime time.Time
}

// OrderStatusRequest is a FIX H message. The order is found by ClOrdID (any
// ClOrdID the order used in this session), else by OrderID.
type OrderStatusRequest struct {
	Session        string
	ClOrdID        string
	OrderID        string `json:",omitempty"`
	OrdStatusReqID string `json:",omitempty"`
	Symbol         string `json:",omitempty"`
	Side           Side   `json:",omitempty"`
	TransactTime   time.Time
}

// Venue / desk (sell-side) events. They name the order by the OrderID the
// book assigned. An event that is impossible in the order's state (accepting
// a cancel that is not pending, a fill on a rejected order, an overfill...)
// returns an error and changes nothing.

// AcceptNew acknowledges a pending new order (ExecType New).
type AcceptNew struct {
	OrderID      string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// RejectNew rejects a pending new order (ExecType Rejected).
type RejectNew struct {
	OrderID      string
	Reason       OrdRejReason
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// Fill reports an execution. VenueExecID identifies it at the venue: a
// second Fill with the same VenueExecID on the same order is ignored when
// identical (at-least-once delivery from the venue) and an error otherwise.
type Fill struct {
	OrderID      string
	VenueExecID  string
	LastQty      decimal.Decimal
	LastPx       decimal.Decimal
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// AcceptCancel confirms the pending cancel (ExecType Canceled).
type AcceptCancel struct {
	OrderID      string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// RejectCancel refuses the pending cancel (OrderCancelReject, response to 1).
type RejectCancel struct {
	OrderID      string
	Reason       CxlRejReason
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// AcceptReplace confirms the pending replace (ExecType Replaced).
type AcceptReplace struct {
	OrderID      string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// RejectReplace refuses the pending replace (OrderCancelReject, response to 2).
type RejectReplace struct {
	OrderID      string
	Reason       CxlRejReason
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// UnsolicitedCancel cancels the order on the sell side's initiative
// (ExecType Canceled with ExecRestatementReason).
type UnsolicitedCancel struct {
	OrderID      string
	Reason       ExecRestatementReason
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// Restate changes the order on the sell side's initiative (unsolicited
// replace or reduction, GT renewal...): ExecType Restated. OrderQty and Price
// change when Valid.
type Restate struct {
	OrderID      string
	OrderQty     decimal.NullDecimal
	Price        decimal.NullDecimal
	Reason       ExecRestatementReason
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// DoneForDay ends the order's day (ExecType Done for Day, LeavesQty 0).
type DoneForDay struct {
	OrderID      string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// Expire cancels the unfilled remainder of an IOC order after its immediate
// execution attempt, or kills an FOK order that could not be filled in full
// (ExecType Canceled).
type Expire struct {
	OrderID      string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// TradeBust cancels an execution (ExecType Trade Cancel). RefExecID is the
// VenueExecID of the fill or any ExecID the book issued for it.
type TradeBust struct {
	OrderID      string
	RefExecID    string
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// TradeCorrect corrects the quantity and/or price of an execution (ExecType
// Trade Correct). RefExecID as in TradeBust.
type TradeCorrect struct {
	OrderID      string
	RefExecID    string
	LastQty      decimal.Decimal
	LastPx       decimal.Decimal
	Text         string `json:",omitempty"`
	TransactTime time.Time
}

// EventKind implementations.

func (NewOrderSingle) EventKind() string            { return "NewOrderSingle" }
func (OrderCancelRequest) EventKind() string        { return "OrderCancelRequest" }
func (OrderCancelReplaceRequest) EventKind() string { return "OrderCancelReplaceRequest" }
func (OrderStatusRequest) EventKind() string        { return "OrderStatusRequest" }
func (AcceptNew) EventKind() string                 { return "AcceptNew" }
func (RejectNew) EventKind() string                 { return "RejectNew" }
func (Fill) EventKind() string                      { return "Fill" }
func (AcceptCancel) EventKind() string              { return "AcceptCancel" }
func (RejectCancel) EventKind() string              { return "RejectCancel" }
func (AcceptReplace) EventKind() string             { return "AcceptReplace" }
func (RejectReplace) EventKind() string             { return "RejectReplace" }
func (UnsolicitedCancel) EventKind() string         { return "UnsolicitedCancel" }
func (Restate) EventKind() string                   { return "Restate" }
func (DoneForDay) EventKind() string                { return "DoneForDay" }
func (Expire) EventKind() string                    { return "Expire" }
func (TradeBust) EventKind() string                 { return "TradeBust" }
func (TradeCorrect) EventKind() string              { return "TradeCorrect" }

// journalRecord is the JSON envelope of a journalled event.
type journalRecord struct {
	Kind  string          `json:"kind"`
	Event json.RawMessage `json:"event"`
}

// MarshalEvent encodes ev as a self-describing JSON journal record
// {"kind":"Fill","event":{...}}.
func MarshalEvent(ev Event) ([]byte, error) {
	if isNil(ev) {
		return nil, ErrUnknownEvent
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("order: marshal %s: %w", ev.EventKind(), err)
	}
	return json.Marshal(journalRecord{Kind: ev.EventKind(), Event: body})
}

// UnmarshalEvent decodes a record written by MarshalEvent. The event comes
// back as a value (NewOrderSingle, not *NewOrderSingle).
func UnmarshalEvent(data []byte) (Event, error) {
	var rec journalRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("order: journal record: %w", err)
	}
	switch rec.Kind {
	case "NewOrderSingle":
		return decodeAs[NewOrderSingle](rec)
	case "OrderCancelRequest":
		return decodeAs[OrderCancelRequest](rec)
	case "OrderCancelReplaceRequest":
		return decodeAs[OrderCancelReplaceRequest](rec)
	case "OrderStatusRequest":
		return decodeAs[OrderStatusRequest](rec)
	case "AcceptNew":
		return decodeAs[AcceptNew](rec)
	case "RejectNew":
		return decodeAs[RejectNew](rec)
	case "Fill":
		return decodeAs[Fill](rec)
	case "AcceptCancel":
		return decodeAs[AcceptCancel](rec)
	case "RejectCancel":
		return decodeAs[RejectCancel](rec)
	case "AcceptReplace":
		return decodeAs[AcceptReplace](rec)
	case "RejectReplace":
		return decodeAs[RejectReplace](rec)
	case "UnsolicitedCancel":
		return decodeAs[UnsolicitedCancel](rec)
	case "Restate":
		return decodeAs[Restate](rec)
	case "DoneForDay":
		return decodeAs[DoneForDay](rec)
	case "Expire":
		return decodeAs[Expire](rec)
	case "TradeBust":
		return decodeAs[TradeBust](rec)
	case "TradeCorrect":
		return decodeAs[TradeCorrect](rec)
	}
	return nil, fmt.Errorf("%w: journal kind %q", ErrUnknownEvent, rec.Kind)
}

func decodeAs[T Event](rec journalRecord) (Event, error) {
	var ev T
	if err := json.Unmarshal(rec.Event, &ev); err != nil {
		return nil, fmt.Errorf("order: journal %s: %w", rec.Kind, err)
	}
	return ev, nil
}

// isNil reports a nil event or a nil pointer to an event (whose value
// methods would panic).
func isNil(ev Event) bool {
	if ev == nil {
		return true
	}
	v := reflect.ValueOf(ev)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
