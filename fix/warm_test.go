package fix_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/recovery"
)

// The warm acceptor (fix.NewAcceptor, docs/HA.md "FIX failover time: a
// warm acceptor"): one per node for its life, its port open only while a
// started gateway is attached (the node is the Active).

// warmAcceptor builds and starts a warm acceptor on ports[i].
func (h *haRig) warmAcceptor(i int, name string) *fix.Acceptor {
	h.t.Helper()
	s, err := fix.ParseSettings(strings.NewReader(h.settings(h.ports[i])), "")
	must(h.t, err)
	acc, err := fix.NewAcceptor(fix.Config{Settings: s, DataDir: filepath.Join(h.dir, name), Logger: testLogger(h.t)})
	must(h.t, err)
	must(h.t, acc.Start())
	h.t.Cleanup(acc.Stop)
	return acc
}

// attach builds a gateway on acc and j and starts it (opens the port).
func (h *haRig) attach(acc *fix.Acceptor, j recovery.Journal) *fix.Gateway {
	h.t.Helper()
	gw, err := fix.New(fix.Config{Acceptor: acc, Journal: j, Prices: h.prices, Logger: testLogger(h.t)})
	must(h.t, err)
	must(h.t, gw.Start())
	h.t.Cleanup(func() { _ = gw.Stop() })
	return gw
}

// portClosed fails unless a connection to 127.0.0.1:port is refused (the
// port is not bound).
func portClosed(t *testing.T, port int, when string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err == nil {
		_ = c.Close()
		t.Fatalf("%s: a connection to the FIX port %d was accepted, want it refused", when, port)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("%s: dial: %v, want connection refused", when, err)
	}
}

// TestWarmAcceptorTerms: a node's warm acceptor across its terms as the
// Active, with another node (a gateway process on the same journal) Active
// in between:
//
//   - standby (no gateway attached): the FIX port is closed, a Logon cannot
//     even connect;
//   - Active (term 1): the counterparty logs on and trades;
//   - demoted (the gateway stopped): the session is dropped, the port closed
//     again, the acceptor's sessions logged out;
//   - the other node is Active: the counterparty fails over to it and
//     trades on (the journal's store stream moves past what this node's
//     acceptor saw);
//   - Active again (term 2, the other node killed): the counterparty fails
//     back; its Logon is answered with the sequence numbers continued from
//     the journal (the stores are read at attach, not cached from term 1),
//     a ResendRequest since its first report is answered with the same
//     messages (PossDup), every order's reports arrive once and its view of
//     every order is the book's.
func TestWarmAcceptorTerms(t *testing.T) {
	h := newHARig(t)
	dirB := filepath.Join(h.dir, "b")
	must(t, os.MkdirAll(dirB, 0o700))
	must(t, os.WriteFile(filepath.Join(dirB, "gateway.cfg"), []byte(h.settings(h.ports[1])), 0o600))
	jpath := filepath.Join(dirB, "gw", "journal.db") // the child's journal: one history for both nodes

	acc := h.warmAcceptor(0, "a")
	portClosed(t, h.ports[0], "standby before the first term")
	if acc.Listening() {
		t.Fatal("a standby's acceptor listens")
	}

	// Term 1.
	j := openBolt(t, jpath)
	gw := h.attach(acc, j)
	cl := h.client(0)
	must(t, cl.WaitLogon(waitCtx(t, 10*time.Second), 1))
	led := newLedger(t)
	var cls []string
	trade := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			c := fmt.Sprintf("%s%d", prefix, i)
			cls = append(cls, c)
			must(t, cl.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: c, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "3"})))
		}
		led.collect(cl, 15*time.Second, func() bool { return led.done(cls[len(cls)-1]) })
	}
	trade("T1-", 3)
	first := led.byCl["T1-0"][0]

	// Demoted: the session dropped, the port closed.
	must(t, gw.Stop())
	must(t, cl.WaitLogout(waitCtx(t, 10*time.Second)))
	portClosed(t, h.ports[0], "demoted")
	for _, s := range acc.Sessions() {
		if s.LoggedOn {
			t.Fatalf("a demoted node's session is still logged on: %+v", s)
		}
	}
	must(t, j.Close())

	// The other node is the Active.
	other := startChild(t, dirB)
	must(t, cl.WaitLogon(waitCtx(t, 15*time.Second), 2))
	trade("B-", 3)
	other.kill()
	must(t, cl.WaitLogout(waitCtx(t, 10*time.Second)))
	lastSeq := led.byCl[cls[len(cls)-1]][1].SeqNum

	// Term 2 on the same acceptor. The counterparty comes back expecting
	// its first report again.
	cl.Stop()
	j = openBolt(t, jpath)
	gw = h.attach(acc, j)
	cl = h.client(first.SeqNum)
	must(t, cl.WaitLogon(waitCtx(t, 15*time.Second), 1))
	var sent []fixclient.Msg
	for _, c := range cls {
		sent = append(sent, led.byCl[c]...)
	}
	slices.SortFunc(sent, func(a, b fixclient.Msg) int { return a.SeqNum - b.SeqNum })
	for _, orig := range sent {
		m := nextReport(t, cl)
		if !m.PossDup || m.SeqNum != orig.SeqNum || m.Get(tag.ExecID) != orig.Get(tag.ExecID) {
			t.Fatalf("resent %s (PossDup %v), want a PossDup copy of %s", m, m.PossDup, orig)
		}
		led.add(m)
	}
	trade("T2-", 3)
	if m := led.byCl["T2-0"][0]; m.SeqNum <= lastSeq || m.PossDup {
		t.Fatalf("first report of term 2: seq %d PossDup %v, want a new message after %d", m.SeqNum, m.PossDup, lastSeq)
	}
	noLowSeqLogout(t, cl, led, 300*time.Millisecond)
	for _, c := range cls {
		led.checkOne(c)
	}
	checkView(t, led, gw, h.session, cls)
}

// nextReport returns the next ExecutionReport cl receives.
func nextReport(t *testing.T, cl *fixclient.Client) fixclient.Msg {
	t.Helper()
	for {
		m, err := cl.Next(waitCtx(t, 10*time.Second))
		must(t, err)
		if m.Type == "8" {
			return m
		}
	}
}

// TestWarmAcceptorAnswersAtOnce: a gateway attached to a warm acceptor
// answers a Logon as soon as it has started, round after round (quickfix
// starts a session's event loop only on the next whole second after the
// acceptor starts: a gateway built with its own acceptor at each takeover
// answers its first Logon 0-1 s after Start, uniformly; 7 of 9 rounds under
// 200 ms would then happen with a probability of about 3e-4).
func TestWarmAcceptorAnswersAtOnce(t *testing.T) {
	h := newHARig(t)
	acc := h.warmAcceptor(0, "a")
	j := openBolt(t, filepath.Join(h.dir, "journal.db"))
	addr := fmt.Sprintf("127.0.0.1:%d", h.ports[0])
	var took []time.Duration
	for range 9 {
		gw := h.attach(acc, j)
		start := time.Now()
		c := &rawClient{sender: h.clID, target: h.gwID}
		_, err := c.logon(addr, true)
		took = append(took, time.Since(start))
		must(t, err)
		_ = c.conn.Close()
		must(t, gw.Stop())
		portClosed(t, h.ports[0], "after the gateway stopped")
	}
	fast := 0
	for _, d := range took {
		if d < 200*time.Millisecond {
			fast++
		}
	}
	t.Logf("Logon answered after %v", took)
	if fast < 7 {
		t.Fatalf("Logon answered after %v: %d of 9 under 200 ms, want at least 7", took, fast)
	}
}
