// Package traderorders is a trader's order entry over tickwire's own
// protocol: orders entered, canceled, replaced and worked at the desk are
// published as orderwire requests on the feed server's request topic, and
// the order events of the trader's accounts (orders.ACCOUNT) and the
// server's refusals come back as the blotter's rows, fills, cancel rejects
// and alerts (tui.OrdersMsg, tui.AlertMsg). The dashboard uses it, and so
// can any trader program (a test, a bot): it needs a client.Client, never
// the server or the gateway (their side is package orderfeed).
package traderorders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/client"
	"tickwire/orderwire"
	"tickwire/protocol"
	"tickwire/tui"
)

// Service is the dashboard's tui.OrderService over tickwire's own
// protocol, and the bridge that brings the answers back:
//
//   - Submit, Cancel and Replace publish an orderwire.Request on
//     orderwire.RequestTopic with the client's current connection
//     (client.Publish: sent at most once, never again after a reconnect;
//     refused when the link is down);
//   - Run reads the client's events: the order events of the watched
//     accounts' topics (orderwire.AccountTopic) become tui.OrdersMsg (rows
//     upserted by ID, fills, cancel rejects), the server's refusals of our
//     requests (Error 1004 on the request topic) become a rejected order or
//     a cancel reject; everything else goes on to the dashboard's feed.
//
// Rows: an order's ID is the ClOrdID it was entered with (the dashboard's
// own orders keep the ID it gave them); its ClOrdID is the last accepted
// one, which a cancel or replace names as OrigClOrdID. Orders of FIX
// sessions on the same accounts are shown too; they can be worked only by
// their counterparty (or the desk), so Cancel and Replace refuse them.
type Service struct {
	pub      Publisher
	account  string              // new orders go to this account
	handl    orderwire.HandlInst // of new orders; 0: the gateway's auto venue
	topics   map[string]bool     // order topics of the watched accounts
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration // OrdersMsg batching

	mu       sync.Mutex
	send     tui.Sender
	rows     map[string]*orderRow   // by OrderID (or session+ClOrdID for an order the gateway did not record)
	byID     map[string]*orderRow   // by tui.Order.ID
	requests map[string]sentRequest // by ClOrdID, requests sent from here
	seen     map[string]bool        // recent order event keys (republished after a gateway crash)
	seenQ    []string
	batch    tui.OrdersMsg
	batchIdx map[string]int // tui.Order.ID -> index in batch.Orders
	alerts   tui.AlertMsg
}

// Publisher is what Service needs of client.Client.
type Publisher interface {
	Publish(frames ...protocol.Frame) error
}

type orderRow struct {
	order   tui.Order
	session string
	account string
}

type sentRequest struct {
	action orderwire.Action
	id     string           // the tui.Order.ID concerned
	order  tui.OrderRequest // new orders
}

// maxSeen bounds the order event keys remembered for deduplication: a
// republish only repeats the gateway's last batch.
const maxSeen = 4096

// New returns the order service of accounts (new orders go to the first).
// Subscribe the client to Topics(accounts), call SetSender with the
// program, and Run it between the client and tui.Feed.
func New(pub Publisher, accounts []string, log *slog.Logger) *Service {
	s := &Service{
		pub: pub, log: log, now: time.Now, interval: 50 * time.Millisecond,
		topics: make(map[string]bool), rows: make(map[string]*orderRow), byID: make(map[string]*orderRow),
		requests: make(map[string]sentRequest), seen: make(map[string]bool), batchIdx: make(map[string]int),
	}
	if len(accounts) > 0 {
		s.account = accounts[0]
	}
	for _, t := range Topics(accounts) {
		s.topics[t] = true
	}
	return s
}

// Topics returns the order topics of accounts (orderwire.AccountTopic).
func Topics(accounts []string) []string {
	out := make([]string, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, orderwire.AccountTopic(a))
	}
	return out
}

// SetSender sets where OrdersMsg and AlertMsg go (the tea.Program).
func (s *Service) SetSender(send tui.Sender) {
	s.mu.Lock()
	s.send = send
	s.mu.Unlock()
}

// Submit implements tui.OrderService. A care order (req.Care) goes with
// HandlInst=3: the gateway's desk works it.
func (s *Service) Submit(_ context.Context, req tui.OrderRequest) error {
	handl := s.handl
	if req.Care {
		handl = orderwire.HandlInstManual
	}
	req.Care = handl == orderwire.HandlInstManual // the row is a care order whichever way it was asked for
	r := &orderwire.Request{
		Action: orderwire.ActionNew, ClOrdID: req.ClOrdID, Account: s.account, Symbol: req.Symbol,
		Side: orderwire.Side(req.Side), OrdType: orderwire.OrdType(req.Type), OrderQty: decimal.NewNullDecimal(req.Qty),
		TimeInForce: orderwire.TimeInForce(req.TIF), HandlInst: handl, Text: staleText(req.StaleAck),
	}
	if req.Type != tui.OrdTypeMarket {
		r.Price = decimal.NewNullDecimal(req.Price)
	}
	return s.request(r, sentRequest{action: r.Action, id: req.ClOrdID, order: req})
}

// Cancel implements tui.OrderService.
func (s *Service) Cancel(_ context.Context, req tui.CancelRequest) error {
	account, err := s.accountOf(req.ID)
	if err != nil {
		return err
	}
	r := &orderwire.Request{
		Action: orderwire.ActionCancel, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID, Account: account,
		Symbol: req.Symbol, Side: orderwire.Side(req.Side),
	}
	return s.request(r, sentRequest{action: r.Action, id: req.ID})
}

// Replace implements tui.OrderService. The replacement keeps the order's
// HandlInst (absent in the request).
func (s *Service) Replace(_ context.Context, req tui.ReplaceRequest) error {
	account, err := s.accountOf(req.ID)
	if err != nil {
		return err
	}
	r := &orderwire.Request{
		Action: orderwire.ActionReplace, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID, Account: account,
		Symbol: req.Symbol, Side: orderwire.Side(req.Side), OrdType: orderwire.OrdType(req.Type),
		OrderQty: decimal.NewNullDecimal(req.Qty), TimeInForce: orderwire.TimeInForce(req.TIF), Text: staleText(req.StaleAck),
	}
	if req.Type != tui.OrdTypeMarket {
		r.Price = decimal.NewNullDecimal(req.Price)
	}
	return s.request(r, sentRequest{action: r.Action, id: req.ID})
}

// Desk implements tui.OrderService: the orderwire desk-* action on the
// order named by its OrderID. It is published once, like the others; the
// gateway refuses what the order's state does not allow (a second accept,
// an overfill), and that refusal comes back as an alert with the order's
// row resent (which ends the dashboard's in-flight mark).
func (s *Service) Desk(_ context.Context, req tui.DeskRequest) error {
	if req.OrderID == "" {
		return fmt.Errorf("order %s has no OrderID yet: the gateway has not reported it", req.ID)
	}
	r := &orderwire.Request{Action: orderwire.Action(req.Action), OrderID: req.OrderID, Text: clip(req.Text)}
	if !r.Action.Desk() {
		return fmt.Errorf("%q is not a desk action", req.Action)
	}
	if req.Action == tui.DeskFill {
		r.LastQty, r.LastPx = decimal.NewNullDecimal(req.Qty), decimal.NewNullDecimal(req.Price)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	data, err := r.Encode()
	if err != nil {
		return err
	}
	if err := s.pub.Publish(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: data}); err != nil {
		if errors.Is(err, client.ErrNotConnected) {
			return errors.New("not connected to the server")
		}
		return err
	}
	s.log.Info("desk request sent", "action", r.Action, "orderid", r.OrderID, "order", req.ID, "qty", r.LastQty, "px", r.LastPx, "text", r.Text)
	return nil
}

func clip(t string) string {
	if len(t) > orderwire.MaxTextLen {
		t = t[:orderwire.MaxTextLen]
	}
	return t
}

func staleText(ack string) string {
	if ack == "" {
		return ""
	}
	t := "sent on a price that was not current: " + ack
	if len(t) > orderwire.MaxTextLen {
		t = t[:orderwire.MaxTextLen]
	}
	return t
}

// accountOf returns the account to work order id in: its own, which must
// be a trader session's. An order not reported yet is one entered here.
func (s *Service) accountOf(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.byID[id]
	if row == nil {
		if s.account == "" {
			return "", errors.New("no account: start the trader with --accounts")
		}
		return s.account, nil
	}
	account, ok := orderwire.TraderAccount(row.session)
	if !ok {
		return "", fmt.Errorf("order %s came in on FIX session %s: only its counterparty or the desk can change it", id, row.session)
	}
	return account, nil
}

// request validates r, remembers it and publishes it once.
func (s *Service) request(r *orderwire.Request, sr sentRequest) error {
	if r.Account == "" {
		return errors.New("no account: start the trader with --accounts")
	}
	if err := r.Validate(); err != nil {
		return err
	}
	data, err := r.Encode()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if _, dup := s.requests[r.ClOrdID]; dup {
		s.mu.Unlock()
		return fmt.Errorf("ClOrdID %s was sent already", r.ClOrdID)
	}
	s.requests[r.ClOrdID] = sr // before sending: a refusal may come back at once
	s.mu.Unlock()
	err = s.pub.Publish(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: data})
	if err != nil {
		s.mu.Lock()
		delete(s.requests, r.ClOrdID)
		s.mu.Unlock()
		if errors.Is(err, client.ErrNotConnected) {
			return errors.New("not connected to the server")
		}
		return err
	}
	s.log.Info("order request sent", "action", r.Action, "clordid", r.ClOrdID, "account", r.Account, "symbol", r.Symbol, "text", r.Text)
	return nil
}

// Run reads the client's events until in is closed or ctx ends: order
// events and refusals of our requests become OrdersMsg (sent every
// interval), the rest go to out, which it closes when done.
func (s *Service) Run(ctx context.Context, in <-chan client.Event, out chan<- client.Event) {
	defer close(out)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				s.flush()
				return
			}
			if s.consume(ev) {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		case <-t.C:
			s.flush()
		case <-ctx.Done():
			return
		}
	}
}

// flush sends the pending OrdersMsg and alerts.
func (s *Service) flush() {
	s.mu.Lock()
	send, batch, alerts := s.send, s.batch, s.alerts
	if send == nil || (len(batch.Orders) == 0 && len(batch.Fills) == 0 && len(batch.CancelRejects) == 0 && len(alerts) == 0) {
		s.mu.Unlock()
		return
	}
	s.batch, s.alerts = tui.OrdersMsg{}, nil
	clear(s.batchIdx)
	s.mu.Unlock()
	if len(batch.Orders)+len(batch.Fills)+len(batch.CancelRejects) > 0 {
		send.Send(batch)
	}
	if len(alerts) > 0 {
		send.Send(alerts)
	}
}

// consume handles ev if it is the service's: an order event of a watched
// account, or a refusal of a request.
func (s *Service) consume(ev client.Event) bool {
	switch e := ev.(type) {
	case client.SequencedEvent:
		if !s.topics[e.Topic] {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.HistoryLost {
			s.alert(tui.LevelWarn, fmt.Sprintf("%s: order history lost before event %d: the blotter may miss orders and fills", e.Topic, e.Seq))
			return true
		}
		oe, err := orderwire.DecodeOrderEvent(e.Data)
		if err != nil {
			s.log.Warn("order event not understood", "topic", e.Topic, "seq", e.Seq, "err", err)
			s.alert(tui.LevelError, fmt.Sprintf("%s: order event %d not understood: %v", e.Topic, e.Seq, err))
			return true
		}
		s.applyEvent(oe)
		return true
	case client.ErrorEvent:
		if e.Err == nil || e.Err.Code != protocol.CodeBadPublish || e.Err.Topic != orderwire.RequestTopic {
			return false
		}
		rf, ok := orderwire.ParseRefusal(e.Err.Reason)
		if !ok {
			return false // not about a request we can name: the dashboard shows the error
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refused(rf)
		return true
	}
	return false
}

// applyEvent applies one order event. Caller holds s.mu.
func (s *Service) applyEvent(oe *orderwire.OrderEvent) {
	key := oe.Key()
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.seenQ = append(s.seenQ, key)
	if len(s.seenQ) > maxSeen {
		delete(s.seen, s.seenQ[0])
		s.seenQ = s.seenQ[1:]
	}
	switch {
	case oe.Report != nil:
		s.applyReport(oe.Report, oe.Account)
	case oe.Reject != nil:
		s.applyReject(oe.Reject)
	}
}

func (s *Service) applyReport(er *orderwire.ExecutionReport, account string) {
	if er.ExecType == orderwire.ExecTypeOrderStatus {
		return // changes nothing
	}
	key := er.OrderID
	if key == orderwire.NoneOrderID || key == "" {
		key = er.Session + "\x00" + er.ClOrdID
	}
	row := s.rows[key]
	switch {
	case row == nil:
		id := er.ClOrdID
		if er.OrigClOrdID != "" {
			id = er.OrigClOrdID // first seen mid-life (history trimmed): the closest to its entry ClOrdID
		}
		if other := s.byID[id]; other != nil {
			id += "@" + er.OrderID // another session used the same ClOrdID
		}
		row = &orderRow{order: tui.Order{ID: id}, session: er.Session, account: account}
		// Reports do not carry HandlInst: an order is a care order when it
		// was entered here as one.
		if req, ok := s.requests[er.ClOrdID]; ok && req.action == orderwire.ActionNew && er.Session == orderwire.TraderSession(account) {
			row.order.Care = req.order.Care
		}
		s.rows[key] = row
		s.byID[id] = row
	case er.ExecType == orderwire.ExecTypeRejected && er.OrdRejReason == orderwire.OrdRejReasonDuplicateOrder:
		return // a FIX duplicate: reports the existing order, changes nothing
	}
	o := &row.order
	switch er.ExecType {
	case orderwire.ExecTypePendingCancel, orderwire.ExecTypePendingReplace:
		o.ClOrdID = er.OrigClOrdID // the request is pending: the accepted ClOrdID stays
	default:
		o.ClOrdID = er.ClOrdID
	}
	if er.OrderID != orderwire.NoneOrderID {
		o.OrderID = er.OrderID
	}
	o.Symbol, o.Side, o.Type, o.TIF = er.Symbol, tui.Side(er.Side), tui.OrdType(er.OrdType), tui.TimeInForce(er.TimeInForce)
	o.Qty, o.Price = er.OrderQty, decimal.Zero
	if er.Price.Valid {
		o.Price = er.Price.Decimal
	}
	o.Status, o.CumQty, o.LeavesQty, o.AvgPx = tui.OrdStatus(er.OrdStatus), er.CumQty, er.LeavesQty, er.AvgPx
	o.Text, o.Updated, o.Unconfirmed = er.Text, er.TransactTime, false
	s.upsert(o)
	switch er.ExecType {
	case orderwire.ExecTypeTrade:
		s.batch.Fills = append(s.batch.Fills, tui.Fill{ExecID: er.ExecID, ID: o.ID, Symbol: o.Symbol, Side: o.Side,
			Qty: er.LastQty, Price: er.LastPx, Time: er.TransactTime})
	case orderwire.ExecTypeTradeCancel:
		s.alert(tui.LevelWarn, fmt.Sprintf("order %s %s: execution %s busted, %s filled", o.ID, o.Symbol, er.ExecRefID, o.CumQty))
	case orderwire.ExecTypeTradeCorrect:
		s.alert(tui.LevelWarn, fmt.Sprintf("order %s %s: execution %s corrected to %s @ %s", o.ID, o.Symbol, er.ExecRefID, er.LastQty, er.LastPx))
	}
}

func (s *Service) applyReject(rj *orderwire.OrderCancelReject) {
	var row *orderRow
	if rj.OrderID != orderwire.NoneOrderID {
		row = s.rows[rj.OrderID]
	}
	id := rj.OrigClOrdID
	switch req, ok := s.requests[rj.ClOrdID]; {
	case row != nil:
		id = row.order.ID
		row.order.Status, row.order.ClOrdID, row.order.Updated = tui.OrdStatus(rj.OrdStatus), rj.OrigClOrdID, rj.TransactTime
		s.upsert(&row.order)
	case ok:
		id = req.id
	}
	reason := rj.Text
	if reason == "" {
		reason = rj.CxlRejReason.String()
	}
	s.batch.CancelRejects = append(s.batch.CancelRejects, tui.CancelReject{ID: id, ClOrdID: rj.ClOrdID,
		Replace: rj.CxlRejResponseTo == orderwire.CxlRejResponseToReplace, Reason: reason, Time: rj.TransactTime})
}

// refused answers a refusal of one of our requests. Caller holds s.mu.
func (s *Service) refused(rf *orderwire.Refusal) {
	if rf.Unknown {
		// It may have been applied: nothing is marked refused, the request
		// stays pending for the order events that may still come.
		s.alert(tui.LevelError, "order request "+rf.Error()+": it may have been applied, do not enter it again before its order shows")
		if row := s.rows[rf.ID]; row != nil && rf.Action.Desk() {
			s.upsert(&row.order) // unchanged: ends the dashboard's in-flight mark on it
		}
		return
	}
	req, ok := s.requests[rf.ID]
	if ok {
		delete(s.requests, rf.ID) // refused: nothing was consumed
	}
	now := s.now()
	switch {
	case ok && rf.Action == orderwire.ActionNew && s.byID[rf.ID] == nil:
		r := req.order
		o := tui.Order{ID: rf.ID, ClOrdID: rf.ID, Symbol: r.Symbol, Side: r.Side, Type: r.Type, TIF: r.TIF, Qty: r.Qty,
			Price: r.Price, Status: tui.StatusRejected, CumQty: decimal.Zero, LeavesQty: decimal.Zero, AvgPx: decimal.Zero,
			Text: "refused: " + rf.Text, Care: r.Care, Updated: now}
		s.upsert(&o)
	case ok && (rf.Action == orderwire.ActionCancel || rf.Action == orderwire.ActionReplace):
		s.batch.CancelRejects = append(s.batch.CancelRejects, tui.CancelReject{ID: req.id, ClOrdID: rf.ID,
			Replace: rf.Action == orderwire.ActionReplace, Reason: "refused: " + rf.Text, Time: now})
	default:
		s.alert(tui.LevelError, "order request "+rf.Error())
		if row := s.rows[rf.ID]; row != nil && rf.Action.Desk() {
			s.upsert(&row.order) // unchanged: ends the dashboard's in-flight mark on it
		}
	}
}

// upsert puts o in the batch, replacing an earlier version of it.
func (s *Service) upsert(o *tui.Order) {
	if i, ok := s.batchIdx[o.ID]; ok {
		s.batch.Orders[i] = *o
		return
	}
	s.batchIdx[o.ID] = len(s.batch.Orders)
	s.batch.Orders = append(s.batch.Orders, *o)
}

func (s *Service) alert(level tui.Level, text string) {
	s.alerts = append(s.alerts, tui.Alert{Time: s.now(), Level: level, Text: text})
}
