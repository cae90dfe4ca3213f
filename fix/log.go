package fix

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
	filelog "github.com/quickfixgo/quickfix/log/file"
	"github.com/quickfixgo/tag"
)

// newLogFactory returns quickfix's file log when FileLogPath is set (the
// standard QuickFIX message logs), else a log that writes to logger: events
// at Info, messages at Debug.
func newLogFactory(settings *quickfix.Settings, logger *slog.Logger) (quickfix.LogFactory, error) {
	file := settings.GlobalSettings().HasSetting(config.FileLogPath)
	for _, ss := range settings.SessionSettings() {
		file = file || ss.HasSetting(config.FileLogPath)
	}
	if file {
		if err := privateDirs(settings, config.FileLogPath); err != nil {
			return nil, err
		}
		f, err := filelog.NewLogFactory(settings)
		if err != nil {
			return nil, err
		}
		return yieldingFactory{f}, nil
	}
	return yieldingFactory{slogFactory{logger}}, nil
}

// yieldingFactory wraps session logs so that the session goroutine yields
// after each message it hands to the connection's writer goroutine
// (OnOutgoing is called right after that hand-off).
//
// Why: quickfix hands application messages to the writer with
// non-blocking sends on an unbuffered channel, and retries in a loop when
// the writer is not parked in its receive. The writer that was just handed
// a message sits runnable on the session goroutine's own P (runnext), so
// without a yield the session goroutine spins on the next message until
// the scheduler preempts it or another P steals the writer: a batch of
// ExecutionReports burned a CPU and trickled out at ~1,000 msg/s on two
// cores. Yielding lets the writer run at once (a buffered append, see
// bufferedConn) and park again, so the next send succeeds.
type yieldingFactory struct{ inner quickfix.LogFactory }

func (f yieldingFactory) Create() (quickfix.Log, error) { return f.inner.Create() }

func (f yieldingFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	l, err := f.inner.CreateSessionLog(id)
	if err != nil {
		return nil, err
	}
	return yieldingLog{l}, nil
}

type yieldingLog struct{ quickfix.Log }

func (l yieldingLog) OnOutgoing(msg []byte) {
	l.Log.OnOutgoing(msg)
	runtime.Gosched()
}

type slogFactory struct{ l *slog.Logger }

func (f slogFactory) Create() (quickfix.Log, error) { return slogLog{f.l.With("fix", "global")}, nil }

func (f slogFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	return slogLog{f.l.With("fix_session", id.String())}, nil
}

type slogLog struct{ l *slog.Logger }

func (l slogLog) OnIncoming(msg []byte) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug("fix in", "msg", readable(msg))
	}
}

func (l slogLog) OnOutgoing(msg []byte) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug("fix out", "msg", readable(msg))
	}
}
func (l slogLog) OnEvent(s string) { l.l.Info("fix event", "event", s) }
func (l slogLog) OnEventf(format string, v ...any) {
	l.l.Info("fix event", "event", fmt.Sprintf(format, v...))
}

// readable shows a FIX message with | for SOH.
func readable(msg []byte) string { return strings.ReplaceAll(string(msg), "\x01", "|") }

// compIDValidator refuses connections whose Logon names no configured
// session. quickfix would close such a connection without a word; FIX asks
// for a Logout with the reason, so we write one (MsgSeqNum 1: no session
// exists) before quickfix closes the socket.
type compIDValidator struct {
	known map[quickfix.SessionID]bool
	log   *slog.Logger
}

// Validate implements quickfix.ConnectionValidator.
func (v compIDValidator) Validate(conn net.Conn, id quickfix.SessionID) error {
	if v.known[id] {
		return nil
	}
	reason := fmt.Sprintf("unknown session: SenderCompID=%s TargetCompID=%s BeginString=%s is not configured on this gateway",
		id.TargetCompID, id.SenderCompID, id.BeginString)
	v.log.Warn("fix logon refused", "remote", conn.RemoteAddr().String(), "reason", reason)
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write(logoutMessage(id, reason))
	return fmt.Errorf("fix: %s", reason)
}

// logoutMessage builds a Logout (35=5) from our side of id with Text.
func logoutMessage(id quickfix.SessionID, text string) []byte {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.BeginString, id.BeginString)
	m.Header.SetString(tag.MsgType, "5")
	m.Header.SetString(tag.SenderCompID, id.SenderCompID)
	m.Header.SetString(tag.TargetCompID, id.TargetCompID)
	m.Header.SetInt(tag.MsgSeqNum, 1)
	m.Header.SetField(tag.SendingTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Millis})
	m.Body.SetString(tag.Text, text)
	return m.Bytes()
}
