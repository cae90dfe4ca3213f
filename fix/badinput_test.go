package fix_test

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
)

// Bad input: each refused per FIX with a reason, nothing lost.
func TestBadInput(t *testing.T) {
	r := newRig(t)

	rawD := func(cl string, set func(b *quickfix.Body)) *quickfix.Message {
		m := fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.1", Qty: "10"})
		set(&m.Body)
		return m
	}
	sessionReject := func(t *testing.T, reason, refTag string) {
		t.Helper()
		m := r.next()
		if m.Type != "3" || m.Get(tag.SessionRejectReason) != reason || m.Get(tag.RefTagID) != refTag || m.Get(tag.Text) == "" {
			t.Fatalf("got %s, want a Reject (3) with SessionRejectReason %s, RefTagID %s and a Text", m, reason, refTag)
		}
	}

	t.Run("malformed quantity", func(t *testing.T) {
		r.send(rawD("M1", func(b *quickfix.Body) { b.SetString(tag.OrderQty, "ten") }))
		sessionReject(t, "6", "38") // incorrect data format
	})
	t.Run("malformed price", func(t *testing.T) {
		r.send(rawD("M2", func(b *quickfix.Body) { b.SetString(tag.Price, "1.1.1") }))
		sessionReject(t, "6", "44")
	})
	t.Run("side out of range", func(t *testing.T) {
		r.send(rawD("M3", func(b *quickfix.Body) { b.SetString(tag.Side, "Z") }))
		sessionReject(t, "5", "54") // value is incorrect
	})
	t.Run("required field missing", func(t *testing.T) {
		r.send(rawD("M4", func(b *quickfix.Body) { b.Remove(tag.OrdType) }))
		sessionReject(t, "1", "40")
	})
	t.Run("unknown symbol", func(t *testing.T) {
		r.send(rawD("M5", func(b *quickfix.Body) { b.SetString(tag.Symbol, "XAUJPY") }))
		m := r.expect(want{execType: "8", ordStatus: "8", clOrdID: "M5", ordRejReason: "1", leavesQty: "0"})
		if !strings.Contains(m.Get(tag.Text), "XAUJPY") {
			t.Errorf("Text %q does not name the symbol", m.Get(tag.Text))
		}
	})
	t.Run("zero quantity", func(t *testing.T) {
		r.send(rawD("M6", func(b *quickfix.Body) { b.SetString(tag.OrderQty, "0") }))
		r.expect(want{execType: "8", ordStatus: "8", clOrdID: "M6", ordRejReason: "13"})
	})
	t.Run("negative quantity", func(t *testing.T) {
		r.send(rawD("M7", func(b *quickfix.Body) { b.SetString(tag.OrderQty, "-5") }))
		r.expect(want{execType: "8", ordStatus: "8", clOrdID: "M7", ordRejReason: "13"})
	})
	t.Run("limit order without price", func(t *testing.T) {
		r.send(rawD("M8", func(b *quickfix.Body) { b.Remove(tag.Price) }))
		r.expect(want{execType: "8", ordStatus: "8", clOrdID: "M8", ordRejReason: "99"})
	})
	t.Run("unsupported order type", func(t *testing.T) {
		r.send(rawD("M9", func(b *quickfix.Body) { b.SetString(tag.OrdType, "3") })) // stop
		r.expect(want{execType: "8", ordStatus: "8", clOrdID: "M9", ordRejReason: "11"})
	})
	t.Run("unsupported message type", func(t *testing.T) {
		m := quickfix.NewMessage()
		m.Header.SetString(tag.MsgType, "x") // SecurityListRequest
		m.Body.SetString(tag.SecurityReqID, "Q1")
		m.Body.SetInt(tag.SecurityListRequestType, 4)
		r.send(m)
		got := r.next()
		if got.Type != "j" || got.Get(tag.BusinessRejectReason) != "3" || got.Get(tag.RefMsgType) != "x" {
			t.Fatalf("got %s, want a BusinessMessageReject (j) reason 3 for x", got)
		}
	})
	t.Run("nothing lost: the rejected orders are known, a good order works", func(t *testing.T) {
		r.send(fixclient.OrderStatusRequest("M6", "EURUSD", '1'))
		r.expect(want{execType: "I", ordStatus: "8", clOrdID: "M6"})
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "OK1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}))
		r.expect(want{execType: "0", clOrdID: "OK1"})
		r.expect(want{execType: "F", ordStatus: "2", clOrdID: "OK1"})
		if on, n := r.cl.LoggedOn(); !on || n != 1 {
			t.Fatalf("session logged on %v after %d logons: bad input must not cost the session", on, n)
		}
	})

	t.Run("unknown CompIDs at logon", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", r.gw.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		logon := quickfix.NewMessage()
		logon.Header.SetString(tag.BeginString, "FIX.4.4")
		logon.Header.SetString(tag.MsgType, "A")
		logon.Header.SetString(tag.SenderCompID, "INTRUDER")
		logon.Header.SetString(tag.TargetCompID, r.gwID)
		logon.Header.SetInt(tag.MsgSeqNum, 1)
		logon.Header.SetField(tag.SendingTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
		logon.Body.SetInt(tag.EncryptMethod, 0)
		logon.Body.SetInt(tag.HeartBtInt, 30)
		if _, err := conn.Write(logon.Bytes()); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := bufio.NewReader(conn).ReadString('\n') // reads to EOF: the gateway closes
		if err == nil || !strings.Contains(reply, "\x0135=5\x01") || !strings.Contains(reply, "unknown session") ||
			!strings.Contains(reply, "\x0156=INTRUDER\x01") {
			t.Fatalf("got %q (%v), want a Logout naming the unknown session, then EOF", strings.ReplaceAll(reply, "\x01", "|"), err)
		}
	})

	t.Run("garbage on the socket", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", r.gw.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n8=FIX.4.4\x019=5\x0135=A\x0110=000\x01")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		if n, err := conn.Read(buf); err == nil {
			t.Fatalf("the gateway answered garbage with %q", buf[:n])
		}
		// The real session is untouched.
		r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "OK2", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}))
		r.expect(want{execType: "0", clOrdID: "OK2"})
		r.expect(want{execType: "F", clOrdID: "OK2"})
	})
}

// TestNewBadDataDictionary: a settings file naming a data dictionary that
// does not exist is an error from New that names the file, not a crash, and
// the journal New opened is closed again (the same data directory opens).
func TestNewBadDataDictionary(t *testing.T) {
	dir := t.TempDir()
	text := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\n" +
		"UseDataDictionary=Y\nDataDictionary=" + filepath.Join(dir, "missing.xml") + "\n" +
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=GW\nTargetCompID=CL\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"
	s, err := fix.ParseSettings(strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second New would time out on the journal's lock if the first left it open
		_, err = fix.New(fix.Config{Settings: s, DataDir: filepath.Join(dir, "gw"), Logger: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), "missing.xml") {
			t.Fatalf("New: %v, want an error naming missing.xml", err)
		}
	}
}
