package main

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
	"tickwire/orderwire"
	"tickwire/protocol"
	"tickwire/tui"
)

// orderRig is a feed server with the order request topic, the FIX gateway
// behind it (its order events on orders.ACCOUNT), and a trader: a
// client.Client on loopback with the dashboard's order service between it
// and the dashboard, whose OrdersMsg and AlertMsg a real tui.Model takes.
type orderRig struct {
	t     *testing.T
	srv   *feedserver.Server
	url   string
	reqs  *orderRequests
	gw    *fix.Gateway
	cl    *client.Client
	svc   *orderService
	sent  chan tea.Msg      // what the service sends the program
	other chan client.Event // what it passes on to the dashboard's feed
	model *tui.Model
	state orderState
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

func newOrderRig(t *testing.T, account string) *orderRig {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	r := &orderRig{t: t, reqs: newOrderRequests(log), sent: make(chan tea.Msg, 256), state: orderState{rows: map[string]tui.Order{}}}
	r.srv = feedserver.New(feedserver.Config{Name: "orders-test", Logger: log, Requests: r.reqs.handlers()})
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
`), "")
	if err != nil {
		t.Fatal(err)
	}
	r.gw, err = fix.New(fix.Config{Settings: settings, DataDir: filepath.Join(t.TempDir(), "fix"), Logger: log,
		Prices: fix.SnapshotPrices(r.srv.Hub().Snapshot), Events: hubOrderEvents{r.srv.Hub()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.gw.Start(); err != nil {
		t.Fatal(err)
	}
	r.reqs.setGateway(r.gw)

	r.cl = client.New(client.Options{URLs: []string{r.url}, Name: "trader-test", Topics: orderTopics([]string{account}), Logger: log})
	r.svc = newOrderService(r.cl, []string{account}, log)
	r.svc.interval = 10 * time.Millisecond
	r.svc.setSender(chanSender(r.sent))
	r.model = tui.New(tui.Config{Symbols: []string{"EURUSD"}, Orders: r.svc})
	r.model.Update(tea.WindowSizeMsg{Width: 140, Height: 45})
	r.other = make(chan client.Event, 1024)
	fed := make(chan client.Event, 1024)
	go func() { _ = r.cl.Run(ctx) }()
	go r.svc.run(ctx, r.cl.Events(), fed)
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
	r.reqs.setGateway(nil)
	must(r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "TW-6", Symbol: "EURUSD", Side: tui.SideSell, Type: tui.OrdTypeMarket, Qty: d("7"), TIF: tui.TIFDay}))
	r.wait("TW-6 refused", func(s *orderState) bool { return s.status("TW-6", tui.StatusRejected) })
	if o := r.state.rows["TW-6"]; !strings.Contains(o.Text, "refused: order entry unavailable") || o.Symbol != "EURUSD" || !o.Qty.Equal(d("7")) {
		t.Fatalf("TW-6 %+v", o)
	}
	r.reqs.setGateway(r.gw)

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
	s := newOrderService(pub, []string{"ACC"}, slog.New(slog.DiscardHandler))
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
	// The server's order topic naming and orderwire's agree.
	for _, a := range []string{"DEMO", "", "a b/c€"} {
		if orderTopic(a) != orderwire.AccountTopic(a) {
			t.Errorf("orderTopic(%q) = %q, orderwire says %q", a, orderTopic(a), orderwire.AccountTopic(a))
		}
	}
}

type fakePublisher struct {
	err error
	n   int
}

func (p *fakePublisher) Publish(...protocol.Frame) error {
	if p.err != nil {
		return p.err
	}
	p.n++
	return nil
}
