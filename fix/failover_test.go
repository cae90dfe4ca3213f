package fix_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/recovery"
)

// The failover tests: FIX sessions whose message stores are in the journal
// (MessageStore: journal) continue on another gateway that has the journal
// (docs/HA.md, "FIX sessions across failover"). The counterparty is
// fixclient over 127.0.0.1 with the second gateway as its alternate address
// (SocketConnectHost1/Port1).

// haRig is a pair of CompIDs, two ports and a directory for gateways
// sharing one journal history.
type haRig struct {
	t          *testing.T
	dir        string
	gwID, clID string
	ports      [2]int
	prices     *testPrices
	session    string
}

func newHARig(t *testing.T) *haRig {
	t.Helper()
	if testing.Short() {
		t.Skip("gateways stopped and started, a counterparty reconnecting: slow; make test runs it")
	}
	n := rigSeq.Add(1)
	h := &haRig{t: t, dir: t.TempDir(), gwID: fmt.Sprintf("GWH%d", n), clID: fmt.Sprintf("CLH%d", n), prices: newTestPrices()}
	h.session = "FIX.4.4:" + h.gwID + "->" + h.clID
	for i := range h.ports {
		p, err := freeTestPort()
		must(t, err)
		h.ports[i] = p
	}
	h.prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
	return h
}

func (h *haRig) settings(port int) string {
	return fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%d
TickwireMessageStore=journal
HeartBtInt=30
[SESSION]
BeginString=FIX.4.4
SenderCompID=%s
TargetCompID=%s
TickwireAccounts=*
TickwireOpenLogon=Y
`, port, h.gwID, h.clID)
}

// gateway starts a gateway on j listening on ports[i], with its own
// (empty) data directory: everything it continues comes from j.
func (h *haRig) gateway(j recovery.Journal, i int, name string) *fix.Gateway {
	h.t.Helper()
	s, err := fix.ParseSettings(strings.NewReader(h.settings(h.ports[i])), "")
	must(h.t, err)
	gw, err := fix.New(fix.Config{Settings: s, DataDir: filepath.Join(h.dir, name), Journal: j, Prices: h.prices, Logger: testLogger(h.t)})
	must(h.t, err)
	must(h.t, gw.Start())
	h.t.Cleanup(func() { _ = gw.Stop() })
	return gw
}

// client makes the counterparty, both gateways' addresses in order.
// nextTarget > 0 sets the MsgSeqNum it expects next (lower than the
// gateway's next: it asks for a resend on logon).
func (h *haRig) client(nextTarget int) *fixclient.Client {
	h.t.Helper()
	s, err := fixclient.Settings(fixclient.Options{
		Addrs:        []string{fmt.Sprintf("127.0.0.1:%d", h.ports[0]), fmt.Sprintf("127.0.0.1:%d", h.ports[1])},
		SenderCompID: h.clID, TargetCompID: h.gwID,
		StoreDir: filepath.Join(h.dir, "client"),
	})
	must(h.t, err)
	c, err := fixclient.New(s, testLogger(h.t))
	must(h.t, err)
	if nextTarget > 0 {
		must(h.t, quickfix.SetNextTargetMsgSeqNum(c.SessionID(), nextTarget))
	}
	must(h.t, c.Start())
	h.t.Cleanup(c.Stop)
	return c
}

func openBolt(t *testing.T, path string) *recovery.BoltJournal {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o700))
	j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
	must(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(to), 0o700))
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// checkView compares the counterparty's view of each order (its last
// ExecutionReport that is not a status report) with the gateway's book.
func checkView(t *testing.T, led *ledger, gw *fix.Gateway, session string, cls []string) {
	t.Helper()
	for _, cl := range cls {
		var last fixclient.Msg
		for _, m := range led.byCl[cl] {
			if m.Get(tag.ExecType) != "I" {
				last = m
			}
		}
		o, ok, err := gw.Lookup(ctx(t), session, cl)
		if err != nil || !ok {
			t.Fatalf("%s not in the gateway's book: %v %v", cl, ok, err)
		}
		if last.Get(tag.OrderID) != o.OrderID || last.Get(tag.OrdStatus) != string(rune(o.Status())) ||
			!last.Dec(tag.CumQty).Equal(o.CumQty) || !last.Dec(tag.LeavesQty).Equal(o.LeavesQty()) {
			t.Fatalf("%s: the counterparty's view %s differs from the book: OrderID %s OrdStatus %c CumQty %s LeavesQty %s",
				cl, last, o.OrderID, o.Status(), o.CumQty, o.LeavesQty())
		}
	}
}

// noLowSeqLogout fails on a Logout saying a sequence number went back.
func noLowSeqLogout(t *testing.T, c *fixclient.Client, led *ledger, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return
		}
		if m.Type == "5" && strings.Contains(strings.ToLower(m.Raw), "too low") {
			t.Fatalf("logout: %s", m)
		}
		led.add(m)
	}
}

// TestFailoverToAnotherGateway: gateway A takes orders and stops; gateway
// B, with an empty data directory, opens a copy of A's journal (what a raft
// follower holds) on another port; the counterparty reconnects to its
// alternate address, asks for a resend of everything since its first
// report, and gets the same reports (PossDup, same MsgSeqNum and ExecID),
// then trades on with sequence numbers continuing both ways. Every
// ExecutionReport arrives exactly once and the counterparty's view of each
// order is B's book.
func TestFailoverToAnotherGateway(t *testing.T) {
	h := newHARig(t)
	pathA := filepath.Join(h.dir, "a", "journal.db")
	jA := openBolt(t, pathA)
	gwA := h.gateway(jA, 0, "a-data")
	cl := h.client(0)
	must(t, cl.WaitLogon(waitCtx(t, 10*time.Second), 1))
	led := newLedger(t)

	var before []fixclient.Msg
	for _, c := range []string{"F1", "F2", "F3"} {
		must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: c, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"})))
		led.collect(cl, 10*time.Second, func() bool { return led.done(c) })
	}
	must(t, cl.Send(fixclient.NewOrderSingle(benchOrder("F4")))) // rests
	led.collect(cl, 10*time.Second, func() bool { return len(led.byCl["F4"]) == 1 })
	for _, c := range []string{"F1", "F2", "F3", "F4"} {
		before = append(before, led.byCl[c]...)
	}
	lastSeq := before[len(before)-1].SeqNum

	cl.Stop()
	must(t, gwA.Stop())
	must(t, jA.Close())
	pathB := filepath.Join(h.dir, "b", "journal.db")
	copyFile(t, pathA, pathB)
	gwB := h.gateway(openBolt(t, pathB), 1, "b-data")

	// The counterparty comes back expecting the first report again.
	cl = h.client(before[0].SeqNum)
	must(t, cl.WaitLogon(waitCtx(t, 15*time.Second), 1))
	for _, orig := range before {
		m, err := cl.Next(waitCtx(t, 10*time.Second))
		must(t, err)
		if !m.PossDup || m.SeqNum != orig.SeqNum || m.Get(tag.ExecID) != orig.Get(tag.ExecID) {
			t.Fatalf("resent %s (PossDup %v), want a PossDup copy of %s", m, m.PossDup, orig)
		}
		led.add(m)
	}
	must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "F5", Symbol: "EURUSD", Side: '2', OrdType: '1', Qty: "7"})))
	led.collect(cl, 10*time.Second, func() bool { return led.done("F5") })
	if m := led.byCl["F5"][0]; m.SeqNum <= lastSeq || m.PossDup {
		t.Fatalf("first report on B: seq %d PossDup %v, want a new message after %d", m.SeqNum, m.PossDup, lastSeq)
	}
	noLowSeqLogout(t, cl, led, 300*time.Millisecond)
	for _, c := range []string{"F1", "F2", "F3", "F5"} {
		led.checkOne(c)
	}
	checkView(t, led, gwB, h.session, []string{"F1", "F2", "F3", "F4", "F5"})
	infos := gwB.Sessions()
	if len(infos) != 1 || !infos[0].LoggedOn || infos[0].NextSenderSeq <= led.byCl["F5"][1].SeqNum {
		t.Fatalf("B's sessions: %+v", infos)
	}
}

// TestActiveStandbyActive: a gateway is stopped (Active -> Standby) and a
// new one started in the same process on the same open journal (Standby ->
// Active), twice; the counterparty, connected throughout with its own
// reconnects, loses nothing and receives nothing twice.
func TestActiveStandbyActive(t *testing.T) {
	h := newHARig(t)
	j := openBolt(t, filepath.Join(h.dir, "journal.db"))
	gw := h.gateway(j, 0, "data0")
	cl := h.client(0)
	must(t, cl.WaitLogon(waitCtx(t, 10*time.Second), 1))
	led := newLedger(t)
	var cls []string
	for round := range 3 {
		for i := range 3 {
			c := fmt.Sprintf("S%d-%d", round, i)
			cls = append(cls, c)
			must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: c, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "2"})))
		}
		led.collect(cl, 10*time.Second, func() bool { return led.done(cls[len(cls)-1]) })
		if round == 2 {
			break
		}
		must(t, gw.Stop())
		must(t, cl.WaitLogout(waitCtx(t, 10*time.Second)))
		// The next Active: the other port, a new data directory.
		gw = h.gateway(j, (round+1)%2, fmt.Sprintf("data%d", round+1))
		must(t, cl.WaitLogon(waitCtx(t, 15*time.Second), round+2))
	}
	noLowSeqLogout(t, cl, led, 300*time.Millisecond)
	for _, c := range cls {
		led.checkOne(c)
	}
	checkView(t, led, gw, h.session, cls)
}

// TestFailoverAfterKill: the gateway process (journal store) is killed
// with SIGKILL during order flow; a second gateway process on a copy of its
// journal, another port and an empty FileStorePath takes over; the
// counterparty fails over to it (alternate address) and every order has
// exactly one New and one Fill.
func TestFailoverAfterKill(t *testing.T) {
	h := newHARig(t)
	dirs := [2]string{filepath.Join(h.dir, "a"), filepath.Join(h.dir, "b")}
	for i, d := range dirs {
		must(t, os.MkdirAll(d, 0o700))
		must(t, os.WriteFile(filepath.Join(d, "gateway.cfg"), []byte(h.settings(h.ports[i])), 0o600))
	}
	gwA := startChild(t, dirs[0])
	cl := h.client(0)
	must(t, cl.WaitLogon(waitCtx(t, 10*time.Second), 1))
	led := newLedger(t)
	const n = 200
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			if err := cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: fmt.Sprintf("K%d", i), Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"})); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	led.collect(cl, 20*time.Second, func() bool { return len(led.byExec) >= n/2 })
	gwA.kill()
	<-sent
	copyFile(t, filepath.Join(dirs[0], "gw", "journal.db"), filepath.Join(dirs[1], "gw", "journal.db"))
	startChild(t, dirs[1])
	led.collect(cl, 30*time.Second, func() bool {
		for i := range n {
			if !led.done(fmt.Sprintf("K%d", i)) {
				return false
			}
		}
		return true
	})
	noLowSeqLogout(t, cl, led, 300*time.Millisecond)
	for i := range n {
		led.checkOne(fmt.Sprintf("K%d", i))
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "gw", "fixstore")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(dirs[1], "gw", "fixstore"))
		if len(entries) > 0 {
			t.Fatalf("gateway B wrote a FileStore: %v", entries)
		}
	}
}

// refusingJournal refuses Append and Trim on the streams fail selects once
// armed: the raft journal of a deposed leader (a test double of that
// failure mode).
type refusingJournal struct {
	recovery.Journal
	armed atomic.Bool
	fail  func(stream string) bool
}

var errNotLeader = errors.New("test journal: not the leader")

func (r *refusingJournal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	if r.armed.Load() && r.fail(stream) {
		return recovery.Position{}, errNotLeader
	}
	return r.Journal.Append(ctx, stream, recs...)
}

func (r *refusingJournal) Trim(ctx context.Context, stream string, through uint64) error {
	if r.armed.Load() && r.fail(stream) {
		return errNotLeader
	}
	return r.Journal.Trim(ctx, stream, through)
}

// TestFencingJournalRefuses: when the journal starts refusing appends (the
// whole journal, or only the message store's stream), gateway A sends
// nothing it has not journalled (no report of the order in flight reaches
// the counterparty), stops (Done, Err) and drops the session. Gateway B on
// the journal then gives the counterparty exactly what was journalled: the
// order's reports once, through resend or reconcile.
func TestFencingJournalRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(stream string) bool
	}{
		{"all streams", func(string) bool { return true }},
		{"store stream only", func(s string) bool { return strings.HasPrefix(s, "fix.store.") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHARig(t)
			base := openBolt(t, filepath.Join(h.dir, "journal.db"))
			rj := &refusingJournal{Journal: base, fail: tc.fail}
			gwA := h.gateway(rj, 0, "a-data")
			cl := h.client(0)
			must(t, cl.WaitLogon(waitCtx(t, 10*time.Second), 1))
			led := newLedger(t)
			must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "G1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"})))
			led.collect(cl, 10*time.Second, func() bool { return led.done("G1") })

			rj.armed.Store(true)
			must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "G2", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"})))
			select {
			case <-gwA.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("gateway A did not stop when the journal refused")
			}
			if err := gwA.Err(); !errors.Is(err, errNotLeader) {
				t.Fatalf("A's Err() = %v, want the journal's refusal", err)
			}
			must(t, cl.WaitLogout(waitCtx(t, 10*time.Second)))
			noLowSeqLogout(t, cl, led, 200*time.Millisecond)
			if ms := led.byCl["G2"]; len(ms) != 0 {
				t.Fatalf("A sent %s after the journal refused", ms[0])
			}

			// B on the journal, refusing no more.
			rj.armed.Store(false)
			must(t, gwA.Stop())
			gwB := h.gateway(base, 1, "b-data")
			must(t, cl.WaitLogon(waitCtx(t, 15*time.Second), 2))
			led.collect(cl, 10*time.Second, func() bool { return led.done("G2") })
			must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "G3", Symbol: "EURUSD", Side: '2', OrdType: '1', Qty: "5"})))
			led.collect(cl, 10*time.Second, func() bool { return led.done("G3") })
			noLowSeqLogout(t, cl, led, 300*time.Millisecond)
			for _, c := range []string{"G1", "G2", "G3"} {
				led.checkOne(c)
			}
			checkView(t, led, gwB, h.session, []string{"G1", "G2", "G3"})
		})
	}
}

// TestBadStoreSettings: a bad message store setting, or a store stream
// that is not one, is an error from New that names it; nothing is written
// to the journal.
func TestBadStoreSettings(t *testing.T) {
	base := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\n%s\n" +
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=GWB\nTargetCompID=CLB\nTickwireAccounts=*\nTickwireOpenLogon=Y\n%s\n"
	for _, tc := range []struct {
		name, global, session, want string
	}{
		{"unknown store", "TickwireMessageStore=sql", "", "sql"},
		{"store in a session", "", "TickwireMessageStore=journal", "TickwireMessageStore"},
		{"bad retention", "TickwireMessageStore=journal\nTickwireStoreMaxMessages=-3", "", "TickwireStoreMaxMessages"},
		{"retention not a number", "TickwireStoreMaxBytes=lots", "", "TickwireStoreMaxBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fix.ParseSettings(strings.NewReader(fmt.Sprintf(base, tc.global, tc.session)), "")
			must(t, err)
			j := recovery.NewMem()
			_, err = fix.New(fix.Config{Settings: s, DataDir: t.TempDir(), Journal: j, Logger: testLogger(t)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	t.Run("not a store stream", func(t *testing.T) {
		s, err := fix.ParseSettings(strings.NewReader(fmt.Sprintf(base, "TickwireMessageStore=journal", "")), "")
		must(t, err)
		j := recovery.NewMem()
		head, err := j.Append(context.Background(), "fix.store.GWB-CLB", recovery.Record{Data: []byte(`{"not":"a store"}`)})
		must(t, err)
		_, err = fix.New(fix.Config{Settings: s, DataDir: t.TempDir(), Journal: j, Logger: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), "fix.store.GWB-CLB") {
			t.Fatalf("New: %v, want an error naming the stream", err)
		}
		if h, _ := j.Head("fix.store.GWB-CLB"); h != head {
			t.Fatalf("the store stream moved from %v to %v", head, h)
		}
	})
}
