package fix_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"tickwire/fix/fixclient"
)

// The pre-Logon budget (fix/prelogon.go), over real TCP: the rig's gateway
// listens on 127.0.0.1, and idle connections come from other loopback
// addresses (Linux routes all of 127/8 to lo) so that the per-address cap
// tells them from the counterparty's.

// withPreLogon sets the budget, and the first message's timeout.
func withPreLogon(total, perAddr int, first time.Duration) rigOption {
	return func(r *rig) {
		r.cfg.MaxPreLogon, r.cfg.MaxPreLogonPerAddr, r.cfg.FirstMessageTimeout = total, perAddr, first
	}
}

// dialFrom opens a TCP connection from the loopback address src to r's
// gateway, and closes it when the test ends.
func dialFrom(t *testing.T, r *rig, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", r.gw.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reports whether the gateway closes c within d (a read ends
// otherwise than by its deadline).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 512))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// wantRefused checks that the gateway closed c at once (well within the
// first message's timeout): over the budget.
func wantRefused(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	if !closedWithin(c, within) {
		t.Fatalf("connection from %s over the pre-Logon budget still open after %v", c.LocalAddr(), within)
	}
}

// wantOpen checks that the gateway still holds c. Called after a later
// connection was refused: the gateway accepts in order, so c was admitted
// and nothing else would close it before the first message's timeout.
func wantOpen(t *testing.T, c net.Conn) {
	t.Helper()
	if closedWithin(c, 50*time.Millisecond) {
		t.Fatalf("connection from %s within the pre-Logon budget was closed", c.LocalAddr())
	}
}

// tradeRig logs r's counterparty on (from 127.0.0.1, retrying each second
// while the budget refuses it) and trades once.
func tradeRig(t *testing.T, r *rig, clOrdID string) {
	t.Helper()
	r.startClient()
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: clOrdID, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}))
	r.expect(want{execType: "0", clOrdID: clOrdID})
	r.expect(want{execType: "F", clOrdID: clOrdID})
}

// TestFIXPreLogonPerAddr: idle connections from one address past
// MaxPreLogonPerAddr are closed at once, with a log line; a counterparty
// from another address logs on and trades, and once logged on holds no
// slot of its address.
func TestFIXPreLogonPerAddr(t *testing.T) {
	var logs syncBuffer
	r := newRig(t, withoutClient(), withLog(&logs), withPreLogon(100, 3, time.Minute))
	var idle []net.Conn
	for range 3 {
		idle = append(idle, dialFrom(t, r, "127.0.0.2"))
	}
	wantRefused(t, dialFrom(t, r, "127.0.0.2"), 5*time.Second)
	for _, c := range idle {
		wantOpen(t, c)
	}
	waitFor(t, "the refusal in the log", func() bool {
		return strings.Contains(logs.String(), "per-address limit of 3 connections awaiting their Logon reached")
	})

	tradeRig(t, r, "P1")

	// The logged-on counterparty's address still has its 3 slots.
	idle = idle[:0]
	for range 3 {
		idle = append(idle, dialFrom(t, r, "127.0.0.1"))
	}
	wantRefused(t, dialFrom(t, r, "127.0.0.1"), 5*time.Second)
	for _, c := range idle {
		wantOpen(t, c)
	}
}

// TestFIXPreLogonTotal: past MaxPreLogon, whatever the address, a new
// connection is closed at once; closing an idle connection gives its slot
// back, and the counterparty logs on and trades.
func TestFIXPreLogonTotal(t *testing.T) {
	var logs syncBuffer
	r := newRig(t, withoutClient(), withLog(&logs), withPreLogon(3, 2, time.Minute))
	a1, a2, b := dialFrom(t, r, "127.0.0.2"), dialFrom(t, r, "127.0.0.2"), dialFrom(t, r, "127.0.0.3")
	wantRefused(t, dialFrom(t, r, "127.0.0.4"), 5*time.Second)
	wantRefused(t, dialFrom(t, r, "127.0.0.1"), 5*time.Second)
	for _, c := range []net.Conn{a1, a2, b} {
		wantOpen(t, c)
	}
	if !strings.Contains(logs.String(), "limit of 3 connections awaiting their Logon reached") {
		t.Fatalf("no refusal in the log:\n%s", logs.String())
	}

	_ = b.Close()
	tradeRig(t, r, "T1") // polls: the client reconnects each second
}

// TestFIXPreLogonTimeout: connections that never send their Logon give
// their slots back when the first message's timeout closes them.
func TestFIXPreLogonTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the first-message timeout: slow; make test runs it")
	}
	const first = 3 * time.Second
	r := newRig(t, withoutClient(), withPreLogon(2, 2, first))
	a1, a2 := dialFrom(t, r, "127.0.0.2"), dialFrom(t, r, "127.0.0.2")
	wantRefused(t, dialFrom(t, r, "127.0.0.3"), first/2)
	for _, c := range []net.Conn{a1, a2} {
		if !closedWithin(c, first+10*time.Second) {
			t.Fatalf("idle connection %s not closed after the first message's timeout", c.LocalAddr())
		}
	}
	tradeRig(t, r, "O1")
}

// TestFIXPreLogonTLS: a TLS handshake in flight holds its slot (a
// connection that never starts one too); a counterparty from another
// address logs on over TLS and trades.
func TestFIXPreLogonTLS(t *testing.T) {
	ss := devCert(t)
	r := newRig(t, withoutClient(), withPreLogon(100, 2, time.Minute), withExtra(fmt.Sprintf(
		"SocketCertificateFile=%s\nSocketPrivateKeyFile=%s\nSocketUseSSL=Y\n", ss.CertFile, ss.KeyFile)))
	a1, a2 := dialFrom(t, r, "127.0.0.2"), dialFrom(t, r, "127.0.0.2")
	wantRefused(t, dialFrom(t, r, "127.0.0.2"), 5*time.Second)
	wantOpen(t, a1)
	wantOpen(t, a2)

	cl := tlsClient(t, r, fixclient.Options{CAFile: ss.CertFile})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tradeOnce(t, cl)
}

// TestFIXPreLogonFlood: 500 connections from 50 addresses, each sending
// most of a 64 KiB message and then nothing (what the framing buffers,
// for up to the first message's timeout), cost the gateway at most the
// budget's worth of memory and goroutines.
func TestFIXPreLogonFlood(t *testing.T) {
	const total, perAddr, addrs, each = 32, 8, 50, 10
	r := newRig(t, withoutClient(), withPreLogon(total, perAddr, time.Minute))
	partial := "8=FIX.4.4\x019=65000\x0135=A\x0158=" + strings.Repeat("x", 60000)

	base, baseG := memInUse(), runtime.NumGoroutine()
	for i := range addrs * each {
		c := dialFrom(t, r, fmt.Sprintf("127.0.0.%d", 10+i%addrs))
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte(partial)) // a refused connection may fail: closed
	}
	// The admitted connections hold their bytes until the timeout: sample
	// what the gateway holds for a while after the flood.
	var grew int64
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		grew = max(grew, int64(memInUse())-int64(base))
	}
	// About 90 KiB (64 KiB of framing, quickfix's reader, two goroutines)
	// for each of the 32 admitted: 3 MiB; without the budget all 500 held
	// 40 MiB or more.
	if grew > 12<<20 {
		t.Errorf("heap and stacks grew by %d MiB under a flood of %d connections (budget %d)", grew>>20, addrs*each, total)
	}
	if g := runtime.NumGoroutine() - baseG; g > 2*total+16 {
		t.Errorf("%d more goroutines under a flood of %d connections (budget %d)", g, addrs*each, total)
	}
}

// memInUse is the live heap and the goroutine stacks after a GC.
func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}
