package tui

import (
	"context"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopspring/decimal"
)

// The order types below carry their FIX 4.4 wire values, as fix/order does,
// so a gateway-backed OrderService converts them with a plain cast.

// Side is FIX tag 54.
type Side byte

// Sides the entry form offers.
const (
	SideBuy  Side = '1'
	SideSell Side = '2'
)

func (s Side) String() string {
	switch s {
	case SideBuy:
		return "Buy"
	case SideSell:
		return "Sell"
	}
	return fmt.Sprintf("Side(%q)", rune(s))
}

// OrdType is FIX tag 40.
type OrdType byte

// Order types the entry form offers.
const (
	OrdTypeMarket OrdType = '1'
	OrdTypeLimit  OrdType = '2'
)

func (t OrdType) String() string {
	switch t {
	case OrdTypeMarket:
		return "Market"
	case OrdTypeLimit:
		return "Limit"
	}
	return fmt.Sprintf("OrdType(%q)", rune(t))
}

// TimeInForce is FIX tag 59.
type TimeInForce byte

// Times in force the entry form offers.
const (
	TIFDay TimeInForce = '0'
	TIFGTC TimeInForce = '1'
	TIFIOC TimeInForce = '3'
	TIFFOK TimeInForce = '4'
)

func (t TimeInForce) String() string {
	switch t {
	case TIFDay, 0:
		return "Day"
	case TIFGTC:
		return "GTC"
	case TIFIOC:
		return "IOC"
	case TIFFOK:
		return "FOK"
	}
	return fmt.Sprintf("TIF(%q)", rune(t))
}

// OrdStatus is FIX tag 39.
type OrdStatus byte

// Order statuses the blotter shows.
const (
	StatusNew             OrdStatus = '0'
	StatusPartiallyFilled OrdStatus = '1'
	StatusFilled          OrdStatus = '2'
	StatusDoneForDay      OrdStatus = '3'
	StatusCanceled        OrdStatus = '4'
	StatusReplaced        OrdStatus = '5'
	StatusPendingCancel   OrdStatus = '6'
	StatusRejected        OrdStatus = '8'
	StatusSuspended       OrdStatus = '9'
	StatusPendingNew      OrdStatus = 'A'
	StatusExpired         OrdStatus = 'C'
	StatusPendingReplace  OrdStatus = 'E'
)

func (s OrdStatus) String() string {
	switch s {
	case StatusNew:
		return "New"
	case StatusPartiallyFilled:
		return "PartFill"
	case StatusFilled:
		return "Filled"
	case StatusDoneForDay:
		return "DoneDay"
	case StatusCanceled:
		return "Canceled"
	case StatusReplaced:
		return "Replaced"
	case StatusPendingCancel:
		return "PendCxl"
	case StatusRejected:
		return "Rejected"
	case StatusSuspended:
		return "Suspended"
	case StatusPendingNew:
		return "PendNew"
	case StatusExpired:
		return "Expired"
	case StatusPendingReplace:
		return "PendRpl"
	}
	return fmt.Sprintf("%q", rune(s)) // quoted: the byte came from outside
}

// Done reports whether the order can no longer trade.
func (s OrdStatus) Done() bool {
	switch s {
	case StatusFilled, StatusDoneForDay, StatusCanceled, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// OrderRequest is a new order from the entry form.
type OrderRequest struct {
	ClOrdID string // unique per submission: the service must not send one ClOrdID twice
	Symbol  string
	Side    Side
	Type    OrdType
	Qty     decimal.Decimal
	Price   decimal.Decimal // limit orders only; zero for market
	TIF     TimeInForce
	// Care sends a care order (FIX HandlInst=3): it waits at the gateway's
	// desk, which works it by hand (DeskRequest); otherwise the auto venue
	// works it.
	Care bool
	// StaleAck is set when the trader confirmed sending although the price
	// was not current; it says what they were warned of (for the audit log).
	StaleAck string
}

// CancelRequest asks to cancel a working order.
type CancelRequest struct {
	ClOrdID     string // new, unique
	OrigClOrdID string // the order's current ClOrdID
	ID          string // Order.ID
	Symbol      string
	Side        Side
}

// ReplaceRequest asks to change a working order's quantity or price.
type ReplaceRequest struct {
	ClOrdID     string // new, unique
	OrigClOrdID string
	ID          string
	Symbol      string
	Side        Side
	Type        OrdType
	Qty         decimal.Decimal
	Price       decimal.Decimal
	TIF         TimeInForce
	StaleAck    string
}

// DeskAction is the desk's work on a care order. The values are the
// orderwire actions' names, so a gateway-backed service converts them with a
// plain cast.
type DeskAction string

// Desk actions the blotter offers (deskActions says in which states).
const (
	DeskAccept        DeskAction = "desk-accept"         // acknowledge a new care order (8 New)
	DeskReject        DeskAction = "desk-reject"         // reject a new care order (8 Rejected), with Text
	DeskFill          DeskAction = "desk-fill"           // execute Qty at Price (8 Trade)
	DeskAcceptCancel  DeskAction = "desk-accept-cancel"  // accept the pending cancel
	DeskRejectCancel  DeskAction = "desk-reject-cancel"  // reject it (9), with Text
	DeskAcceptReplace DeskAction = "desk-accept-replace" // accept the pending replace
	DeskRejectReplace DeskAction = "desk-reject-replace" // reject it (9), with Text
	DeskDoneForDay    DeskAction = "desk-done-for-day"   // end the order's day (8 Done for day)
	DeskCancel        DeskAction = "desk-cancel"         // cancel on the desk's initiative (unsolicited 8 Canceled)
)

// String returns the action as the blotter names it.
func (a DeskAction) String() string {
	switch a {
	case DeskAccept:
		return "accept"
	case DeskReject:
		return "reject"
	case DeskFill:
		return "fill"
	case DeskAcceptCancel:
		return "accept cancel"
	case DeskRejectCancel:
		return "reject cancel"
	case DeskAcceptReplace:
		return "accept replace"
	case DeskRejectReplace:
		return "reject replace"
	case DeskDoneForDay:
		return "done for day"
	case DeskCancel:
		return "desk cancel"
	}
	return string(a)
}

// DeskRequest is the desk's work on a care order, named by the venue's
// OrderID. A desk request has no ClOrdID: the dashboard sends each one once
// (a second key press while one is in flight sends nothing), and the gateway
// refuses what the order's state no longer allows (a second accept, an
// overfill), so a repeat changes nothing.
type DeskRequest struct {
	Action  DeskAction
	ID      string // Order.ID
	OrderID string // the venue's OrderID (Order.OrderID)
	Symbol  string
	Qty     decimal.Decimal // DeskFill: LastQty
	Price   decimal.Decimal // DeskFill: LastPx
	Text    string          // rejects and cancels: the reason shown to the trader
}

// OrderService is what the dashboard needs to trade. Submit, Cancel and
// Replace return once the request is accepted for sending (or refused: not
// connected, throttled); what the venue makes of it arrives later as
// OrdersMsg. They must be idempotent by ClOrdID: the dashboard gives every
// request a fresh ClOrdID and never resends one by itself, so a request
// is sent at most once even across a reconnect. A nil OrderService means
// order entry is unavailable, and the dashboard says so.
type OrderService interface {
	Submit(ctx context.Context, req OrderRequest) error
	Cancel(ctx context.Context, req CancelRequest) error
	Replace(ctx context.Context, req ReplaceRequest) error
	// Desk works a care order (Order.Care) at the gateway's desk. It
	// returns once the request is accepted for sending, like the others;
	// the order's new state arrives as OrdersMsg. A service without a desk
	// returns an error saying so.
	Desk(ctx context.Context, req DeskRequest) error
}

// Order is one row of the blotter, as the order service last reported it.
type Order struct {
	ID          string // stable across replaces: the ClOrdID the order was entered with
	ClOrdID     string // current
	OrderID     string // the venue's, once known
	Symbol      string
	Side        Side
	Type        OrdType
	TIF         TimeInForce
	Qty         decimal.Decimal
	Price       decimal.Decimal
	Status      OrdStatus
	CumQty      decimal.Decimal
	LeavesQty   decimal.Decimal
	AvgPx       decimal.Decimal
	Text        string // reject or cancel reason
	Care        bool   // a care order (HandlInst=3): the desk works it
	Updated     time.Time
	Unconfirmed bool // entered here, not yet reported by the service
}

// Fill is one execution of an order.
type Fill struct {
	ExecID string
	ID     string // Order.ID
	Symbol string
	Side   Side
	Qty    decimal.Decimal
	Price  decimal.Decimal
	Time   time.Time
}

// CancelReject is an OrderCancelReject: a cancel or replace was refused.
type CancelReject struct {
	ID      string // Order.ID
	ClOrdID string // of the refused request
	Replace bool   // a replace rather than a cancel
	Reason  string
	Time    time.Time
}

// OrdersMsg carries order updates from the order service: changed orders
// (upserted by ID), new fills and cancel rejects. The service's wiring sends
// it with Program.Send.
type OrdersMsg struct {
	Orders        []Order
	Fills         []Fill
	CancelRejects []CancelReject
}

// orderAction names what a request did, for messages.
type orderAction string

const (
	actionNew     orderAction = "new order"
	actionCancel  orderAction = "cancel"
	actionReplace orderAction = "replace"
)

// deskOrderAction names a desk request in flight, for messages.
func deskOrderAction(a DeskAction) orderAction { return orderAction("desk " + a.String()) }

// orderSentMsg reports the outcome of handing a request to the service.
type orderSentMsg struct {
	action orderAction
	id     string // Order.ID
	req    any
	err    error
}

// sendTimeout bounds one call to the order service.
const sendTimeout = 5 * time.Second

func submitCmd(svc OrderService, req OrderRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return orderSentMsg{action: actionNew, id: req.ClOrdID, req: req, err: svc.Submit(ctx, req)}
	}
}

func cancelCmd(svc OrderService, req CancelRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return orderSentMsg{action: actionCancel, id: req.ID, req: req, err: svc.Cancel(ctx, req)}
	}
}

func replaceCmd(svc OrderService, req ReplaceRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return orderSentMsg{action: actionReplace, id: req.ID, req: req, err: svc.Replace(ctx, req)}
	}
}

func deskCmd(svc OrderService, req DeskRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return orderSentMsg{action: deskOrderAction(req.Action), id: req.ID, req: req, err: svc.Desk(ctx, req)}
	}
}
