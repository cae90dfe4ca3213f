package fix

import (
	"time"

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
	acc *Acceptor
	// submit hands an event to the engine of the acceptor's gateway
	// (submitInbound; the router's fuzz target catches the events instead).
	submit func(quickfix.SessionID, *quickfix.Message, order.Event) quickfix.MessageRejectError
}

func newApplication(acc *Acceptor) *application {
	a := &application{MessageRouter: quickfix.NewMessageRouter(), acc: acc}
	a.submit = a.submitInbound
	a.AddRoute(newordersingle.Route(a.onNewOrderSingle))
	a.AddRoute(ordercancelrequest.Route(a.onOrderCancelRequest))
	a.AddRoute(ordercancelreplacerequest.Route(a.onOrderCancelReplaceRequest))
	a.AddRoute(orderstatusrequest.Route(a.onOrderStatusRequest))
	return a
}

func (a *application) OnCreate(quickfix.SessionID) {}

func (a *application) OnLogon(id quickfix.SessionID) {
	a.acc.sessionState(id, true)
}

func (a *application) OnLogout(id quickfix.SessionID) {
	a.acc.sessionState(id, false)
}

func (a *application) ToAdmin(*quickfix.Message, quickfix.SessionID) {}

func (a *application) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

func (a *application) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}

// FromApp routes the message to its typed handler. A warm acceptor with no
// gateway attached (a node that is not the Active) refuses it: its port is
// closed then, so this is defence in depth; the refusal itself cannot be
// sent either (the standby's message stores refuse every write), and
// whatever the node did, the raft journal would refuse its appends.
func (a *application) FromApp(msg *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if a.acc.current() == nil {
		a.acc.log.Warn("fix message refused: this node is not the active node", "session", id.String())
		return errNotActiveReject
	}
	return a.Route(msg, id)
}

// errNotActiveReject is FromApp's refusal on a node that is not the
// Active: BusinessRejectReason 4, application not available.
var errNotActiveReject = quickfix.NewBusinessMessageRejectError("this node is not the active node", 4, nil)

// submitInbound hands an event to the attached gateway's engine, refusing
// it when there is none (the gateway detached since FromApp's check).
func (a *application) submitInbound(id quickfix.SessionID, msg *quickfix.Message, ev order.Event) quickfix.MessageRejectError {
	g := a.acc.current()
	if g == nil {
		return errNotActiveReject
	}
	return g.submitInbound(id, msg, ev)
}

// now is the time of an inbound event: the attached gateway's clock.
func (a *application) now() time.Time {
	if g := a.acc.current(); g != nil {
		return g.now()
	}
	return a.acc.cfg.Clock()
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
		TransactTime: a.now(),
	}
	if f.err != nil {
		return f.err
	}
	var rej quickfix.MessageRejectError
	if ev.Account, rej = a.account(id, "D", ev.ClOrdID, ev.Account); rej != nil {
		return rej
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
		TransactTime: a.now(),
	}
	if f.err != nil {
		return f.err
	}
	if err := a.ownAccount(id, "F", ev.ClOrdID, &f); err != nil {
		return err
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
		TransactTime: a.now(),
	}
	if f.err != nil {
		return f.err
	}
	var rej quickfix.MessageRejectError
	if ev.Account, rej = a.account(id, "G", ev.ClOrdID, ev.Account); rej != nil {
		return rej
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
		TransactTime:   a.now(),
	}
	if f.err != nil {
		return f.err
	}
	if err := a.ownAccount(id, "H", ev.ClOrdID, &f); err != nil {
		return err
	}
	return a.submit(id, m.Message, ev)
}

// account checks the Account of an order (D) or replacement (G) against
// the accounts its session may trade and returns the one it trades (the
// session's only account when none was sent). A refusal is logged.
func (a *application) account(id quickfix.SessionID, msgType, clOrdID, sent string) (string, quickfix.MessageRejectError) {
	acct, rej := a.acc.identities[id].account(sent, clOrdID)
	if rej != nil {
		a.acc.log.Warn("fix request refused", "session", id.String(), "msg_type", msgType, "cl_ord_id", clOrdID, "account", sent, "reason", rej.Error())
	}
	return acct, rej
}

// ownAccount checks the Account of a cancel (F) or status request (H), if
// it has one: they act on the session's own orders, named by ClOrdID, so an
// absent Account is fine, but another account's is refused.
func (a *application) ownAccount(id quickfix.SessionID, msgType, clOrdID string, f *reader) quickfix.MessageRejectError {
	sent := f.str(tag.Account)
	if f.err != nil || sent == "" {
		return f.err
	}
	_, rej := a.account(id, msgType, clOrdID, sent)
	return rej
}
