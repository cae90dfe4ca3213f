package fix_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/fixclient"
)

// TestPeerNotReading: a counterparty logs on with a tiny receive buffer and
// never reads, while it makes the gateway send megabytes (Heartbeats
// answering TestRequests, then the ExecutionReports of its orders). With
// WriteTimeout 1 s the gateway closes that connection within seconds (it
// would otherwise hold it, and queue the session's messages in memory, for
// as long as the peer keeps the session alive), its heap stays bounded, the
// other session trades on meanwhile, and when the peer logs on again it gets
// every ExecutionReport it missed by resend, with sequence numbers intact.
func TestPeerNotReading(t *testing.T) {
	const slow = "SLOWREADER"
	var logs syncBuffer
	r := newRig(t, withSessions(slow), withLog(&logs), func(r *rig) { r.cfg.WriteTimeout = time.Second })
	cut := func() bool { return strings.Contains(logs.String(), "fix connection closed: peer not reading") }
	base := heapAfterGC()

	p, err := dialRaw(r.gw.Addr(), slow, r.gwID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.close() }()
	if err := p.conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// 6 MiB of Heartbeats fill the socket's buffers on both sides (the
	// gateway's send buffer is at most 4 MiB), and stay below the gateway's
	// 8 MiB of pending writes, so the gateway keeps reading.
	big := strings.Repeat("x", 60<<10)
	for i := range 100 {
		tr := quickfix.NewMessage()
		tr.Header.SetString(tag.MsgType, "1")
		tr.Body.SetString(tag.TestReqID, strconv.Itoa(i)+big)
		if err := p.send(tr); err != nil {
			t.Fatal(err)
		}
	}
	const orders = 200
	for i := range orders {
		o := fixclient.NewOrderSingle(fixclient.Order{ClOrdID: fmt.Sprintf("S%d", i), Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"})
		if err := p.send(o); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := p.flush(); err != nil {
		t.Fatalf("the gateway stopped reading: %v", err)
	}
	sent := time.Now()

	// The other session trades while the slow one is stuck.
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "OTHER", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}))
	r.expect(want{execType: "0", clOrdID: "OTHER"})
	r.expect(want{execType: "F", clOrdID: "OTHER"})

	// The gateway cuts the connection; the heap stays bounded meanwhile.
	var grew int64
	for !cut() {
		grew = max(grew, int64(heapAfterGC())-int64(base))
		if time.Since(sent) > 15*time.Second {
			t.Fatalf("the connection of a peer that does not read is still open after %v (heap +%d MiB)", time.Since(sent).Round(time.Second), grew>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if grew > 32<<20 {
		t.Errorf("heap grew by %d MiB while the peer did not read", grew>>20)
	}
	if l := logs.String(); !strings.Contains(l, "session=FIX.4.4:"+r.gwID+"->"+slow) || !strings.Contains(l, "remote="+p.conn.LocalAddr().String()) {
		t.Errorf("the log does not name the session and the remote address:\n%s", l)
	}
	p.close()

	// The session is logged out (so it takes a new Logon), and every order
	// was read and journalled: the gateway expects the next one.
	waitFor(t, "the slow session's orders journalled and its logout", func() bool {
		for _, s := range r.gw.Sessions() {
			if s.Target == slow {
				return !s.LoggedOn && s.NextTargetSeq == p.seq+1
			}
		}
		return false
	})

	// The peer logs on again where it left off and asks for what it missed
	// (it read only the first Logon answer, seq 1).
	ans, err := p.logon(r.gw.Addr(), false)
	if err != nil {
		t.Fatal(err)
	}
	logonSeq, _ := strconv.Atoi(ans[34])
	rr := quickfix.NewMessage()
	rr.Header.SetString(tag.MsgType, "2")
	rr.Body.SetInt(tag.BeginSeqNo, 2)
	rr.Body.SetInt(tag.EndSeqNo, 0)
	if err := p.send(rr); err != nil {
		t.Fatal(err)
	}
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	filled := make(map[string]bool)
	next := 2 // the next resent sequence number
	for len(filled) < orders || next < logonSeq {
		m, err := p.read()
		if err != nil {
			t.Fatalf("%d of %d fills, resent up to seq %d of %d: %v", len(filled), orders, next-1, logonSeq-1, err)
		}
		if m[43] != "Y" {
			if m[35] == "8" && m[150] == "F" {
				filled[m[11]] = true // sent live after the Logon
			}
			continue
		}
		if seq, _ := strconv.Atoi(m[34]); seq != next {
			t.Fatalf("resent seq %d, want %d: %v", seq, next, m)
		}
		switch {
		case m[35] == "4":
			next, _ = strconv.Atoi(m[36])
		case m[35] == "8" && m[150] == "F":
			filled[m[11]] = true
			next++
		default:
			next++
		}
	}
}
