package order

import (
	"time"

	"github.com/shopspring/decimal"
)

// Output is what Apply asks the gateway to do: send an ExecutionReport or an
// OrderCancelReject to the counterparty session, or pass a VenueRequest to
// the venue/desk. Outputs are values; their order in the slice is the order
// in which they must be sent.
type Output interface {
	isOutput()
}

// NoneOrderID is the OrderID of a reject for an order the book does not know.
const NoneOrderID = "NONE"

// StatusExecID is the ExecID of every ExecType=I (Order Status) report: FIX
// 4.4 gives status reports ExecID "0", so answering a status request changes
// nothing in the book (no ExecID is consumed).
const StatusExecID = "0"

// ExecutionReport is a FIX 8 message to Session.
//
// Optional tags: OrigClOrdID, ExecRefID, SecondaryExecID, OrdStatusReqID and
// Text are absent when empty; Price when not Valid; OrdRejReason and
// ExecRestatementReason when negative (NoOrdRejReason, NoRestatementReason);
// LastQty/LastPx matter only for ExecType Trade and Trade Correct.
type ExecutionReport struct {
	Session               string
	OrderID               string
	ClOrdID               string
	OrigClOrdID           string `json:",omitempty"`
	ExecID                string
	ExecRefID             string `json:",omitempty"` // Trade Cancel/Correct: ExecID of the corrected report
	SecondaryExecID       string `json:",omitempty"` // the venue's exec id on trades
	ExecType              ExecType
	OrdStatus             OrdStatus
	OrdRejReason          OrdRejReason
	ExecRestatementReason ExecRestatementReason
	Account               string `json:",omitempty"`
	Symbol                string
	Side                  Side
	OrdType               OrdType     `json:",omitempty"`
	TimeInForce           TimeInForce `json:",omitempty"`
	Price                 decimal.NullDecimal
	OrderQty              decimal.Decimal
	CumQty                decimal.Decimal
	LeavesQty             decimal.Decimal
	AvgPx                 decimal.Decimal
	LastQty               decimal.Decimal
	LastPx                decimal.Decimal
	OrdStatusReqID        string `json:",omitempty"`
	Text                  string `json:",omitempty"`
	TransactTime          time.Time
}

// OrderCancelReject is a FIX 9 message to Session.
type OrderCancelReject struct {
	Session          string
	OrderID          string // NoneOrderID when the order is unknown
	ClOrdID          string // the rejected request's
	OrigClOrdID      string // the order's last accepted ClOrdID (the request's when unknown)
	OrdStatus        OrdStatus
	CxlRejResponseTo CxlRejResponseTo
	CxlRejReason     CxlRejReason
	Text             string `json:",omitempty"`
	TransactTime     time.Time
}

// VenueRequestKind says what the venue/desk must do with an order.
type VenueRequestKind string

// VenueRequest kinds.
const (
	VenueNew     VenueRequestKind = "new"
	VenueCancel  VenueRequestKind = "cancel"
	VenueReplace VenueRequestKind = "replace"
)

// VenueRequest asks the gateway to route a validated request to the venue or
// desk, which answers with venue events (AcceptNew, Fill, AcceptCancel...)
// naming OrderID. It is emitted only for requests the book accepted for
// processing, so resent or duplicate messages never reach the venue twice.
// For a replace, the fields carry the replacement; otherwise the order.
type VenueRequest struct {
	Kind        VenueRequestKind
	OrderID     string
	Symbol      string
	Side        Side
	OrdType     OrdType
	TimeInForce TimeInForce
	Price       decimal.NullDecimal
	OrderQty    decimal.Decimal
	CumQty      decimal.Decimal
	// TransactTime is the time of the event that caused the request.
	TransactTime time.Time
}

func (ExecutionReport) isOutput()   {}
func (OrderCancelReject) isOutput() {}
func (VenueRequest) isOutput()      {}
