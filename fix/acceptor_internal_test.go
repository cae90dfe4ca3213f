package fix

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/order"
)

// TestStandbyRefuses: defence in depth on a node that is not the Active
// (a warm acceptor with no gateway attached, whose port is closed anyway):
// an application message is refused (BusinessRejectReason 4) and never
// reaches an engine, and the sessions' standby stores refuse every write
// and every resend.
func TestStandbyRefuses(t *testing.T) {
	sid := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL"}
	acc := &Acceptor{cfg: Config{Clock: time.Now}, log: slog.New(slog.DiscardHandler),
		identities: map[quickfix.SessionID]*identity{sid: {open: true}}}
	a := newApplication(acc)
	submitted := false
	a.submit = func(quickfix.SessionID, *quickfix.Message, order.Event) quickfix.MessageRejectError {
		submitted = true
		return nil
	}
	m := quickfix.NewMessage()
	m.Header.SetString(tag.BeginString, "FIX.4.4")
	m.Header.SetString(tag.MsgType, "D")
	m.Header.SetInt(tag.MsgSeqNum, 2)
	m.Body.SetString(tag.ClOrdID, "C1")
	m.Body.SetString(tag.Symbol, "EURUSD")
	m.Body.SetString(tag.Side, "1")
	m.Body.SetString(tag.OrdType, "1")
	m.Body.SetString(tag.OrderQty, "1")
	m.Body.SetField(tag.TransactTime, quickfix.FIXUTCTimestamp{Time: time.Now()})
	rej := a.FromApp(m, sid)
	if rej == nil || !rej.IsBusinessReject() || rej.RejectReason() != 4 || submitted {
		t.Fatalf("FromApp on a standby: %v (submitted %v), want a BusinessMessageReject with reason 4 and nothing submitted", rej, submitted)
	}
	if rej := a.submitInbound(sid, m, order.NewOrderSingle{}); rej == nil {
		t.Fatal("submitInbound with no gateway attached took the event")
	}
	// Attached: the same message goes through.
	acc.gw = &Gateway{cfg: Config{Clock: time.Now}, acc: acc}
	if rej := a.FromApp(m, sid); rej != nil || !submitted {
		t.Fatalf("FromApp with a gateway attached: %v (submitted %v)", rej, submitted)
	}

	var st standbyStore
	for name, err := range map[string]error{
		"SaveMessageAndIncr": st.SaveMessageAndIncrNextSenderMsgSeqNum(1, []byte("x")),
		"SaveMessage":        st.SaveMessage(1, []byte("x")),
		"IncrSender":         st.IncrNextSenderMsgSeqNum(),
		"IncrTarget":         st.IncrNextTargetMsgSeqNum(),
		"SetSender":          st.SetNextSenderMsgSeqNum(5),
		"SetTarget":          st.SetNextTargetMsgSeqNum(5),
		"Reset":              st.Reset(),
		"Refresh":            st.Refresh(),
		"Iterate":            st.IterateMessages(1, 2, func([]byte) error { return nil }),
	} {
		if !errors.Is(err, errNotActive) {
			t.Errorf("standby store %s: %v, want errNotActive", name, err)
		}
	}
}
