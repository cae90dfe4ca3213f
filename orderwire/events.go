package orderwire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// OrderEvent is the JSON payload of an event on an account's order topic
// (AccountTopic): one ExecutionReport or OrderCancelReject the gateway sent,
// after it was journalled, whether to a FIX session or to a trader session
// (those are not sent anywhere else). Status reports (ExecType I) are not
// published.
//
// It is the wire form of the gateway's fix.OrderEvent; a test in fix/ keeps
// the two identical.
//
// Delivery is exactly once in normal operation and at least once across a
// gateway crash: a restarted gateway republishes the outputs of its last
// journal batch. (Epoch, Seq, Index) is unique per output and the same when
// republished: Key returns it, to deduplicate.
type OrderEvent struct {
	// Epoch and Seq are the gateway journal's position of the event that
	// produced the output; Index is the output's index among its outputs.
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	Index int    `json:"index"`
	// Kind is KindExecutionReport or KindOrderCancelReject; Report or
	// Reject is set accordingly.
	Kind   string             `json:"kind"`
	Report *ExecutionReport   `json:"report,omitempty"`
	Reject *OrderCancelReject `json:"reject,omitempty"`
	// Account is the order's account (for a reject of an unknown order in
	// a trader session, the session's).
	Account string `json:"account,omitempty"`
}

// OrderEvent kinds.
const (
	KindExecutionReport   = "ExecutionReport"
	KindOrderCancelReject = "OrderCancelReject"
)

// Key identifies the output across republishing.
func (e *OrderEvent) Key() string { return fmt.Sprintf("%s/%d/%d", e.Epoch, e.Seq, e.Index) }

// NoneOrderID is the OrderID of a report or reject about an order the
// gateway does not know.
const NoneOrderID = "NONE"

// ExecutionReport is a FIX 8 message. Decimals are JSON strings; an absent
// Price is null.
type ExecutionReport struct {
	Session               string // the FIX session, or TraderSession(account)
	OrderID               string // stable for the order's life; NoneOrderID when unknown
	ClOrdID               string
	OrigClOrdID           string `json:",omitempty"`
	ExecID                string
	ExecRefID             string `json:",omitempty"` // Trade Cancel/Correct: the ExecID corrected
	SecondaryExecID       string `json:",omitempty"`
	ExecType              ExecType
	OrdStatus             OrdStatus
	OrdRejReason          OrdRejReason          // -1 absent
	ExecRestatementReason ExecRestatementReason // -1 absent
	Account               string                `json:",omitempty"`
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

// OrderCancelReject is a FIX 9 message.
type OrderCancelReject struct {
	Session          string
	OrderID          string // NoneOrderID when the order is unknown
	ClOrdID          string // the refused request's
	OrigClOrdID      string // the order's last accepted ClOrdID (the request's when unknown)
	OrdStatus        OrdStatus
	CxlRejResponseTo CxlRejResponseTo
	CxlRejReason     CxlRejReason
	Text             string `json:",omitempty"`
	TransactTime     time.Time
}

// DecodeOrderEvent decodes an order event. Unknown fields are ignored, so a
// gateway may add some.
func DecodeOrderEvent(data []byte) (*OrderEvent, error) {
	var e OrderEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("order event: %w", err)
	}
	switch {
	case e.Kind == KindExecutionReport && e.Report != nil:
	case e.Kind == KindOrderCancelReject && e.Reject != nil:
	default:
		return nil, fmt.Errorf("order event: kind %q without its body", e.Kind)
	}
	return &e, nil
}
