package fix_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/fix/order"
)

// The kill -9 tests run the gateway in a child process: this test binary
// re-executed with FIX_CHILD_DIR set (TestMain). The child prints
// "READY host:port" when it listens and, when FIX_CHILD_CRASH names an
// event kind, "CRASHPOINT" after journalling a batch holding such an event
// and before sending anything of it, then sleeps until it is killed.

func TestMain(m *testing.M) {
	if dir := os.Getenv("FIX_CHILD_DIR"); dir != "" {
		os.Exit(childGateway(dir))
	}
	os.Exit(m.Run())
}

func childGateway(dir string) int {
	s, err := fix.LoadSettings(filepath.Join(dir, "gateway.cfg"))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	prices := newTestPrices()
	prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
	cfg := fix.Config{Settings: s, DataDir: filepath.Join(dir, "gw"), Prices: prices, Logger: testLogger(nil), MessageStore: testMessageStore()}
	if ms, _ := strconv.Atoi(os.Getenv("FIX_CHILD_LATENCY_MS")); ms > 0 {
		cfg.Auto.Latency = time.Duration(ms) * time.Millisecond
	}
	if kind := os.Getenv("FIX_CHILD_CRASH"); kind != "" {
		cfg.Hooks.AfterCommit = func(evs []order.Event) {
			for _, ev := range evs {
				if ev.EventKind() == kind {
					fmt.Println("CRASHPOINT")
					select {} // wait for SIGKILL between journal and send
				}
			}
		}
	}
	gw, err := fix.New(cfg)
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := gw.Start(); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("READY", gw.Addr())
	<-ctx.Done()
	if err := gw.Stop(); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	return 0
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
}

// startChild starts a gateway process on dir and waits for READY.
func startChild(t *testing.T, dir string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FIX_CHILD_DIR=" + dir}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { c.kill() })
	c.waitLine(t, "READY")
	return c
}

func (c *child) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("gateway process exited before %s", prefix)
			}
			if strings.HasPrefix(l, "ERROR") {
				t.Fatalf("gateway process: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("gateway process: no %s", prefix)
		}
	}
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

// crashRig is a gateway directory and settings file for child processes,
// and a client in this process.
type crashRig struct {
	dir    string
	port   int
	gwID   string
	clID   string
	client *fixclient.Client
}

func newCrashRig(t *testing.T) *crashRig {
	t.Helper()
	if testing.Short() {
		t.Skip("gateway processes killed with SIGKILL: slow; make test runs it")
	}
	n := rigSeq.Add(1)
	cr := &crashRig{dir: t.TempDir(), gwID: fmt.Sprintf("GWK%d", n), clID: fmt.Sprintf("CLK%d", n)}
	port, err := freeTestPort()
	if err != nil {
		t.Fatal(err)
	}
	cr.port = port
	cfg := fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%d
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
[SESSION]
BeginString=FIX.4.4
SenderCompID=%s
TargetCompID=%s
TickwireAccounts=*
TickwireOpenLogon=Y
`, port, cr.gwID, cr.clID)
	if err := os.WriteFile(filepath.Join(cr.dir, "gateway.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cr
}

func (cr *crashRig) startClient(t *testing.T) {
	t.Helper()
	s, err := fixclient.Settings(fixclient.Options{
		Addrs:        []string{fmt.Sprintf("127.0.0.1:%d", cr.port)},
		SenderCompID: cr.clID, TargetCompID: cr.gwID,
		StoreDir: filepath.Join(cr.dir, "client"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr.client, err = fixclient.New(s, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cr.client.Stop)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cr.client.WaitLogon(c, 1); err != nil {
		t.Fatal(err)
	}
}

// ledger is what the counterparty received: every ExecutionReport by
// ExecID (each must arrive under one MsgSeqNum only), per ClOrdID.
type ledger struct {
	t      *testing.T
	seqs   map[int]string // MsgSeqNum -> ExecID
	byExec map[string]fixclient.Msg
	byCl   map[string][]fixclient.Msg
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, seqs: map[int]string{}, byExec: map[string]fixclient.Msg{}, byCl: map[string][]fixclient.Msg{}}
}

// add records m; a PossDup copy of a message already seen (same MsgSeqNum)
// is ignored, as a FIX engine would.
func (l *ledger) add(m fixclient.Msg) {
	l.t.Helper()
	if m.Type == "sent-3" {
		l.t.Fatalf("the client rejected a gateway message: %s", m)
	}
	if m.Type != "8" {
		return
	}
	ex := m.Get(tag.ExecID)
	if prev, ok := l.seqs[m.SeqNum]; ok {
		if prev != ex {
			l.t.Fatalf("MsgSeqNum %d carried ExecID %s and %s", m.SeqNum, prev, ex)
		}
		return
	}
	l.seqs[m.SeqNum] = ex
	if ex != "0" {
		if prev, ok := l.byExec[ex]; ok {
			l.t.Fatalf("ExecID %s received twice: seq %d and seq %d", ex, prev.SeqNum, m.SeqNum)
		}
		l.byExec[ex] = m
	}
	cl := m.Get(tag.ClOrdID)
	l.byCl[cl] = append(l.byCl[cl], m)
}

// collect reads messages until cond holds (or fails after d).
func (l *ledger) collect(c *fixclient.Client, d time.Duration, cond func() bool) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		m, err := c.Next(ctx)
		if err != nil {
			l.t.Fatalf("%v (have %d reports)", err, len(l.byExec))
		}
		l.add(m)
	}
}

// filled reports whether cl has exactly one New and one Fill (and no other
// report except status reports).
func (l *ledger) done(cl string) bool {
	var news, fills int
	for _, m := range l.byCl[cl] {
		switch m.Get(tag.ExecType) {
		case "0":
			news++
		case "F":
			fills++
		}
	}
	return news >= 1 && fills >= 1
}

func (l *ledger) checkOne(cl string) {
	l.t.Helper()
	var news, fills, other int
	orderIDs := map[string]bool{}
	for _, m := range l.byCl[cl] {
		orderIDs[m.Get(tag.OrderID)] = true
		switch m.Get(tag.ExecType) {
		case "0":
			news++
		case "F":
			fills++
		case "I":
		default:
			other++
		}
	}
	if news != 1 || fills != 1 || other != 0 || len(orderIDs) != 1 {
		var s []string
		for _, m := range l.byCl[cl] {
			s = append(s, m.String())
		}
		l.t.Fatalf("order %s: %d New, %d Fill, %d other, OrderIDs %v; want exactly one order, one New and one Fill:\n%s",
			cl, news, fills, other, orderIDs, strings.Join(s, "\n"))
	}
}

// TestKillBetweenJournalAndSend kills the gateway with SIGKILL after an
// order's events are durable in the journal but before any of their
// ExecutionReports is sent, restarts it on the same directory, and checks
// the counterparty ends with exactly one order and one report per event.
func TestKillBetweenJournalAndSend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crashOn string
		latency string
	}{
		// D, its ack and its fill in one batch (zero venue latency).
		{"D and reports in one batch", "NewOrderSingle", "0"},
		// D journalled alone; the crash comes after the venue's ack and
		// fill are journalled (venue latency 50ms).
		{"venue reports in a later batch", "AcceptNew", "50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := newCrashRig(t)
			gw := startChild(t, cr.dir, "FIX_CHILD_CRASH="+tc.crashOn, "FIX_CHILD_LATENCY_MS="+tc.latency)
			cr.startClient(t)
			led := newLedger(t)

			// A first order goes through normally, then the one that crashes.
			must(t, cr.client.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "K0", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"})))
			// K0 itself triggers the crash point: its batch is durable, nothing sent.
			gw.waitLine(t, "CRASHPOINT")
			gw.kill()
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			must(t, cr.client.WaitLogout(c))

			startChild(t, cr.dir, "FIX_CHILD_LATENCY_MS="+tc.latency)
			must(t, cr.client.WaitLogon(c, 2))
			led.collect(cr.client, 10*time.Second, func() bool { return led.done("K0") })

			// The buy side resends the order at application level.
			must(t, cr.client.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "K0", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5", PossResend: true})))
			led.collect(cr.client, 10*time.Second, func() bool { return len(led.byCl["K0"]) >= 3 })
			if last := led.byCl["K0"][2]; last.Get(tag.ExecType) != "I" || last.Get(tag.OrdStatus) != "2" {
				t.Fatalf("PossResend answered with %s, want a status report of the filled order", last)
			}
			// And a new order still works, with sequence numbers continuing.
			must(t, cr.client.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "K1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"})))
			led.collect(cr.client, 10*time.Second, func() bool { return led.done("K1") })
			quietFor(t, cr.client, led, 300*time.Millisecond)
			led.checkOne("K0")
			led.checkOne("K1")
		})
	}
}

// TestKillDuringOrderFlow kills the gateway (SIGKILL, no hook) while
// orders stream in, restarts it, and checks every order has exactly one
// New and one Fill: none lost (the unjournalled ones are resent by the
// counterparty when the gateway asks), none doubled.
func TestKillDuringOrderFlow(t *testing.T) {
	cr := newCrashRig(t)
	gw := startChild(t, cr.dir)
	cr.startClient(t)
	led := newLedger(t)
	const n = 200
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			if err := cr.client.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: fmt.Sprintf("S%d", i), Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"})); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// Kill the gateway once a quarter of the orders are answered: the
	// others are in flight, queued, journalled or not yet sent.
	led.collect(cr.client, 20*time.Second, func() bool { return len(led.byExec) >= n/2 })
	gw.kill()
	<-sent
	startChild(t, cr.dir)
	led.collect(cr.client, 30*time.Second, func() bool {
		for i := range n {
			if !led.done(fmt.Sprintf("S%d", i)) {
				return false
			}
		}
		return true
	})
	quietFor(t, cr.client, led, 300*time.Millisecond)
	for i := range n {
		led.checkOne(fmt.Sprintf("S%d", i))
	}
}

// quietFor drains messages for d, adding them to the ledger.
func quietFor(t *testing.T, c *fixclient.Client, led *ledger, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return
		}
		led.add(m)
	}
}

func freeTestPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	_, p, _ := strings.Cut(ln.Addr().String(), ":")
	return strconv.Atoi(p)
}
