package fix_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/protocol"
)

// testPrices is a Prices whose quotes the test sets.
type testPrices struct {
	mu sync.Mutex
	q  map[string]protocol.Quote
	v  map[string]uint64
}

func newTestPrices() *testPrices {
	return &testPrices{q: make(map[string]protocol.Quote), v: make(map[string]uint64)}
}

// set publishes a quote; sizes <= 0 are left out (unlimited).
func (p *testPrices) set(sym string, bid, ask, bidSize, askSize float64) {
	var q protocol.Quote
	q.Put(protocol.Bid, bid)
	q.Put(protocol.Ask, ask)
	if bidSize > 0 {
		q.Put(protocol.BidSize, bidSize)
	}
	if askSize > 0 {
		q.Put(protocol.AskSize, askSize)
	}
	p.put(sym, q)
}

// put publishes q as it is.
func (p *testPrices) put(sym string, q protocol.Quote) {
	p.mu.Lock()
	p.q[sym] = q
	p.v[sym]++
	p.mu.Unlock()
}

func (p *testPrices) Quote(sym string) (protocol.Quote, uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q, ok := p.q[sym]
	return q, p.v[sym], ok
}

var rigSeq atomic.Int64

// rig is a gateway and one client session on loopback, with unique CompIDs
// (quickfix's session registry is process-wide).
type rig struct {
	t        testing.TB
	dir      string
	gwID     string
	clID     string
	port     int
	prices   *testPrices
	gw       *fix.Gateway
	cl       *fixclient.Client
	cfg      fix.Config // template for (re)starts
	extraCfg string     // extra [DEFAULT] settings
	// sessionCfg are the [SESSION]'s identity settings (identity.go).
	// Default: any account, open logon.
	sessionCfg string
	noClient   bool
}

type rigOption func(*rig)

func withAuto(a fix.AutoConfig) rigOption { return func(r *rig) { r.cfg.Auto = a } }

// withoutClient starts no Go client: another counterparty (jspurefix)
// logs on as r.clID.
func withoutClient() rigOption { return func(r *rig) { r.noClient = true } }

func newRig(t testing.TB, opts ...rigOption) *rig {
	t.Helper()
	n := rigSeq.Add(1)
	name := regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "")
	if len(name) > 20 {
		name = name[len(name)-20:]
	}
	r := &rig{
		t:          t,
		dir:        t.TempDir(),
		gwID:       fmt.Sprintf("GW%d%s", n, name),
		clID:       fmt.Sprintf("CL%d%s", n, name),
		prices:     newTestPrices(),
		sessionCfg: "TickwireAccounts=*\nTickwireOpenLogon=Y\n",
	}
	r.prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
	r.prices.set("NZDUSD", 0.6000, 0.6002, 0, 0)
	r.cfg = fix.Config{Prices: r.prices, Logger: testLogger(t), MessageStore: testMessageStore()}
	for _, o := range opts {
		o(r)
	}
	r.startGateway()
	t.Cleanup(r.close)
	if !r.noClient {
		r.startClient()
	}
	return r
}

// testMessageStore is the message store the tests' gateways use:
// FIX_TEST_STORE=journal runs the whole suite on the journal store.
func testMessageStore() string { return os.Getenv("FIX_TEST_STORE") }

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("FIX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (r *rig) settingsText() string {
	return fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%d
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
%s
[SESSION]
BeginString=FIX.4.4
SenderCompID=%s
TargetCompID=%s
%s`, r.port, r.extraCfg, r.gwID, r.clID, r.sessionCfg)
}

func (r *rig) startGateway() {
	r.t.Helper()
	s, err := fix.ParseSettings(strings.NewReader(r.settingsText()), "")
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := r.cfg
	cfg.Settings = s
	cfg.DataDir = filepath.Join(r.dir, "gw")
	gw, err := fix.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.gw = gw
	if r.port == 0 {
		_, p, _ := strings.Cut(gw.Addr(), ":")
		fmt.Sscan(p, &r.port)
	}
}

func (r *rig) stopGateway() {
	r.t.Helper()
	if r.gw != nil {
		if err := r.gw.Stop(); err != nil {
			r.t.Errorf("gateway stop: %v", err)
		}
		r.gw = nil
	}
}

func (r *rig) startClient() {
	r.t.Helper()
	s, err := fixclient.Settings(fixclient.Options{
		Addrs:        []string{fmt.Sprintf("127.0.0.1:%d", r.port)},
		SenderCompID: r.clID,
		TargetCompID: r.gwID,
		StoreDir:     filepath.Join(r.dir, "client"),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	cl, err := fixclient.New(s, testLogger(r.t))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cl.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cl = cl
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) close() {
	if r.cl != nil {
		r.cl.Stop()
	}
	if r.gw != nil {
		_ = r.gw.Stop()
	}
}

func (r *rig) send(m *quickfix.Message) {
	r.t.Helper()
	if err := r.cl.Send(m); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the next message from the gateway (fails after 5 s).
func (r *rig) next() fixclient.Msg {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.cl.Next(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	if m.Type == "sent-3" {
		r.t.Fatalf("the client rejected a gateway message: %s", m)
	}
	return m
}

// quiet checks that nothing arrives for d.
func (r *rig) quiet(d time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := r.cl.Next(ctx); err == nil {
		r.t.Fatalf("unexpected message: %s", m)
	}
}

// want is an expected message: each set field is compared.
type want struct {
	typ          string // default "8"
	execType     string
	ordStatus    string
	clOrdID      string
	origClOrdID  string
	orderQty     string
	cumQty       string
	leavesQty    string
	lastQty      string
	lastPx       string
	ordRejReason string
	cxlRejReason string
	responseTo   string
	orderID      string
}

// expect reads the next message and checks it against w.
func (r *rig) expect(w want) fixclient.Msg {
	r.t.Helper()
	m := r.next()
	if w.typ == "" {
		w.typ = "8"
	}
	var bad []string
	check := func(name, got, want string) {
		if want != "" && got != want {
			bad = append(bad, fmt.Sprintf("%s=%q want %q", name, got, want))
		}
	}
	check("MsgType", m.Type, w.typ)
	check("ExecType", m.Get(tag.ExecType), w.execType)
	check("OrdStatus", m.Get(tag.OrdStatus), w.ordStatus)
	check("ClOrdID", m.Get(tag.ClOrdID), w.clOrdID)
	check("OrigClOrdID", m.Get(tag.OrigClOrdID), w.origClOrdID)
	checkDec := func(name string, t quickfix.Tag, want string) {
		if want != "" && !m.Dec(t).Equal(dec(want)) {
			bad = append(bad, fmt.Sprintf("%s=%q want %q", name, m.Get(t), want))
		}
	}
	checkDec("OrderQty", tag.OrderQty, w.orderQty)
	checkDec("CumQty", tag.CumQty, w.cumQty)
	checkDec("LeavesQty", tag.LeavesQty, w.leavesQty)
	checkDec("LastQty", tag.LastQty, w.lastQty)
	checkDec("LastPx", tag.LastPx, w.lastPx)
	check("OrdRejReason", m.Get(tag.OrdRejReason), w.ordRejReason)
	check("CxlRejReason", m.Get(tag.CxlRejReason), w.cxlRejReason)
	check("CxlRejResponseTo", m.Get(tag.CxlRejResponseTo), w.responseTo)
	check("OrderID", m.Get(tag.OrderID), w.orderID)
	if len(bad) > 0 {
		r.t.Fatalf("got %s\n  mismatch: %s", m, strings.Join(bad, "; "))
	}
	return m
}
