package fix

import (
	"bytes"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/order"
	"tickwire/orderwire"
)

// Bounds of FuzzRouter: what one inbound message may cost the router (it
// parses fields the counterparty sent, so a multiple of the message's
// size, plus a constant), and the journal record of an event it accepts
// (every field it reads is at most orderwire.MaxIDLen bytes).
const (
	routerAllocBase    = 128 << 10
	routerAllocPerByte = 32
	maxRoutedRecord    = 2 << 10
)

// allocated returns the bytes this process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzRouter feeds arbitrary FIX messages to the gateway's message handling:
// the router and its typed handlers, which turn D, F, G and H into order
// events. The input is a message's fields, "tag=value" separated by SOH
// (35 picks the type; 8, 9 and 10 are the session's and ignored); values
// may hold any byte, SOH aside. It builds the message field by field rather
// than through quickfix's wire parser, which the session runs before the
// router (and which panics on some inputs itself: "8=\x01"), and without
// the data dictionary, so more gets through here than on a session.
//
// The router never panics, allocates at most routerAllocBase +
// routerAllocPerByte per input byte, answers each message with an event
// or a reject (with printable Text), and every event it accepts is
// journalled byte-exact in at most maxRoutedRecord bytes.
func FuzzRouter(f *testing.F) {
	for _, seed := range []string{
		"35=D|11=C1|1=ACC|55=EURUSD|54=1|40=2|44=1.1|38=100|59=0|21=3",
		"35=F|11=C2|41=C1|55=EURUSD|54=1|97=Y",
		"35=G|11=C3|41=C1|55=EURUSD|54=2|40=1|38=5",
		"35=H|11=C1|37=O1|790=S1|55=EURUSD|54=1",
		"35=D|11=\xffA|55=EURUSD|54=1|40=1|38=1",
		"35=D|11=C4|55=EUR\x1b[2J|54=1|40=1|38=1e2000000",
		"35=D|11=" + strings.Repeat("C", 300) + "|55=EURUSD|54=1|40=1|38=1",
		"35=x|320=Q1|559=4",
	} {
		seed = strings.ReplaceAll(seed, "|", "\x01")
		f.Add([]byte(seed))
	}
	sid := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL"}
	clock := func() time.Time { return time.Unix(1e9, 0).UTC() }
	acc := &Acceptor{cfg: Config{Clock: clock}, log: slog.New(slog.DiscardHandler),
		identities: map[quickfix.SessionID]*identity{sid: {open: true}}} // any account
	acc.gw = &Gateway{cfg: Config{Clock: clock}, acc: acc}
	var got order.Event
	a := newApplication(acc)
	a.submit = func(_ quickfix.SessionID, _ *quickfix.Message, ev order.Event) quickfix.MessageRejectError {
		got = ev
		return nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got = nil
		before := allocated()
		m := quickfix.NewMessage()
		m.Header.SetString(tag.BeginString, "FIX.4.4")
		m.Header.SetInt(tag.MsgSeqNum, 2)
		for field := range bytes.SplitSeq(data, []byte{1}) {
			k, v, _ := bytes.Cut(field, []byte{'='})
			n, err := strconv.Atoi(string(k))
			switch {
			case err != nil || n <= 0 || n == 8 || n == 9 || n == 10:
			case n == 35 || n == 43 || n == 97: // MsgType, PossDupFlag, PossResend
				m.Header.SetBytes(quickfix.Tag(n), v)
			default:
				m.Body.SetBytes(quickfix.Tag(n), v)
			}
		}
		if mt, _ := m.MsgType(); len(mt) == 1 && strings.Contains("012345Aj", mt) {
			return // session messages (FromAdmin's) and a peer's BusinessMessageReject: the router lets them be
		}
		rerr := a.FromApp(m, sid)
		var rec []byte
		if got != nil {
			var err error
			if rec, err = encodeEvent(got, &inbound{Session: sid.String(), Seq: 2}); err != nil {
				t.Fatalf("accepted an event it cannot journal: %v", err)
			}
		}
		if n, max := allocated()-before, uint64(routerAllocBase+routerAllocPerByte*len(data)); n > max {
			t.Fatalf("%d bytes allocated for a %d-byte message: max %d", n, len(data), max)
		}
		if (got == nil) == (rerr == nil) {
			t.Fatalf("event %v and reject %v: want exactly one", got, rerr)
		}
		if rerr != nil {
			if !orderwire.PrintableText(rerr.Error()) {
				t.Fatalf("reject Text %q is not printable", rerr.Error())
			}
			return
		}
		if len(rec) > maxRoutedRecord {
			t.Fatalf("journal record of %d bytes: max %d", len(rec), maxRoutedRecord)
		}
		// Byte-exact: the journal's copy decodes to the same event (JSON
		// would turn invalid UTF-8 into U+FFFD, two ClOrdIDs into one).
		body, err := order.MarshalEvent(got)
		if err != nil {
			t.Fatal(err)
		}
		back, err := order.UnmarshalEvent(body)
		if err != nil {
			t.Fatalf("journalled event does not decode: %v", err)
		}
		again, _ := order.MarshalEvent(back)
		if !bytes.Equal(body, again) || !sameStrings(got, back) {
			t.Fatalf("journal round trip %s -> %s", body, again)
		}
	})
}

// sameStrings compares the counterparty's strings of two events.
func sameStrings(a, b order.Event) bool {
	switch a := a.(type) {
	case order.NewOrderSingle:
		b, ok := b.(order.NewOrderSingle)
		return ok && a.ClOrdID == b.ClOrdID && a.Account == b.Account && a.Symbol == b.Symbol
	case order.OrderCancelRequest:
		b, ok := b.(order.OrderCancelRequest)
		return ok && a.ClOrdID == b.ClOrdID && a.OrigClOrdID == b.OrigClOrdID && a.Symbol == b.Symbol
	case order.OrderCancelReplaceRequest:
		b, ok := b.(order.OrderCancelReplaceRequest)
		return ok && a.ClOrdID == b.ClOrdID && a.OrigClOrdID == b.OrigClOrdID && a.Account == b.Account && a.Symbol == b.Symbol
	case order.OrderStatusRequest:
		b, ok := b.(order.OrderStatusRequest)
		return ok && a.ClOrdID == b.ClOrdID && a.OrderID == b.OrderID && a.OrdStatusReqID == b.OrdStatusReqID && a.Symbol == b.Symbol
	}
	return false
}
