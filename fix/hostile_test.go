package fix_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"tickwire/fix/fixclient"
)

// withSessions configures one more session per target CompID (the gateway
// is their SenderCompID), beside the rig's own.
func withSessions(targets ...string) rigOption {
	return func(r *rig) {
		for _, t := range targets {
			r.extraCfg += fmt.Sprintf("\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=%s\nTargetCompID=%s\nTickwireAccounts=*\nTickwireOpenLogon=Y\n", r.gwID, t)
		}
	}
}

// rawFIX frames body ('|' for SOH) as a FIX 4.4 message with a true
// BodyLength and CheckSum.
func rawFIX(body string) []byte {
	b := strings.ReplaceAll(body, "|", "\x01")
	m := fmt.Sprintf("8=FIX.4.4\x019=%d\x01%s", len(b), b)
	sum := 0
	for i := 0; i < len(m); i++ {
		sum += int(m[i])
	}
	return fmt.Appendf([]byte(m), "10=%03d\x01", sum%256)
}

// heapAfterGC is the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// header is what a hostile message needs of its session: the fields of a
// Heartbeat's header ('|' for SOH, MsgSeqNum 2) and a whole Logon.
type header struct{ head, logon string }

// TestHostileFraming sends, over real TCP, bytes that quickfix v0.9.11's
// reader or parser cannot take safely: inputs that panic it (on the
// session's goroutine after the first message, where nothing recovers:
// the process exits), declared lengths it trusts, messages that never end
// (it buffers them whole, without a bound). Each comes from its own
// counterparty, before or after a Logon, while the rig's client is logged
// on. Each must close that connection (and only it), leave the process
// alive and the other session trading, and cost a bounded amount of memory.
func TestHostileFraming(t *testing.T) {
	type hostile struct {
		name  string
		logon bool                  // log on first (the peer knows a session's CompIDs)
		msg   func(h header) string // sent first
		// then chunk, repeated up to stream bytes
		chunk  string
		stream int
	}
	// ParseMessage reads every XmlData (213) with the length of the first
	// XmlDataLen (212): a second pair reads past the message's end.
	xml := func(h header) string { return string(rawFIX(h.head + "212=40|213=x|212=1|213=y|")) }
	lit := func(s string) func(header) string { return func(header) string { return s } }
	body := func(s string) func(header) string { return func(h header) string { return string(rawFIX(h.head + s)) } }
	const stream = 32 << 20
	cases := []hostile{
		{name: "repeated XmlData first message", msg: xml},
		{name: "repeated XmlData after Logon", logon: true, msg: xml},
		// The Logon and the bad message in one write: the second message is
		// parsed on the session's goroutine even if the Logon is refused.
		{name: "repeated XmlData behind an unanswered Logon", msg: func(h header) string { return h.logon + xml(h) }},
		// quickfix's reader adds BodyLength to an offset: MaxInt64 wraps
		// to a negative slice index.
		{name: "BodyLength MaxInt64 first message", msg: lit("8=FIX.4.4\x019=9223372036854775807\x0135=0\x0110=000\x01")},
		{name: "BodyLength MaxInt64 after Logon", logon: true, msg: lit("8=FIX.4.4\x019=9223372036854775807\x0135=0\x0110=000\x01")},
		// Memory: quickfix buffers until the declared end (or a "10="), however far.
		{name: "BodyLength 999999999", msg: lit("8=FIX.4.4\x019=999999999\x0135=0\x01"), chunk: "58=" + strings.Repeat("x", 4090) + "\x01", stream: stream},
		{name: "BodyLength 999999999 after Logon", logon: true, msg: lit("8=FIX.4.4\x019=999999999\x0135=0\x01"), chunk: "58=" + strings.Repeat("x", 4090) + "\x01", stream: stream},
		{name: "no CheckSum, ever", logon: true, msg: lit("8=FIX.4.4\x019=20\x0135=0\x01"), chunk: "1=a\x01", stream: stream},
		{name: "BeginString without SOH", msg: lit("8=FIX"), chunk: strings.Repeat("FIX.4.4 ", 512), stream: stream},
		{name: "garbage, no 8=", msg: lit(""), chunk: strings.Repeat("GET / HTTP/1.1\r\n", 256), stream: stream / 4},
		{name: "SOH missing before CheckSum", logon: true, msg: func(h header) string { return strings.Replace(string(rawFIX(h.head)), "\x0110=", " 10=", 1) }},
		{name: "many fields", logon: true, msg: body(strings.Repeat("1=a|", 1<<19))},
		{name: "one long field", logon: true, msg: body("58=" + strings.Repeat("x", 4<<20) + "|")},
		{name: "tag number overflows int", logon: true, msg: body("18446744073709551627=x|")},
		// quickfix's atoi reads the first byte of an int value unchecked.
		{name: "empty int value after Logon", logon: true, msg: lit("8=FIX.4.4\x019=12\x0135=D\x019=\x0134=\x0110=000\x01")},
		{name: "empty BodyLength again after Logon", logon: true, msg: lit("8=FIX.4.4\x019=7\x0135=\x019=\x0110=000\x01")},
		// quickfix has no deadline before a session owns the connection.
		{name: "first message never ends", msg: lit("8=FIX.4.4\x019=70\x0135=A\x01")},
	}
	var targets []string
	for i := range cases {
		targets = append(targets, fmt.Sprintf("EV%d", i))
	}
	var logs syncBuffer
	r := newRig(t, withSessions(targets...), withLog(&logs), func(r *rig) { r.cfg.FirstMessageTimeout = time.Second })
	refusals := func() int { return strings.Count(logs.String(), "fix connection refused") }
	trades := 0
	trade := func(t *testing.T) {
		t.Helper()
		trades++
		cl := fmt.Sprintf("OK%d", trades)
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}))
		r.expect(want{execType: "0", clOrdID: cl})
		r.expect(want{execType: "F", clOrdID: cl})
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sender := targets[i]
			refused := refusals()
			base := heapAfterGC()
			var conn net.Conn
			if c.logon {
				rc, err := dialRaw(r.gw.Addr(), sender, r.gwID)
				if err != nil {
					t.Fatal(err)
				}
				conn = rc.conn
			} else {
				var err error
				if conn, err = net.DialTimeout("tcp", r.gw.Addr(), 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			defer conn.Close()
			const ts = "20260102-15:04:05.000"
			msg := c.msg(header{
				head:  fmt.Sprintf("35=0|49=%s|56=%s|34=2|52=%s|", sender, r.gwID, ts),
				logon: string(rawFIX(fmt.Sprintf("35=A|49=%s|56=%s|34=1|52=%s|98=0|108=30|141=Y|", sender, r.gwID, ts))),
			})
			_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			written := 0
			werr := func() error {
				n, err := io.WriteString(conn, msg)
				written += n
				for err == nil && written < len(msg)+c.stream {
					n, err = io.WriteString(conn, c.chunk)
					written += n
				}
				return err
			}()
			if werr != nil && errors.Is(werr, os.ErrDeadlineExceeded) {
				t.Fatalf("the gateway neither read nor closed: %v after %d bytes", werr, written)
			}
			// Measured while the connection is open: what the gateway holds
			// for it now, it would hold until the peer leaves.
			if grew := int64(heapAfterGC()) - int64(base); grew > 8<<20 {
				t.Errorf("heap grew by %d MiB for %d bytes sent", grew>>20, written)
			}
			// The gateway closes the connection: EOF (or a reset, when it
			// closed with our bytes unread), after at most its Logon answer.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection stays open (%d bytes written, read %q)", written, bytes.ReplaceAll(got, []byte{1}, []byte{'|'}))
			}
			waitFor(t, "the gateway's refusal in its log", func() bool { return refusals() > refused })
			// The process is alive (a panic would have ended it) and the
			// well-behaved session trades on.
			trade(t)
		})
	}
}
