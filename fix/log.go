package fix

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
	filelog "github.com/quickfixgo/quickfix/log/file"
	"github.com/quickfixgo/tag"

	"tickwire/fix/spec"
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
		return yieldingFactory{redactingFactory{f}}, nil
	}
	return yieldingFactory{redactingFactory{slogFactory{logger}}}, nil
}

// redactingFactory wraps logs so that a Logon's Password(554) never reaches
// them: neither the message log nor events that quote a message (quickfix
// logs an unparsable or unexpected first message whole).
type redactingFactory struct{ inner quickfix.LogFactory }

func (f redactingFactory) Create() (quickfix.Log, error) {
	l, err := f.inner.Create()
	if err != nil {
		return nil, err
	}
	return redactingLog{l}, nil
}

func (f redactingFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	l, err := f.inner.CreateSessionLog(id)
	if err != nil {
		return nil, err
	}
	return redactingLog{l}, nil
}

type redactingLog struct{ quickfix.Log }

func (l redactingLog) OnIncoming(msg []byte) { l.Log.OnIncoming(spec.RedactPassword(msg)) }
func (l redactingLog) OnEvent(s string) {
	if strings.Contains(s, "554=") { // cheap filter; RedactPassword matches the field exactly
		s = string(spec.RedactPassword([]byte(s)))
	}
	l.Log.OnEvent(s)
}
func (l redactingLog) OnEventf(format string, v ...any) {
	l.OnEvent(fmt.Sprintf(format, v...))
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
