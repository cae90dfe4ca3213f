package fix

import (
	"github.com/quickfixgo/fix44/newordersingle"
	"github.com/quickfixgo/fix44/ordercancelreplacerequest"
	"github.com/quickfixgo/fix44/ordercancelrequest"
	"github.com/quickfixgo/fix44/orderstatusrequest"
	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/order"
)

// application is the gateway's quickfix.Application: the only place where
// the engine meets our code. It embeds a MessageRouter with one typed route
// per supported message (D, F, G, H); any other application message is
// answered by the router with a BusinessMessageReject (Unsupported Message
// Type). Handlers only read fields and build order Events; the engine
// goroutine journals and applies them (quickfix calls FromApp from each
// session's own goroutine).
type application struct {
	*quickfix.MessageRouter
	g *Gateway
	// submit hands an event to the engine: g.submitInbound (the router's
	// fuzz target catches the events instead).
	submit func(quickfix.SessionID, *quickfix.Message, order.Event) quickfix.MessageRejectError
}

func newApplication(g *Gateway) *application {
	a := &application{MessageRouter: quickfix.NewMessageRouter(), g: g, submit: g.submitInbound}
	a.AddRoute(newordersingle.Route(a.onNewOrderSingle))
	a.AddRoute(ordercancelrequest.Route(a.onOrderCancelRequest))
	a.AddRoute(ordercancelreplacerequest.Route(a.onOrderCancelReplaceRequest))
	a.AddRoute(orderstatusrequest.Route(a.onOrderStatusRequest))
	return a
}

func (a *application) OnCreate(quickfix.SessionID) {}

func (a *application) OnLogon(id quickfix.SessionID) {
	a.g.sessionState(id, true)
}

func (a *application) OnLogout(id quickfix.SessionID) {
	a.g.sessionState(id, false)
}

func (a *application) ToAdmin(*quickfix.Message, quickfix.SessionID) {}

func (a *application) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

func (a *application) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}

// FromApp routes the message to its typed handler.
func (a *application) FromApp(msg *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	return a.Route(msg, id)
}

func (a *application) onNewOrderSingle(m newordersingle.NewOrderSingle, id quickfix.SessionID) quickfix.MessageRejectError {
	f := reader{m: m.Message}
	ev := order.NewOrderSingle{
		Session:      id.String(),
		ClOrdID:      f.str(tag.ClOrdID),
		Account:      f.str(tag.Account),
		Symbol:       f.str(tag.Symbol),
		Side:         order.Side(f.char(tag.Side)),
		OrdType:      order.OrdType(f.char(tag.OrdType)),
		Price:        f.nullDec(tag.Price),
		OrderQty:     f.dec(tag.OrderQty),
		TimeInForce:  order.TimeInForce(f.char(tag.TimeInForce)),
		HandlInst:    order.HandlInst(f.char(tag.HandlInst)),
		PossResend:   f.possResend(),
		TransactTime: a.g.now(),
	}
	if f.err != nil {
		return f.err
	}
	return a.submit(id, m.Message, ev)
}

func (a *application) onOrderCancelRequest(m ordercancelrequest.OrderCancelRequest, id quickfix.SessionID) quickfix.MessageRejectError {
	f := reader{m: m.Message}
	ev := order.OrderCancelRequest{
		Session:      id.String(),
		ClOrdID:      f.str(tag.ClOrdID),
		OrigClOrdID:  f.str(tag.OrigClOrdID),
		Symbol:       f.str(tag.Symbol),
		Side:         order.Side(f.char(tag.Side)),
		PossResend:   f.possResend(),
		TransactTime: a.g.now(),
	}
	if f.err != nil {
		return f.err
	}
	return a.submit(id, m.Message, ev)
}

func (a *application) onOrderCancelReplaceRequest(m ordercancelreplacerequest.OrderCancelReplaceRequest, id quickfix.SessionID) quickfix.MessageRejectError {
	f := reader{m: m.Message}
	ev := order.OrderCancelReplaceRequest{
		Session:      id.String(),
		ClOrdID:      f.str(tag.ClOrdID),
		OrigClOrdID:  f.str(tag.OrigClOrdID),
		Account:      f.str(tag.Account),
		Symbol:       f.str(tag.Symbol),
		Side:         order.Side(f.char(tag.Side)),
		OrdType:      order.OrdType(f.char(tag.OrdType)),
		Price:        f.nullDec(tag.Price),
		OrderQty:     f.dec(tag.OrderQty),
		TimeInForce:  order.TimeInForce(f.char(tag.TimeInForce)),
		HandlInst:    order.HandlInst(f.char(tag.HandlInst)),
		PossResend:   f.possResend(),
		TransactTime: a.g.now(),
	}
	if f.err != nil {
		return f.err
	}
	return a.submit(id, m.Message, ev)
}

func (a *application) onOrderStatusRequest(m orderstatusrequest.OrderStatusRequest, id quickfix.SessionID) quickfix.MessageRejectError {
	f := reader{m: m.Message}
	ev := order.OrderStatusRequest{
		Session:        id.String(),
		ClOrdID:        f.str(tag.ClOrdID),
		OrderID:        f.str(tag.OrderID),
		OrdStatusReqID: f.str(tag.OrdStatusReqID),
		Symbol:         f.str(tag.Symbol),
		Side:           order.Side(f.char(tag.Side)),
		TransactTime:   a.g.now(),
	}
	if f.err != nil {
		return f.err
	}
	return a.submit(id, m.Message, ev)
}
