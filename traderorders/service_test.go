package traderorders

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopspring/decimal"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/orderfeed"
	"tickwire/orderwire"
	"tickwire/protocol"
	"tickwire/tui"
)

// orderRig is a feed server with the order request topic, the FIX gateway
// behind it (its order events on orders.ACCOUNT), and a trader: a
// client.Client on loopback with the dashboard's order service between it
// and the dashboard, whose OrdersMsg and AlertMsg a real tui.Model takes.
type orderRig struct {
	t      *testing.T
	srv    *feedserver.Server
	url    string
	orders *orderfeed.Bridge
	gw     *fix.Gateway
	cl     *client.Client
	svc    *Service
	sent   chan tea.Msg      // what the service sends the program
	other  chan client.Event // what it passes on to the dashboard's feed
	model  *tui.Model
	state  orderState
}

// orderState is the dashboard's view, rebuilt from the OrdersMsg received.
type orderState struct {
	rows    map[string]tui.Order
	fills   []tui.Fill
	rejects []tui.CancelReject
	alerts  []tui.Alert
}

type chanSender chan tea.Msg

func (c chanSender) Send(m tea.Msg) { c <- m }

func newOrderRig(t *testing.T, account string, opts ...func(*fix.Config)) *orderRig {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	r := &orderRig{t: t, orders: orderfeed.New(log), sent: make(chan tea.Msg, 256), state: orderState{rows: map[string]tui.Order{}}}
	r.srv = feedserver.New(feedserver.Config{Name: "orders-test", Logger: log, Requests: r.orders.Handlers()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "ws://" + ln.Addr().String() + "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(ctx, ln) }()
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.1002)
	if err := r.srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}

	settings, err := fix.ParseSettings(strings.NewReader(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=0
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
[SESSION]
BeginString=FIX.4.4
SenderCompID=TWORDERS
TargetCompID=CLORDERS
TickwireAccounts=*
TickwireOpenLogon=Y
`), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fix.Config{Settings: settings, DataDir: filepath.Join(t.TempDir(), "fix"), Logger: log,
		Prices: fix.LatestPrices(r.srv.Hub().LatestAge), Events: orderfeed.HubEvents{Hub: r.srv.Hub()}}
	for _, o := range opts {
		o(&cfg)
	}
	r.gw, err = fix.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.gw.Start(); err != nil {
		t.Fatal(err)
	}
	r.orders.Attach(r.srv.Hub(), r.gw)

	r.cl = client.New(client.Options{URLs: []string{r.url}, Name: "trader-test", Topics: Topics([]string{account}), Logger: log})
	r.svc = New(r.cl, []string{account}, log)
	r.svc.interval = 10 * time.Millisecond
	r.svc.SetSender(chanSender(r.sent))
	r.model = tui.New(tui.Config{Symbols: []string{"EURUSD"}, Orders: r.svc})
	r.model.Update(tea.WindowSizeMsg{Width: 140, Height: 45})
	r.other = make(chan client.Event, 1024)
	fed := make(chan client.Event, 1024)
	go func() { _ = r.cl.Run(ctx) }()
	go r.svc.Run(ctx, r.cl.Events(), fed)
	go func() {
		for ev := range fed {
			select {
			case r.other <- ev:
			default: // the test reads only what it needs
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := r.gw.Stop(); err != nil {
			t.Errorf("gateway stop: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	r.waitEvent("connected", func(ev client.Event) bool {
		s, ok := ev.(client.StateEvent)
		return ok && s.State == client.Connected
	})
	return r
}

// waitEvent waits for an event the service passed on.
func (r *orderRig) waitEvent(what string, cond func(client.Event) bool) client.Event {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-r.other:
			if cond(ev) {
				return ev
			}
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// wait applies what the service sends (to the state and the model) until
// cond holds.
func (r *orderRig) wait(what string, cond func(s *orderState) bool) {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond(&r.state) {
		select {
		case m := <-r.sent:
			r.model.Update(m)
			switch m := m.(type) {
			case tui.OrdersMsg:
				for _, o := range m.Orders {
					r.state.rows[o.ID] = o
				}
				r.state.fills = append(r.state.fills, m.Fills...)
				r.state.rejects = append(r.state.rejects, m.CancelRejects...)
			case tui.AlertMsg:
				r.state.alerts = append(r.state.alerts, m...)
			}
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s; state %+v", what, r.state)
		}
	}
}

// publish sends a raw request payload, as any client may.
func (r *orderRig) publish(payload string) {
	r.t.Helper()
	if err := r.cl.Publish(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: []byte(payload)}); err != nil {
		r.t.Fatal(err)
	}
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func (s *orderState) status(id string, st tui.OrdStatus) bool {
	o, ok := s.rows[id]
	return ok && o.Status == st
}

func (s *orderState) alert(sub string) bool {
	for _, a := range s.alerts {
		if strings.Contains(a.Text, sub) {
			return true
		}
	}
	return false
}

// TestTraderOrdersOverWebSocket: the dashboard's order service against a
// real server and gateway on loopback. New, replace and cancel go out as
// requests on requests.orders and come back as ExecutionReports on
// orders.ACC, which the bridge turns into blotter rows and fills; a
// duplicate ClOrdID and bad payloads are refused with a reason and harm
// nothing; a desk (HandlInst=3) order is accepted and filled through the
// request path.
func TestTraderOrdersOverWebSocket(t *testing.T) {
	r := newOrderRig(t, "ACC")
	ctx := context.Background()

	// A raw observer of the account's topic: the order events themselves.
	obs := client.New(client.Options{URLs: []string{r.url}, Name: "observer", Topics: []string{"orders.ACC"}, Logger: slog.New(slog.DiscardHandler)})
	octx, ocancel := context.WithCancel(ctx)
	defer ocancel()
	go func() { _ = obs.Run(octx) }()
	var obsMu sync.Mutex
	var observed []*orderwire.OrderEvent
	go func() {
		for ev := range obs.Events() {
			if se, ok := ev.(client.SequencedEvent); ok {
				oe, err := orderwire.DecodeOrderEvent(se.Data)
				if err != nil {
					t.Errorf("order event %d: %v", se.Seq, err)
					continue
				}
				obsMu.Lock()
				observed = append(observed, oe)
				obsMu.Unlock()
			}
		}
	}()

	// A marketable limit order: acknowledged and filled at the ask.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "TW-1", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeLimit, Qty: d("100"), Price: d("1.2"), TIF: tui.TIFDay}))
	r.wait("TW-1 filled", func(s *orderState) bool { return s.status("TW-1", tui.StatusFilled) && len(s.fills) == 1 })
	if o, f := r.state.rows["TW-1"], r.state.fills[0]; !o.CumQty.Equal(d("100")) || !o.AvgPx.Equal(d("1.1002")) || o.OrderID == "" ||
		f.ID != "TW-1" || !f.Qty.Equal(d("100")) || !f.Price.Equal(d("1.1002")) || f.Side != tui.SideBuy {
		t.Fatalf("TW-1 %+v, fill %+v", o, f)
	}

	// A resting order, replaced, then canceled: the row keeps its ID, its
	// ClOrdID follows the accepted requests.
	must(r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "TW-2", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeLimit, Qty: d("100"), Price: d("1.0"), TIF: tui.TIFGTC}))
	r.wait("TW-2 working", func(s *orderState) bool { return s.status("TW-2", tui.StatusNew) })
	must(r.svc.Replace(ctx, tui.ReplaceRequest{ClOrdID: "TW-3", OrigClOrdID: r.state.rows["TW-2"].ClOrdID, ID: "TW-2", Symbol: "EURUSD",
		Side: tui.SideBuy, Type: tui.OrdTypeLimit, Qty: d("200"), Price: d("1.05"), TIF: tui.TIFGTC}))
	r.wait("TW-2 replaced", func(s *orderState) bool { o := s.rows["TW-2"]; return o.ClOrdID == "TW-3" && o.Qty.Equal(d("200")) })
	if o := r.state.rows["TW-2"]; o.Status != tui.StatusNew || !o.Price.Equal(d("1.05")) || o.TIF != tui.TIFGTC {
		t.Fatalf("replaced TW-2 %+v", o)
	}
	must(r.svc.Cancel(ctx, tui.CancelRequest{ClOrdID: "TW-4", OrigClOrdID: r.state.rows["TW-2"].ClOrdID, ID: "TW-2", Symbol: "EURUSD", Side: tui.SideBuy}))
	r.wait("TW-2 canceled", func(s *orderState) bool { return s.status("TW-2", tui.StatusCanceled) })
	// A cancel of a canceled order: the gateway's OrderCancelReject.
	must(r.svc.Cancel(ctx, tui.CancelRequest{ClOrdID: "TW-5", OrigClOrdID: "TW-4", ID: "TW-2", Symbol: "EURUSD", Side: tui.SideBuy}))
	r.wait("cancel reject", func(s *orderState) bool { return len(s.rejects) == 1 })
	if rj := r.state.rejects[0]; rj.ID != "TW-2" || rj.ClOrdID != "TW-5" || rj.Replace || !strings.Contains(rj.Reason, "canceled") {
		t.Fatalf("cancel reject %+v", rj)
	}

	// The observer saw the ExecutionReports themselves, in order.
	waitObserved := func(n int) []*orderwire.OrderEvent {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			obsMu.Lock()
			got := append([]*orderwire.OrderEvent(nil), observed...)
			obsMu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("observer saw %d order events, want %d", len(got), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var kinds []string
	for _, e := range waitObserved(8) {
		switch {
		case e.Report != nil:
			kinds = append(kinds, e.Report.ClOrdID+":"+string(e.Report.ExecType))
			if e.Report.Session != "TRADER:ACC" || e.Account != "ACC" {
				t.Fatalf("report %+v of account %q", e.Report, e.Account)
			}
		default:
			kinds = append(kinds, e.Reject.ClOrdID+":9")
		}
	}
	if want := "TW-1:0 TW-1:F TW-2:0 TW-3:E TW-3:5 TW-4:6 TW-4:4 TW-5:9"; strings.Join(kinds, " ") != want {
		t.Fatalf("order events %s, want %s", strings.Join(kinds, " "), want)
	}

	// A duplicate ClOrdID (say, a restarted dashboard reusing its prefix):
	// refused by the gateway; the service sees TW-1 is an order it knows and
	// raises an alert instead of marking it rejected.
	before, err := r.gw.Snapshot(ctx)
	must(err)
	r.publish(`{"Action":"new","ClOrdID":"TW-1","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"5"}`)
	r.wait("duplicate refused", func(s *orderState) bool { return s.alert("new TW-1: duplicate ClOrdID TW-1 in session TRADER:ACC") })
	if !r.state.status("TW-1", tui.StatusFilled) {
		t.Fatalf("the duplicate changed TW-1: %+v", r.state.rows["TW-1"])
	}

	// Bad payloads: refused with a reason, the connection and the book
	// unharmed. One that names a request comes back as an alert; one that
	// cannot be named goes on to the dashboard as a server error.
	r.publish(`{"Action":"new","ClOrdID":"B1","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"2","OrderQty":"5"}`)
	r.wait("B1 refused", func(s *orderState) bool { return s.alert("new B1: a limit order needs a Price") })
	r.publish(`{"Action":"new","ClOrdID":"B2","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"5","Qty":"5"}`)
	r.wait("B2 refused", func(s *orderState) bool { return s.alert(`new B2: bad request: json: unknown field "Qty"`) })
	r.publish(`this is not JSON`)
	ev := r.waitEvent("error for a payload that is not JSON", func(ev client.Event) bool { _, ok := ev.(client.ErrorEvent); return ok }).(client.ErrorEvent)
	if ev.Err.Code != protocol.CodeBadPublish || ev.Err.Topic != orderwire.RequestTopic || !strings.HasPrefix(ev.Err.Reason, "bad request: invalid character") {
		t.Fatalf("error %+v", ev.Err)
	}
	after, err := r.gw.Snapshot(ctx)
	must(err)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("refused requests changed the book")
	}

	// A request the server refuses that the service sent: a rejected row.
	r.orders.Attach(r.srv.Hub(), nil)
	must(r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "TW-6", Symbol: "EURUSD", Side: tui.SideSell, Type: tui.OrdTypeMarket, Qty: d("7"), TIF: tui.TIFDay}))
	r.wait("TW-6 refused", func(s *orderState) bool { return s.status("TW-6", tui.StatusRejected) })
	if o := r.state.rows["TW-6"]; !strings.Contains(o.Text, "refused: order entry unavailable") || o.Symbol != "EURUSD" || !o.Qty.Equal(d("7")) {
		t.Fatalf("TW-6 %+v", o)
	}
	r.orders.Attach(r.srv.Hub(), r.gw)

	// A desk order: no answer until the desk works it, through the request
	// path like everything else.
	r.svc.handl = orderwire.HandlInstManual
	must(r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "TW-7", Symbol: "EURUSD", Side: tui.SideSell, Type: tui.OrdTypeLimit, Qty: d("100"), Price: d("1.3"), TIF: tui.TIFDay}))
	r.svc.handl = 0
	var oid string
	for deadline := time.Now().Add(5 * time.Second); oid == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		desk, err := r.gw.Desk().Orders(ctx)
		must(err)
		for _, o := range desk {
			if o.ClOrdID == "TW-7" {
				oid = o.OrderID
			}
		}
	}
	if oid == "" {
		t.Fatal("the desk never saw TW-7")
	}
	r.publish(fmt.Sprintf(`{"Action":"desk-accept","OrderID":%q}`, oid))
	r.publish(fmt.Sprintf(`{"Action":"desk-fill","OrderID":%q,"LastQty":"30","LastPx":"1.3"}`, oid))
	r.wait("TW-7 part filled", func(s *orderState) bool { return s.status("TW-7", tui.StatusPartiallyFilled) && len(s.fills) == 2 })
	if o, f := r.state.rows["TW-7"], r.state.fills[1]; o.OrderID != oid || !o.LeavesQty.Equal(d("70")) || f.ID != "TW-7" || !f.Qty.Equal(d("30")) {
		t.Fatalf("TW-7 %+v fill %+v", o, f)
	}
	r.publish(fmt.Sprintf(`{"Action":"desk-fill","OrderID":%q,"LastQty":"71","LastPx":"1.3"}`, oid))
	r.wait("overfill refused", func(s *orderState) bool { return s.alert("desk-fill " + oid + ":") })

	// The blotter shows it all.
	view := r.model.View()
	for _, want := range []string{"TW-1", "Filled", "TW-2", "Canceled", "TW-6", "Rejected", "TW-7", "PartFill"} {
		if !strings.Contains(view, want) {
			t.Fatalf("dashboard does not show %q:\n%s", want, view)
		}
	}
}

// TestOrderServiceRefusesWhatItCannotSend: no link, a FIX session's order,
// a ClOrdID sent twice: refused at once, nothing sent.
func TestOrderServiceRefusesWhatItCannotSend(t *testing.T) {
	pub := &fakePublisher{}
	s := New(pub, []string{"ACC"}, slog.New(slog.DiscardHandler))
	req := tui.OrderRequest{ClOrdID: "X-1", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeMarket, Qty: d("1"), TIF: tui.TIFDay}
	pub.err = client.ErrNotConnected
	if err := s.Submit(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("Submit while down: %v", err)
	}
	pub.err = nil
	if err := s.Submit(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(context.Background(), req); err == nil || !strings.Contains(err.Error(), "sent already") {
		t.Fatalf("second Submit of X-1: %v", err)
	}
	// An order of a FIX session on the account.
	data := `{"epoch":"e","seq":1,"index":0,"kind":"ExecutionReport","account":"ACC","report":{"Session":"FIX.4.4:TW->CL","OrderID":"O1","ClOrdID":"F1","ExecID":"E1","ExecType":"0","OrdStatus":"0","OrdRejReason":-1,"ExecRestatementReason":-1,"Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","TimeInForce":"0","Price":null,"OrderQty":"5","CumQty":"0","LeavesQty":"5","AvgPx":"0","LastQty":"0","LastPx":"0","TransactTime":"2026-01-02T15:04:05Z"}}`
	if !s.consume(client.SequencedEvent{Topic: "orders.ACC", Seq: 1, Data: []byte(data)}) {
		t.Fatal("order event not consumed")
	}
	if err := s.Cancel(context.Background(), tui.CancelRequest{ClOrdID: "X-2", OrigClOrdID: "F1", ID: "F1"}); err == nil || !strings.Contains(err.Error(), "FIX session") {
		t.Fatalf("Cancel of a FIX order: %v", err)
	}
	if s.consume(client.SequencedEvent{Topic: "orders.OTHER", Seq: 1, Data: []byte(data)}) {
		t.Fatal("an unwatched topic was consumed")
	}
	// The same event again (a gateway republishing after a crash): ignored.
	s.consume(client.SequencedEvent{Topic: "orders.ACC", Seq: 2, Data: []byte(data)})
	if n := len(s.batch.Orders); n != 1 {
		t.Fatalf("batch holds %d orders", n)
	}
	if pub.n != 1 {
		t.Fatalf("%d messages published, want 1", pub.n)
	}
}

type fakePublisher struct {
	err  error
	n    int
	last string // the last request payload
}

func (p *fakePublisher) Publish(frames ...protocol.Frame) error {
	if p.err != nil {
		return p.err
	}
	p.n++
	if ev, ok := frames[0].(*protocol.Event); ok {
		p.last = string(ev.Data)
	}
	return nil
}

// TestOrderServiceDesk: desk requests become orderwire desk-* actions on
// the OrderID; what cannot be sent is refused at once; a refusal of one
// resends the order's row (the dashboard's in-flight mark ends) with an
// alert.
func TestOrderServiceDesk(t *testing.T) {
	pub := &fakePublisher{}
	s := New(pub, []string{"ACC"}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := s.Desk(ctx, tui.DeskRequest{Action: tui.DeskAccept, ID: "T-1"}); err == nil || !strings.Contains(err.Error(), "no OrderID") {
		t.Fatalf("Desk without OrderID: %v", err)
	}
	if err := s.Desk(ctx, tui.DeskRequest{Action: tui.DeskFill, ID: "T-1", OrderID: "O1", Qty: d("30"), Price: d("1.3")}); err != nil {
		t.Fatal(err)
	}
	if want := `{"Action":"desk-fill","OrderID":"O1","LastQty":"30","LastPx":"1.3"}`; pub.last != want {
		t.Fatalf("published %s, want %s", pub.last, want)
	}
	if err := s.Desk(ctx, tui.DeskRequest{Action: tui.DeskRejectCancel, ID: "T-1", OrderID: "O1", Text: "too late"}); err != nil {
		t.Fatal(err)
	}
	if want := `{"Action":"desk-reject-cancel","OrderID":"O1","Text":"too late"}`; pub.last != want {
		t.Fatalf("published %s, want %s", pub.last, want)
	}
	pub.err = client.ErrNotConnected
	if err := s.Desk(ctx, tui.DeskRequest{Action: tui.DeskAccept, ID: "T-1", OrderID: "O1"}); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("Desk while down: %v", err)
	}
	// A care order entered here is marked care from its first report.
	pub.err = nil
	if err := s.Submit(ctx, tui.OrderRequest{ClOrdID: "T-1", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeMarket, Qty: d("5"), Care: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pub.last, `"HandlInst":"3"`) {
		t.Fatalf("care order published as %s", pub.last)
	}
	data := `{"epoch":"e","seq":1,"index":0,"kind":"ExecutionReport","account":"ACC","report":{"Session":"TRADER:ACC","OrderID":"O1","ClOrdID":"T-1","ExecID":"E1","ExecType":"A","OrdStatus":"A","OrdRejReason":-1,"ExecRestatementReason":-1,"Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","TimeInForce":"0","Price":null,"OrderQty":"5","CumQty":"0","LeavesQty":"5","AvgPx":"0","LastQty":"0","LastPx":"0","TransactTime":"2026-01-02T15:04:05Z"}}`
	s.consume(client.SequencedEvent{Topic: "orders.ACC", Seq: 1, Data: []byte(data)})
	if o := s.batch.Orders; len(o) != 1 || !o[0].Care || o[0].OrderID != "O1" || o[0].Status != tui.StatusPendingNew {
		t.Fatalf("batch %+v", o)
	}
	s.batch, s.batchIdx = tui.OrdersMsg{}, map[string]int{}
	s.consume(client.ErrorEvent{Err: &protocol.Error{Code: protocol.CodeBadPublish, Topic: orderwire.RequestTopic,
		Reason: "desk-fill O1: order: CumQty 0 + 6 > OrderQty 5"}})
	if o := s.batch.Orders; len(o) != 1 || o[0].ID != "T-1" || len(s.alerts) != 1 || !strings.Contains(s.alerts[0].Text, "desk-fill O1") {
		t.Fatalf("refused desk fill: batch %+v alerts %+v", o, s.alerts)
	}
}

// TestOrderServiceOutcomeUnknown: a refusal whose outcome is unknown (the
// gateway failed while committing the request) does not mark the order
// rejected: the request stays pending, the alert says it may have been
// applied, and a report that comes later finds its request.
func TestOrderServiceOutcomeUnknown(t *testing.T) {
	pub := &fakePublisher{}
	s := New(pub, []string{"ACC"}, slog.New(slog.DiscardHandler))
	if err := s.Submit(context.Background(), tui.OrderRequest{ClOrdID: "T-9", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeMarket, Qty: d("5")}); err != nil {
		t.Fatal(err)
	}
	s.consume(client.ErrorEvent{Err: &protocol.Error{Code: protocol.CodeBadPublish, Topic: orderwire.RequestTopic,
		Reason: "new T-9: outcome unknown: fix: journal append: disk on fire"}})
	if len(s.batch.Orders) != 0 || len(s.alerts) != 1 || !strings.Contains(s.alerts[0].Text, "may have been applied") {
		t.Fatalf("outcome unknown: batch %+v alerts %+v, want no row and an alert that it may have been applied", s.batch.Orders, s.alerts)
	}
	if _, ok := s.requests["T-9"]; !ok {
		t.Fatal("the request is no longer pending")
	}
}

// press drives the dashboard model with keys, as the program would: each
// key's command runs (the order service's calls publish for real) and what
// it returns goes back to the model. A key of more than one rune is typed
// rune by rune; enter, tab, right and ctrl+u are those keys.
func (r *orderRig) press(ks ...string) {
	r.t.Helper()
	for _, k := range ks {
		var msgs []tea.KeyMsg
		switch k {
		case "enter":
			msgs = []tea.KeyMsg{{Type: tea.KeyEnter}}
		case "tab":
			msgs = []tea.KeyMsg{{Type: tea.KeyTab}}
		case "right":
			msgs = []tea.KeyMsg{{Type: tea.KeyRight}}
		case "ctrl+u":
			msgs = []tea.KeyMsg{{Type: tea.KeyCtrlU}}
		default:
			for _, c := range k {
				msgs = append(msgs, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
			}
		}
		for _, msg := range msgs {
			_, cmd := r.model.Update(msg)
			for cmd != nil {
				out := cmd()
				cmd = nil
				if out != nil {
					_, cmd = r.model.Update(out)
				}
			}
		}
	}
}

// viewLine returns the first line of the dashboard containing s.
func (r *orderRig) viewLine(s string) string {
	for _, l := range strings.Split(r.model.View(), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestTraderDeskCareOrder: the dashboard, driven with keys against a real
// server and gateway, enters a care order (Route: Desk), and works it at
// the desk from the blotter: accept, a partial fill, a second press while
// that fill is in flight (sends nothing), the fill of the rest. Each state
// on screen comes from the gateway's own order events. The gateway
// acknowledges new orders with PendingNew (order.Config.AckPendingNew): that
// report is what names a care order's OrderID before the desk works it.
func TestTraderDeskCareOrder(t *testing.T) {
	r := newOrderRig(t, "DESK", func(c *fix.Config) { c.Book.AckPendingNew = true })
	r.model = tui.New(tui.Config{Symbols: []string{"EURUSD"}, Orders: r.svc, ClOrdIDPrefix: "DK"})
	r.model.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.1002)
	r.model.Update(tui.EventsMsg{client.StateEvent{State: client.Connected, URL: r.url},
		client.PriceEvent{Topic: "EURUSD", Quote: q, Received: time.Now()}})

	// Buy 100 EURUSD at the ask, routed to the desk.
	r.press("b", "100", "tab", "tab", "tab", "tab", "right")
	if l := r.viewLine("Route"); !strings.Contains(l, "Desk (care)") {
		t.Fatalf("route line %q:\n%s", l, r.model.View())
	}
	r.press("enter")
	r.wait("DK-1 awaiting the desk", func(s *orderState) bool {
		o := s.rows["DK-1"]
		return o.Status == tui.StatusPendingNew && o.OrderID != "" && o.Care
	})
	oid := r.state.rows["DK-1"].OrderID
	r.press("tab") // the blotter: DK-1 selected
	if l := r.viewLine("◆DK-1"); !strings.Contains(l, "◆") || !strings.Contains(l, "PendNew") {
		t.Fatalf("DK-1 row %q", l)
	}
	if v := r.model.View(); !strings.Contains(v, "a accept • n reject • e fill") {
		t.Fatalf("no desk hints for DK-1:\n%s", v)
	}
	r.press("D") // not offered before the ack
	if l := r.viewLine("done for day ends"); l == "" {
		t.Fatalf("D on a PendNew order not refused:\n%s", r.model.View())
	}

	r.press("a")
	r.wait("DK-1 accepted", func(s *orderState) bool { return s.status("DK-1", tui.StatusNew) })
	if l := r.viewLine("◆DK-1"); !strings.Contains(l, "New") || strings.Contains(l, "PendNew") {
		t.Fatalf("accepted DK-1 row %q", l)
	}

	// A partial fill; pressing again while it is in flight sends nothing.
	r.press("e", "ctrl+u", "30", "enter", "e")
	if l := r.viewLine("already in flight"); l == "" {
		t.Fatalf("second press not refused:\n%s", r.model.View())
	}
	r.wait("DK-1 part filled", func(s *orderState) bool {
		return s.status("DK-1", tui.StatusPartiallyFilled) && len(s.fills) == 1
	})
	if o, f := r.state.rows["DK-1"], r.state.fills[0]; !o.CumQty.Equal(d("30")) || !o.LeavesQty.Equal(d("70")) ||
		!f.Qty.Equal(d("30")) || !f.Price.Equal(d("1.1002")) || f.ID != "DK-1" {
		t.Fatalf("DK-1 %+v, fill %+v", o, f)
	}
	if l := r.viewLine("◆DK-1"); !strings.Contains(l, "PartFill") || !strings.Contains(l, "70") {
		t.Fatalf("part-filled DK-1 row %q", l)
	}

	// The rest: the form offers the leaves at the order's price.
	r.press("e", "enter")
	r.wait("DK-1 filled", func(s *orderState) bool { return s.status("DK-1", tui.StatusFilled) && len(s.fills) == 2 })
	if o := r.state.rows["DK-1"]; !o.CumQty.Equal(d("100")) || !o.LeavesQty.IsZero() || o.OrderID != oid {
		t.Fatalf("filled DK-1 %+v", o)
	}
	if l := r.viewLine("◆DK-1"); !strings.Contains(l, "Filled") {
		t.Fatalf("filled DK-1 row %q", l)
	}
	// Filled: nothing left for the desk.
	r.press("e")
	if l := r.viewLine("nothing left to fill"); l == "" {
		t.Fatalf("e on a filled order not refused:\n%s", r.model.View())
	}
	// Exactly two fills reached the book.
	snap, ok, err := r.gw.Order(context.Background(), oid)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if len(snap.Executions) != 2 {
		t.Fatalf("gateway holds %d executions, want 2", len(snap.Executions))
	}
}
