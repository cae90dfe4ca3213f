package fix_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/fixclient"
)

// TestRestartContinuesSequenceAndResends restarts the gateway on the same
// directory: the book is rebuilt from the journal, FIX sequence numbers
// continue, and a ResendRequest for messages sent before the restart gets
// the same messages (PossDup) from the durable store.
func TestRestartContinuesSequenceAndResends(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the gateway: slow; make test runs it")
	}
	r := newRig(t)
	var before []fixclient.Msg
	for _, cl := range []string{"R1", "R2"} {
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "3"}))
		before = append(before, r.expect(want{execType: "0", clOrdID: cl}), r.expect(want{execType: "F", clOrdID: cl}))
	}
	// A desk order left open across the restart.
	oid := r.deskOrder(t, "R3", "1", "10", "1.1")

	r.cl.Stop()
	r.stopGateway()
	r.startGateway()

	// The client comes back with its expected incoming sequence number set
	// back to the first report, so it asks for a resend on logon.
	s, err := fixclient.Settings(fixclient.Options{
		Addrs: []string{r.gw.Addr()}, SenderCompID: r.clID, TargetCompID: r.gwID,
		StoreDir: filepath.Join(r.dir, "client"),
	})
	must(t, err)
	cl, err := fixclient.New(s, testLogger(t))
	must(t, err)
	r.cl = cl
	must(t, quickfix.SetNextTargetMsgSeqNum(cl.SessionID(), before[0].SeqNum))
	must(t, cl.Start())
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, cl.WaitLogon(c, 1))

	for _, orig := range before {
		m := r.next()
		if !m.PossDup || m.SeqNum != orig.SeqNum || m.Get(tag.ExecID) != orig.Get(tag.ExecID) || m.Get(tag.ExecType) != orig.Get(tag.ExecType) {
			t.Fatalf("resent %s (PossDup %v), want a PossDup copy of %s", m, m.PossDup, orig)
		}
	}

	// The book survived: the desk order is still open and works.
	must(t, r.gw.Desk().Fill(ctx(t), oid, dec("10"), dec("1.1")))
	m := r.expect(want{execType: "F", ordStatus: "2", clOrdID: "R3", cumQty: "10"})
	if m.PossDup || m.SeqNum <= before[len(before)-1].SeqNum {
		t.Fatalf("after restart got seq %d (PossDup %v), want a new message after seq %d", m.SeqNum, m.PossDup, before[len(before)-1].SeqNum)
	}
	// ClOrdIDs stay consumed across the restart.
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "R1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "3"}))
	r.expect(want{execType: "8", clOrdID: "R1", ordRejReason: "6", ordStatus: "2"})
	infos := r.gw.Sessions()
	if len(infos) != 1 || !infos[0].LoggedOn || infos[0].NextSenderSeq <= m.SeqNum {
		t.Fatalf("Sessions() = %+v", infos)
	}
}
