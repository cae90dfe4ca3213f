// Package fixclient is a FIX 4.4 initiator for the tickwire gateway: the
// counterparty side. It sends orders (D), cancels (F), replaces (G) and
// status requests (H), receives ExecutionReports, OrderCancelRejects and
// rejects in order, and (flow.go) drives a configurable order flow that
// checks every response against the expected order state.
//
// It is what `tickwire fixclient` runs and what the gateway's tests use as
// their counterparty. It uses quickfix's durable FileStore, so sequence
// numbers continue across restarts of either side, and it supports
// alternate gateway addresses (SocketConnectHost1/Port1...) for failover.
//
// Concurrency: a Client's methods are safe for concurrent use; received
// messages come out of one channel in arrival order.
package fixclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/store/file"
	"github.com/quickfixgo/tag"
	"github.com/shopspring/decimal"

	"tickwire/fix/spec"
	"tickwire/internal/secfile"
	"tickwire/tlsconf"
)

// Options describe one initiator session.
type Options struct {
	// Addrs are the gateway's host:port, the first the primary, the others
	// alternates tried in turn on reconnect (SocketConnectHost1/Port1...).
	Addrs []string
	// SenderCompID is ours, TargetCompID the gateway's.
	SenderCompID, TargetCompID string
	// StoreDir holds the FileStore (sequence numbers, sent messages) and the
	// data dictionary copy. Required.
	StoreDir string
	// HeartBtInt in seconds. Default 30.
	HeartBtInt int
	// ReconnectInterval in seconds. Default 1.
	ReconnectInterval int
	// ReconnectDelay, when set, replaces ReconnectInterval with a finer
	// delay (a failover to an alternate host in 100 ms); LogonTimeout, when
	// set, bounds the wait for the gateway's Logon answer (default 10 s: a
	// frozen host that still accepts connections holds the session that
	// long before the next alternate).
	ReconnectDelay, LogonTimeout time.Duration
	// ResetOnLogon starts every logon at sequence number 1 (ResetSeqNumFlag).
	ResetOnLogon bool
	// FileStoreSync fsyncs the store on every message (slow). Default off.
	FileStoreSync bool
	// TLS connects over TLS (SocketUseSSL=Y), verifying the gateway's
	// certificate against CAFile, or the system roots when CAFile is "".
	// A CAFile implies TLS.
	TLS    bool
	CAFile string
	// CertFile and KeyFile are a client certificate, for a gateway that
	// requires one (mutual TLS). Optional.
	CertFile, KeyFile string
	// Username and Password go in the Logon (553, 554) when set, for a
	// session whose identity is a password (the session settings Username
	// and Password, as in QuickFIX/J).
	Username, Password string
}

// Settings builds QuickFIX initiator settings for o. Messages from the
// gateway are validated against the FIX 4.4 dictionary.
func Settings(o Options) (*quickfix.Settings, error) {
	if len(o.Addrs) == 0 || o.SenderCompID == "" || o.TargetCompID == "" || o.StoreDir == "" {
		return nil, errors.New("fixclient: Addrs, SenderCompID, TargetCompID and StoreDir are required")
	}
	if o.HeartBtInt <= 0 {
		o.HeartBtInt = 30
	}
	if o.ReconnectInterval <= 0 {
		o.ReconnectInterval = 1
	}
	// The store holds the session's messages: private, like the gateway's.
	if err := secfile.MkdirAll(o.StoreDir, secfile.PrivateDir); err != nil {
		return nil, fmt.Errorf("fixclient: store: %w", err)
	}
	dict, err := spec.WriteFIX44(o.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("fixclient: %w", err)
	}
	yn := func(b bool) string {
		if b {
			return "Y"
		}
		return "N"
	}
	var b strings.Builder
	reconnect := strconv.Itoa(o.ReconnectInterval)
	if o.ReconnectDelay > 0 {
		reconnect = o.ReconnectDelay.String() // quickfix reads a duration too
	}
	fmt.Fprintf(&b, "[DEFAULT]\nConnectionType=initiator\nBeginString=FIX.4.4\nHeartBtInt=%d\nReconnectInterval=%s\n", o.HeartBtInt, reconnect)
	if o.LogonTimeout > 0 {
		fmt.Fprintf(&b, "LogonTimeout=%s\n", o.LogonTimeout)
	}
	fmt.Fprintf(&b, "FileStorePath=%s\nFileStoreSync=%s\nDataDictionary=%s\nResetOnLogon=%s\n", o.StoreDir, yn(o.FileStoreSync), dict, yn(o.ResetOnLogon))
	if o.TLS || o.CAFile != "" || o.CertFile != "" {
		// quickfix's initiator verifies the gateway's name against the
		// host of the address it dials (an IP SAN for 127.0.0.1).
		b.WriteString("SocketUseSSL=Y\nSocketMinimumTLSVersion=TLS12\n")
		if o.CAFile != "" {
			if _, err := tlsconf.LoadPool(o.CAFile); err != nil {
				return nil, fmt.Errorf("fixclient: %w", err)
			}
			fmt.Fprintf(&b, "SocketCAFile=%s\n", o.CAFile)
		}
		if (o.CertFile == "") != (o.KeyFile == "") {
			return nil, errors.New("fixclient: CertFile and KeyFile go together")
		}
		if o.CertFile != "" {
			fmt.Fprintf(&b, "SocketCertificateFile=%s\nSocketPrivateKeyFile=%s\n", o.CertFile, o.KeyFile)
		}
	}
	fmt.Fprintf(&b, "[SESSION]\nSenderCompID=%s\nTargetCompID=%s\n", o.SenderCompID, o.TargetCompID)
	for k, v := range map[string]string{settingUsername: o.Username, settingPassword: o.Password} {
		if strings.ContainsAny(v, "\x00\x01\r\n") {
			return nil, fmt.Errorf("fixclient: %s has a control character", k)
		}
		if v != "" {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	for i, a := range o.Addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("fixclient: address %q: %w", a, err)
		}
		suffix := ""
		if i > 0 {
			suffix = strconv.Itoa(i)
		}
		fmt.Fprintf(&b, "SocketConnectHost%s=%s\nSocketConnectPort%s=%s\n", suffix, host, suffix, port)
	}
	return quickfix.ParseSettings(strings.NewReader(b.String()))
}

// The initiator session settings of the Logon credentials.
const (
	settingUsername = "Username"
	settingPassword = "Password"
)

// Msg is a message received from the gateway (ExecutionReport 8,
// OrderCancelReject 9, BusinessMessageReject j, Reject 3, Logout 5), or
// one our engine sent because the gateway's message was invalid
// (Type "sent-3": a session-level Reject we sent; the gateway broke FIX).
type Msg struct {
	Type    string
	SeqNum  int
	PossDup bool
	Fields  map[quickfix.Tag]string
	Raw     string
}

// Get returns a body field ("" when absent).
func (m Msg) Get(t quickfix.Tag) string { return m.Fields[t] }

// Has reports whether the body has t.
func (m Msg) Has(t quickfix.Tag) bool { _, ok := m.Fields[t]; return ok }

// Dec returns a decimal body field (zero when absent or malformed).
func (m Msg) Dec(t quickfix.Tag) decimal.Decimal {
	d, _ := decimal.NewFromString(m.Fields[t])
	return d
}

// String is a short description for logs and errors.
func (m Msg) String() string {
	switch m.Type {
	case "8":
		return fmt.Sprintf("8 seq=%d ExecType=%s OrdStatus=%s ClOrdID=%s OrigClOrdID=%s OrderID=%s ExecID=%s OrderQty=%s CumQty=%s LeavesQty=%s LastQty=%s LastPx=%s OrdRejReason=%s Text=%q",
			m.SeqNum, m.Get(tag.ExecType), m.Get(tag.OrdStatus), m.Get(tag.ClOrdID), m.Get(tag.OrigClOrdID), m.Get(tag.OrderID), m.Get(tag.ExecID),
			m.Get(tag.OrderQty), m.Get(tag.CumQty), m.Get(tag.LeavesQty), m.Get(tag.LastQty), m.Get(tag.LastPx), m.Get(tag.OrdRejReason), m.Get(tag.Text))
	case "9":
		return fmt.Sprintf("9 seq=%d ClOrdID=%s OrigClOrdID=%s OrderID=%s OrdStatus=%s CxlRejResponseTo=%s CxlRejReason=%s Text=%q",
			m.SeqNum, m.Get(tag.ClOrdID), m.Get(tag.OrigClOrdID), m.Get(tag.OrderID), m.Get(tag.OrdStatus), m.Get(tag.CxlRejResponseTo), m.Get(tag.CxlRejReason), m.Get(tag.Text))
	}
	return fmt.Sprintf("%s seq=%d %s", m.Type, m.SeqNum, strings.ReplaceAll(m.Raw, "\x01", "|"))
}

// Client is one initiator session to the gateway.
type Client struct {
	ini  *quickfix.Initiator
	sid  quickfix.SessionID
	log  *slog.Logger
	msgs chan Msg
	// username and password go in each Logon; "" for none.
	username, password string

	mu       sync.Mutex
	loggedOn bool          // guarded by mu
	logons   int           // guarded by mu
	changed  chan struct{} // closed and replaced on each logon/logout; guarded by mu
	started  bool          // guarded by mu
}

// New creates the session (opening its store). Start connects.
func New(s *quickfix.Settings, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{log: logger, msgs: make(chan Msg, 1<<16), changed: make(chan struct{})}
	for id, ss := range s.SessionSettings() {
		c.sid = id
		c.username, _ = ss.Setting(settingUsername)
		c.password, _ = ss.Setting(settingPassword)
	}
	ini, err := quickfix.NewInitiator(c, lockedStoreFactory{file.NewStoreFactory(s)}, s, logFactory{logger})
	if err != nil {
		return nil, fmt.Errorf("fixclient: %w", err)
	}
	c.ini = ini
	return c, nil
}

// Start connects (and reconnects, alternating over the addresses).
func (c *Client) Start() error {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	return c.ini.Start()
}

// Stop logs out and stops; the session leaves quickfix's registry.
func (c *Client) Stop() {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if started {
		c.ini.Stop()
	} else {
		_ = quickfix.UnregisterSession(c.sid)
	}
}

// SessionID is the client's session.
func (c *Client) SessionID() quickfix.SessionID { return c.sid }

// Messages is the channel of received messages, in arrival order.
func (c *Client) Messages() <-chan Msg { return c.msgs }

// LoggedOn reports whether the session is logged on, and how many logons
// it has had.
func (c *Client) LoggedOn() (bool, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedOn, c.logons
}

// WaitLogon waits until the session has logged on at least n times and is
// logged on.
func (c *Client) WaitLogon(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok := c.loggedOn && c.logons >= n
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fixclient: waiting for logon %d: %w", n, ctx.Err())
		}
	}
}

// WaitLogout waits until the session is not logged on.
func (c *Client) WaitLogout(ctx context.Context) error {
	for {
		c.mu.Lock()
		ok := !c.loggedOn
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fixclient: waiting for logout: %w", ctx.Err())
		}
	}
}

// Next returns the next received message.
func (c *Client) Next(ctx context.Context) (Msg, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case <-ctx.Done():
		return Msg{}, fmt.Errorf("fixclient: waiting for a message: %w", ctx.Err())
	}
}

// Send sends m on the session (quickfix stores it and sends it when logged
// on; messages sent while logged out reach the gateway through resend).
func (c *Client) Send(m *quickfix.Message) error { return quickfix.SendToTarget(m, c.sid) }

// Order is a NewOrderSingle, or the replacement order of a replace.
type Order struct {
	ClOrdID     string
	OrigClOrdID string // replace and cancel only
	Account     string
	Symbol      string
	Side        byte   // '1' buy, '2' sell
	OrdType     byte   // '1' market, '2' limit
	Price       string // "" for none
	Qty         string
	TimeInForce byte // 0 for none
	HandlInst   byte // 0 for none
	PossResend  bool
}

// NewOrderSingle builds a D.
func NewOrderSingle(o Order) *quickfix.Message {
	m := newMsg("D")
	b := &m.Body
	b.SetString(tag.ClOrdID, o.ClOrdID)
	setIf(b, tag.Account, o.Account)
	if o.HandlInst != 0 {
		b.SetBytes(tag.HandlInst, []byte{o.HandlInst})
	}
	b.SetString(tag.Symbol, o.Symbol)
	b.SetBytes(tag.Side, []byte{o.Side})
	b.SetField(tag.TransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Millis})
	setIf(b, tag.OrderQty, o.Qty)
	b.SetBytes(tag.OrdType, []byte{o.OrdType})
	setIf(b, tag.Price, o.Price)
	if o.TimeInForce != 0 {
		b.SetBytes(tag.TimeInForce, []byte{o.TimeInForce})
	}
	if o.PossResend {
		m.Header.SetBool(tag.PossResend, true)
	}
	return m
}

// OrderCancelRequest builds an F for o (ClOrdID the request's,
// OrigClOrdID the order's).
func OrderCancelRequest(o Order) *quickfix.Message {
	m := newMsg("F")
	b := &m.Body
	b.SetString(tag.OrigClOrdID, o.OrigClOrdID)
	b.SetString(tag.ClOrdID, o.ClOrdID)
	b.SetString(tag.Symbol, o.Symbol)
	b.SetBytes(tag.Side, []byte{o.Side})
	b.SetField(tag.TransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Millis})
	setIf(b, tag.OrderQty, o.Qty)
	if o.PossResend {
		m.Header.SetBool(tag.PossResend, true)
	}
	return m
}

// OrderCancelReplaceRequest builds a G: o is the whole replacement order.
func OrderCancelReplaceRequest(o Order) *quickfix.Message {
	m := newMsg("G")
	b := &m.Body
	b.SetString(tag.OrigClOrdID, o.OrigClOrdID)
	b.SetString(tag.ClOrdID, o.ClOrdID)
	setIf(b, tag.Account, o.Account)
	if o.HandlInst != 0 {
		b.SetBytes(tag.HandlInst, []byte{o.HandlInst})
	}
	b.SetString(tag.Symbol, o.Symbol)
	b.SetBytes(tag.Side, []byte{o.Side})
	b.SetField(tag.TransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Millis})
	setIf(b, tag.OrderQty, o.Qty)
	b.SetBytes(tag.OrdType, []byte{o.OrdType})
	setIf(b, tag.Price, o.Price)
	if o.TimeInForce != 0 {
		b.SetBytes(tag.TimeInForce, []byte{o.TimeInForce})
	}
	if o.PossResend {
		m.Header.SetBool(tag.PossResend, true)
	}
	return m
}

// OrderStatusRequest builds an H.
func OrderStatusRequest(clOrdID, symbol string, side byte) *quickfix.Message {
	m := newMsg("H")
	m.Body.SetString(tag.ClOrdID, clOrdID)
	m.Body.SetString(tag.Symbol, symbol)
	m.Body.SetBytes(tag.Side, []byte{side})
	return m
}

func newMsg(msgType string) *quickfix.Message {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, msgType)
	return m
}

func setIf(b *quickfix.Body, t quickfix.Tag, v string) {
	if v != "" {
		b.SetString(t, v)
	}
}

// quickfix.Application.

func (c *Client) OnCreate(quickfix.SessionID) {}

func (c *Client) OnLogon(quickfix.SessionID) { c.setLoggedOn(true) }

func (c *Client) OnLogout(quickfix.SessionID) { c.setLoggedOn(false) }

func (c *Client) setLoggedOn(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.logons++
	}
	c.loggedOn = on
	close(c.changed)
	c.changed = make(chan struct{})
}

// ToAdmin adds the credentials to a Logon, and records the session-level
// Rejects our engine sends: they mean a gateway message broke FIX (e.g. a
// required field missing).
func (c *Client) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	switch t, _ := m.MsgType(); t {
	case "A":
		if c.username != "" {
			m.Body.SetString(tag.Username, c.username)
		}
		if c.password != "" {
			m.Body.SetString(tag.Password, c.password)
		}
	case "3":
		c.deliver(m, "sent-3")
	}
}

func (c *Client) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

// FromAdmin records the gateway's Rejects (3) and Logouts (5).
func (c *Client) FromAdmin(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	if t, _ := m.MsgType(); t == "3" || t == "5" {
		c.deliver(m, t)
	}
	return nil
}

// FromApp records every application message.
func (c *Client) FromApp(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	t, _ := m.MsgType()
	c.deliver(m, t)
	return nil
}

func (c *Client) deliver(m *quickfix.Message, typ string) {
	msg := Msg{Type: typ, Fields: make(map[quickfix.Tag]string), Raw: m.String()}
	msg.SeqNum, _ = m.Header.GetInt(tag.MsgSeqNum)
	if m.Header.Has(tag.PossDupFlag) {
		msg.PossDup, _ = m.Header.GetBool(tag.PossDupFlag)
	}
	for _, t := range m.Body.Tags() {
		v, _ := m.Body.GetString(t)
		msg.Fields[t] = v
	}
	select {
	case c.msgs <- msg:
	default:
		c.log.Error("fixclient: message buffer full, dropping", "msg", msg.String())
	}
}

type logFactory struct{ l *slog.Logger }

func (f logFactory) Create() (quickfix.Log, error) { return qlog{f.l}, nil }
func (f logFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	return qlog{f.l.With("fix_session", id.String())}, nil
}

type qlog struct{ l *slog.Logger }

func (l qlog) OnIncoming(b []byte) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug("fix in", "msg", strings.ReplaceAll(string(b), "\x01", "|"))
	}
}

// OnOutgoing runs right after the session goroutine handed a message to
// the connection's writer; yielding lets the writer run and park again, so
// quickfix's next non-blocking hand-off succeeds instead of spinning (see
// tickwire/fix, yieldingFactory).
func (l qlog) OnOutgoing(b []byte) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug("fix out", "msg", strings.ReplaceAll(string(spec.RedactPassword(b)), "\x01", "|"))
	}
	runtime.Gosched()
}
func (l qlog) OnEvent(s string)            { l.l.Info("fix event", "event", s) }
func (l qlog) OnEventf(f string, v ...any) { l.l.Info("fix event", "event", fmt.Sprintf(f, v...)) }
