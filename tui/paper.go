package tui

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Paper is an OrderService that trades on paper (trader --paper), so the
// blotter and the order form can be tried (and shown) without a server that
// runs the order gateway, or an account on one. Nothing leaves the process. Its rules are fixed and simple:
//
//   - a limit order is accepted at once; fillAfter later half of it fills at
//     its limit price and the rest keeps working;
//   - a market order, or one over a million, is rejected;
//   - cancels and replaces of working orders succeed, others are refused
//     with a cancel reject;
//   - there is no desk: a care order (Route Desk) is refused before it is
//     sent, and so are desk actions.
//
// It sends OrdersMsg through the Sender given to SetSender (the program).
type Paper struct {
	mu     sync.Mutex
	send   Sender
	orders map[string]*Order
	execs  int
	// FillAfter is how long after acceptance the half fill comes. Default 300ms.
	FillAfter time.Duration
}

// NewPaper returns a paper order service; call SetSender before use.
func NewPaper() *Paper {
	return &Paper{orders: make(map[string]*Order), FillAfter: 300 * time.Millisecond}
}

// SetSender sets where order updates go (the tea.Program).
func (p *Paper) SetSender(s Sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.send = s
}

var paperLimit = decimal.NewFromInt(1_000_000)

func (p *Paper) emit(msg OrdersMsg) {
	if p.send != nil {
		p.send.Send(msg)
	}
}

// Submit implements OrderService.
func (p *Paper) Submit(_ context.Context, req OrderRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.orders[req.ClOrdID]; dup {
		return errors.New("paper: duplicate ClOrdID " + req.ClOrdID)
	}
	if req.Care {
		return errPaperDesk
	}
	now := time.Now()
	o := &Order{ID: req.ClOrdID, ClOrdID: req.ClOrdID, OrderID: "P" + strconv.Itoa(len(p.orders)+1), Symbol: req.Symbol,
		Side: req.Side, Type: req.Type, TIF: req.TIF, Qty: req.Qty, Price: req.Price, Status: StatusNew,
		LeavesQty: req.Qty, Updated: now}
	p.orders[o.ID] = o
	switch {
	case req.Type == OrdTypeMarket:
		o.Status, o.LeavesQty, o.Text = StatusRejected, decimal.Zero, "paper: market orders need a venue"
	case req.Qty.GreaterThan(paperLimit):
		o.Status, o.LeavesQty, o.Text = StatusRejected, decimal.Zero, "paper: over the 1,000,000 limit"
	default:
		id := o.ID
		time.AfterFunc(p.FillAfter, func() { p.fillHalf(id) })
	}
	p.emit(OrdersMsg{Orders: []Order{*o}})
	return nil
}

func (p *Paper) fillHalf(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orders[id]
	if o.Status.Done() || !o.CumQty.IsZero() {
		return
	}
	q := o.Qty.Div(decimal.NewFromInt(2)).Truncate(0)
	if q.IsZero() {
		q = o.Qty
	}
	p.execs++
	f := Fill{ExecID: "PX" + strconv.Itoa(p.execs), ID: o.ID, Symbol: o.Symbol, Side: o.Side, Qty: q, Price: o.Price, Time: time.Now()}
	o.CumQty, o.LeavesQty, o.AvgPx, o.Updated = q, o.Qty.Sub(q), o.Price, f.Time
	o.Status = StatusPartiallyFilled
	if o.LeavesQty.IsZero() {
		o.Status = StatusFilled
	}
	p.emit(OrdersMsg{Orders: []Order{*o}, Fills: []Fill{f}})
}

// Cancel implements OrderService.
func (p *Paper) Cancel(_ context.Context, req CancelRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orders[req.ID]
	if o == nil || o.Status.Done() {
		p.emit(OrdersMsg{CancelRejects: []CancelReject{{ID: req.ID, ClOrdID: req.ClOrdID, Reason: "paper: unknown or done order", Time: time.Now()}}})
		return nil
	}
	o.Status, o.LeavesQty, o.ClOrdID, o.Updated = StatusCanceled, decimal.Zero, req.ClOrdID, time.Now()
	p.emit(OrdersMsg{Orders: []Order{*o}})
	return nil
}

// Replace implements OrderService.
func (p *Paper) Replace(_ context.Context, req ReplaceRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orders[req.ID]
	if o == nil || o.Status.Done() || req.Qty.LessThanOrEqual(o.CumQty) {
		p.emit(OrdersMsg{CancelRejects: []CancelReject{{ID: req.ID, ClOrdID: req.ClOrdID, Replace: true, Reason: "paper: cannot replace", Time: time.Now()}}})
		return nil
	}
	o.ClOrdID, o.Qty, o.Price, o.TIF, o.Updated = req.ClOrdID, req.Qty, req.Price, req.TIF, time.Now()
	o.LeavesQty = o.Qty.Sub(o.CumQty)
	p.emit(OrdersMsg{Orders: []Order{*o}})
	return nil
}

var errPaperDesk = errors.New("paper trading has no desk: care orders and desk actions need a gateway (--accounts)")

// Desk implements OrderService: paper trading has no desk.
func (p *Paper) Desk(context.Context, DeskRequest) error { return errPaperDesk }
