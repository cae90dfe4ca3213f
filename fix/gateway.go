package fix

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix/order"
	"tickwire/recovery"
)

// Config configures a Gateway. Each field's zero value means the default in
// its comment.
type Config struct {
	// Settings are the QuickFIX acceptor settings (LoadSettings). Required.
	// See prepareSettings for what the gateway checks and defaults.
	Settings *quickfix.Settings
	// DataDir holds the journal (DataDir/journal.db, unless Journal is
	// set), the default FileStorePath (DataDir/fixstore) and the copy of
	// the data dictionary. Required.
	DataDir string
	// Journal is where order events are journalled. Default: a bbolt
	// journal at DataDir/journal.db with SyncAlways (fsync before Append
	// returns), closed by Stop. The gateway's stream must never be trimmed:
	// the book is rebuilt by replaying it from the start.
	Journal recovery.Journal
	// Stream is the journal stream of the order events. Default "fix.orders".
	Stream string
	// MessageStore is where the FIX sessions' message stores (sequence
	// numbers, sent messages for resend) live: StoreFile, quickfix's
	// FileStore under FileStorePath; or StoreJournal, streams
	// "fix.store.<session>" of Journal, so that a gateway on any node
	// holding the journal continues the sessions (docs/HA.md). The
	// fix.store.* streams are trimmed by the store itself (StoreRetention):
	// a journal-wide retention must leave them alone. Default: the
	// [DEFAULT] setting TickwireMessageStore (file or journal), else
	// StoreFile.
	MessageStore string
	// StoreRetention bounds a journal message store's sent messages.
	// Default: the [DEFAULT] settings TickwireStoreMaxMessages and
	// TickwireStoreMaxBytes, else StoreRetention's defaults.
	StoreRetention StoreRetention
	// Book names OrderIDs and ExecIDs for a new journal; a replayed journal
	// keeps the configuration it was created with. Default: prefixes made
	// from the creation time (e.g. "20260102T150405-O1"), so a new journal
	// never repeats the IDs of a lost one.
	Book order.Config
	// Prices is the live price source of the auto venue and of the
	// unknown-symbol check. Default: none (every symbol is known, the auto
	// venue acknowledges but never fills).
	Prices Prices
	// Symbols, if set, is the list of tradable symbols; others are
	// rejected with OrdRejReason 1. Default: the symbols Prices knows.
	Symbols []string
	// Events receives the order flow for traders. Default: none.
	Events OrderEvents
	// Auto configures the auto venue.
	Auto AutoConfig
	// MaxBatch caps the events of one journal append. Default 512.
	MaxBatch int
	// MaxEventBytes caps the journal record of one order event: a larger
	// one is refused (ErrEventTooLarge) before it changes the book. Keep
	// it below the journal's own record limit (1 MiB for the default
	// journal), which would otherwise stop the engine. The router's field
	// bounds keep every FIX or trader event far below it. Default 64 KiB.
	MaxEventBytes int
	// MaxMessageBytes caps one inbound FIX message, from 8= to 10=. A
	// message declaring more (BodyLength), and any bytes quickfix could not
	// parse safely (framing.go), close the connection before they are
	// buffered: a connection holds at most this much of a message.
	// Default 64 KiB.
	MaxMessageBytes int
	// FirstMessageTimeout bounds how long a new connection may take to
	// send its first message (the Logon) whole; then it is closed. (Later,
	// the session's heartbeat timeout applies.) Default 10 s.
	FirstMessageTimeout time.Duration
	// TLS is the acceptor's TLS configuration when the settings ask for TLS
	// (SocketUseSSL=Y) without naming certificate files: the feed server's
	// certificate, say. Settings with certificate files use those; settings
	// without SocketUseSSL=Y or files are plain TCP, whatever TLS says.
	TLS *tls.Config
	// MaxLogonBytes bounds the bytes a connection may send before its Logon
	// is validated (its first message; identity.go). Default 16 KiB.
	MaxLogonBytes int
	// MaxPreLogon caps the connections awaiting their Logon's validation
	// (TLS handshake included; prelogon.go): a new connection past it is
	// closed at once. Each lasts at most FirstMessageTimeout (and the TLS
	// handshake's 10 s) and holds up to MaxMessageBytes. Default 256;
	// negative: unlimited.
	MaxPreLogon int
	// MaxPreLogonPerAddr caps those from one remote IP address, so one
	// address cannot take the whole MaxPreLogon. Default 8; negative:
	// unlimited.
	MaxPreLogonPerAddr int
	// WriteTimeout bounds how long a write to a connection may make no
	// progress (a peer that does not read): then the connection is closed
	// and the session disconnects; the peer gets what it missed by resend
	// when it logs on again (conn.go). Default 30 s.
	WriteTimeout time.Duration
	// Logger receives the gateway's and quickfix's logs. Default: discard.
	Logger *slog.Logger
	// Clock is the time source of TransactTime. Default time.Now.
	Clock func() time.Time
	// Acceptor, when not nil, is a warm acceptor (NewAcceptor, started)
	// that the gateway attaches to instead of building its own: a node of a
	// cluster keeps one for its life and builds a gateway per term as the
	// Active. Its settings, limits and store configuration are the
	// acceptor's; Journal is required (the sessions' stores are read from
	// it at New); Settings and DataDir default to the acceptor's. Start
	// opens the acceptor's port, Stop closes it and drops the sessions
	// (without a Logout: on a node that lost leadership the journal could
	// not hold one).
	Acceptor *Acceptor
	// Hooks are for tests.
	Hooks Hooks
}

// Hooks let tests stop the gateway at precise points.
type Hooks struct {
	// AfterCommit runs on the engine goroutine after a batch is durable in
	// the journal and before any of its messages is sent.
	AfterCommit func(events []order.Event)
}

// Gateway is the FIX 4.4 order gateway: a quickfix acceptor (its own, or a
// warm one it is attached to: Acceptor), the order book (owned by one
// engine goroutine), the journal, the auto venue and the desk.
type Gateway struct {
	cfg        Config
	log        *slog.Logger
	acc        *Acceptor
	ownJournal bool
	symbols    map[string]bool
	eng        *engine
	desk       *Desk

	failOnce sync.Once // fail

	mu      sync.Mutex
	started bool  // guarded by mu
	stopped bool  // guarded by mu
	failed  error // guarded by mu
}

// SessionInfo describes a configured FIX session.
type SessionInfo struct {
	ID       string // e.g. "FIX.4.4:TICKWIRE->CLIENT1"
	Sender   string // our CompID
	Target   string // the counterparty's CompID
	LoggedOn bool
	// NextSenderSeq and NextTargetSeq are the next outgoing and expected
	// incoming MsgSeqNum.
	NextSenderSeq int
	NextTargetSeq int
}

// fillDefaults gives the zero fields of cfg their defaults (Config's
// comments) and checks the auto venue's guard against the settings.
func (cfg *Config) fillDefaults() error {
	if cfg.Stream == "" {
		cfg.Stream = "fix.orders"
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 64 << 10
	}
	cfg.fillConnDefaults()
	var err error
	if cfg.Auto, err = guardSettings(cfg.Auto, cfg.Settings, cfg.Prices); err != nil {
		return err
	}
	// Each prefix defaults on its own: a configured OrderIDPrefix must not
	// leave ExecIDs to the book's constant default, which every new journal
	// would repeat.
	stamp := cfg.Clock().UTC().Format("20060102T150405")
	if cfg.Book.OrderIDPrefix == "" {
		cfg.Book.OrderIDPrefix = stamp + "-O"
	}
	if cfg.Book.ExecIDPrefix == "" {
		cfg.Book.ExecIDPrefix = stamp + "-E"
	}
	return nil
}

// fillConnDefaults gives the acceptor's fields (connection limits, logger,
// clock) their defaults.
func (cfg *Config) fillConnDefaults() {
	if cfg.MaxLogonBytes <= 0 {
		cfg.MaxLogonBytes = defaultMaxLogonBytes
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 64 << 10
	}
	if cfg.FirstMessageTimeout <= 0 {
		cfg.FirstMessageTimeout = 10 * time.Second
	}
	if cfg.MaxPreLogon == 0 {
		cfg.MaxPreLogon = defaultMaxPreLogon
	}
	if cfg.MaxPreLogonPerAddr == 0 {
		cfg.MaxPreLogonPerAddr = defaultMaxPreLogonPerAddr
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
}

// New builds a gateway: it checks the settings, opens the journal, replays
// it into the book, creates the FIX sessions (opening their message
// stores) and finishes what a crash interrupted (reconcile). Nothing listens
// yet: call Start or Run. Past the defaults (fillDefaults) it is one
// function on purpose: the steps read in that order and share the
// half-built gateway and the deferred cleanup that closes what was opened
// when a later step fails.
func New(cfg Config) (g *Gateway, err error) {
	if cfg.Acceptor != nil {
		return newAttached(cfg)
	}
	if err := cfg.checkBase(); err != nil {
		return nil, err
	}
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	g = &Gateway{cfg: cfg, log: cfg.Logger}
	g.setSymbols()
	if g.acc, err = newAcceptor(cfg); err != nil {
		return nil, err
	}
	g.acc.gw = g
	g.cfg.MessageStore, g.cfg.StoreRetention = g.acc.cfg.MessageStore, g.acc.cfg.StoreRetention

	j := cfg.Journal
	if j == nil {
		bj, err := recovery.OpenBolt(filepath.Join(cfg.DataDir, "journal.db"), recovery.BoltOptions{})
		if err != nil {
			return nil, err
		}
		j, g.ownJournal = bj, true
	}
	g.cfg.Journal = j
	// A failed New closes the journal it opened. (Not through g: the named
	// result is nil by the time a deferred call runs after "return nil, err".)
	ownJournal := g.ownJournal
	defer func() {
		if err != nil && ownJournal {
			_ = j.Close()
		}
	}()
	rep, err := replay(context.Background(), j, cfg.Stream, cfg.Book)
	if err != nil {
		return nil, err
	}
	// The engine exists before the stores: a store's failure stops it.
	g.newEngine(rep)

	if g.cfg.MessageStore == StoreJournal {
		g.acc.stores = newJournalStoreFactory(&journalStoreFactory{j: j, ret: g.cfg.StoreRetention, clock: cfg.Clock, log: cfg.Logger, onFail: g.fail})
	} else if g.acc.stores, err = newStoreFactory(cfg.Settings); err != nil {
		return nil, err
	}
	if err = g.acc.create(func(address string) (net.Listener, error) { return net.Listen("tcp", address) }); err != nil {
		return nil, err
	}
	if err = g.reconcile(rep); err != nil {
		g.acc.unregister()
		g.acc.stores.closeAll()
		return nil, err
	}
	g.eng.venue.adopt(rep.book.Snapshot().Orders, cfg.Clock())
	g.log.Info("fix gateway ready", "addr", g.acc.addr, "sessions", len(g.acc.identities), "orders", rep.book.Len(), "events_replayed", rep.events)
	return g, nil
}

// newAttached builds a gateway on a warm acceptor (Config.Acceptor): it
// replays the journal into the book, reads the sessions' stores from the
// journal (attach) and finishes what a crash interrupted (reconcile). The
// acceptor's port stays closed until Start.
func newAttached(cfg Config) (*Gateway, error) {
	acc := cfg.Acceptor
	if cfg.Journal == nil {
		return nil, errors.New("fix: Config.Journal is required with a warm acceptor")
	}
	if cfg.Settings == nil {
		cfg.Settings = acc.cfg.Settings
	}
	if cfg.DataDir == "" {
		cfg.DataDir = acc.cfg.DataDir
	}
	// The acceptor's: its connections and stores are the ones in use.
	cfg.MaxMessageBytes, cfg.FirstMessageTimeout, cfg.MaxLogonBytes = acc.cfg.MaxMessageBytes, acc.cfg.FirstMessageTimeout, acc.cfg.MaxLogonBytes
	cfg.MaxPreLogon, cfg.MaxPreLogonPerAddr, cfg.WriteTimeout = acc.cfg.MaxPreLogon, acc.cfg.MaxPreLogonPerAddr, acc.cfg.WriteTimeout
	cfg.MessageStore, cfg.StoreRetention, cfg.TLS = acc.cfg.MessageStore, acc.cfg.StoreRetention, acc.cfg.TLS
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, acc: acc}
	g.setSymbols()
	rep, err := replay(context.Background(), cfg.Journal, cfg.Stream, cfg.Book)
	if err != nil {
		return nil, err
	}
	g.newEngine(rep)
	if err := acc.attach(g); err != nil {
		return nil, err
	}
	if err := g.reconcile(rep); err != nil {
		_ = acc.detach(g)
		return nil, err
	}
	g.eng.venue.adopt(rep.book.Snapshot().Orders, cfg.Clock())
	g.log.Info("fix gateway ready on the warm acceptor", "addr", acc.addr, "sessions", len(acc.identities), "orders", rep.book.Len(), "events_replayed", rep.events)
	return g, nil
}

// setSymbols builds the tradable-symbol set of Config.Symbols.
func (g *Gateway) setSymbols() {
	if len(g.cfg.Symbols) > 0 {
		g.symbols = make(map[string]bool, len(g.cfg.Symbols))
		for _, s := range g.cfg.Symbols {
			g.symbols[s] = true
		}
	}
}

// newEngine makes the engine on the replayed book (not running yet).
func (g *Gateway) newEngine(rep *replayed) {
	cfg := &g.cfg
	e := &engine{
		g:        g,
		book:     rep.book,
		j:        cfg.Journal,
		stream:   cfg.Stream,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		maxBatch: cfg.MaxBatch,
		hooks:    cfg.Hooks,
		cmds:     make(chan command, 4*cfg.MaxBatch),
		quit:     make(chan struct{}),
		quitOnce: new(sync.Once),
		done:     make(chan struct{}),
		lastIn:   rep.lastIn,
		holds:    make(map[holdKey][]int),
	}
	e.venue = newAutoVenue(e, cfg.Prices, cfg.Auto)
	g.eng = e
	g.desk = &Desk{g: g}
}

// reconcile sends what a crash kept the last batch from sending: for each
// session, the 8/9 messages in its store from the batch's mark on are the
// first ones the batch sent; the rest are sent now. They go into the store
// (and to the peer on its next logon, through the resend it will ask for).
// Order events of the last batch are republished (at least once).
func (g *Gateway) reconcile(rep *replayed) error {
	if len(rep.tail) == 0 {
		return nil
	}
	sent := make(map[string]int)
	for _, m := range rep.marks {
		sid, ok := g.acc.sessionByKey[m.Session]
		if !ok {
			continue
		}
		st := g.acc.stores.get(sid)
		if st.epoch() != m.Epoch {
			g.log.Warn("fix message store was reset since the last batch: its messages are sent again", "session", m.Session)
			continue
		}
		n, err := countOrderMessages(st, m.Next)
		if err != nil {
			return fmt.Errorf("fix: reconcile %s: %w", m.Session, err)
		}
		sent[m.Session] = n
	}
	var todo []emitted
	for _, em := range rep.tail {
		s := outputSession(em.out)
		if s == "" {
			continue
		}
		if sent[s] > 0 {
			sent[s]--
			continue
		}
		todo = append(todo, em)
	}
	if len(todo) > 0 {
		g.log.Warn("fix sending the messages a crash interrupted", "messages", len(todo))
	}
	if err := g.eng.send(todo, false); err != nil {
		return err
	}
	for i := range rep.tail {
		g.eng.publish(&rep.tail[i])
	}
	return nil
}

// countOrderMessages counts the 8 and 9 messages in st from seq from on.
func countOrderMessages(st *gatedStore, from int) (int, error) {
	last := st.NextSenderMsgSeqNum() - 1
	if last < from {
		return 0, nil
	}
	n := 0
	err := st.IterateMessages(from, last, func(msg []byte) error {
		if bytes.Contains(msg, []byte("\x0135=8\x01")) || bytes.Contains(msg, []byte("\x0135=9\x01")) {
			n++
		}
		return nil
	})
	return n, err
}

// Start starts the engine and the acceptor (a warm acceptor: opens its
// port).
func (g *Gateway) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started || g.stopped {
		return errors.New("fix: gateway already started")
	}
	if g.failed != nil {
		return fmt.Errorf("fix: gateway failed before it started: %w", g.failed)
	}
	g.started = true
	go g.eng.run()
	var err error
	if g.acc.warm {
		err = g.acc.gate.openAll()
	} else {
		err = g.acc.qa.Start()
	}
	if err != nil {
		g.eng.stop()
		<-g.eng.done
		// Nothing of the acceptor runs: Stop unregisters its sessions
		// itself (the acceptor's Stop would not get that far).
		g.started = false
		return fmt.Errorf("fix: listen %s: %w", g.acc.addr, err)
	}
	// A storage failure stops the engine; the sessions go with it.
	go func() {
		<-g.eng.done
		if err := g.eng.err; err != nil && !errors.Is(err, errStopped) {
			g.fail(err)
		}
	}()
	g.log.Info("fix gateway listening", "addr", g.acc.addr)
	return nil
}

// Stop stops the engine (after its current batch), then the sessions (with
// a Logout) and the listener, and closes the stores and the journal it
// opened. Messages that arrived but were not journalled are not
// acknowledged in the message store: peers resend them on their next logon.
//
// On a warm acceptor it closes the port and every connection first (no
// Logout: a node that lost leadership could not journal one), then stops
// the engine and detaches (the sessions' stores go back to standby); the
// acceptor and its sessions stay for the next gateway.
func (g *Gateway) Stop() error {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return nil
	}
	g.stopped = true
	started := g.started
	g.mu.Unlock()
	if g.acc.warm {
		g.acc.gate.closeAll()
		if started {
			g.eng.stop()
			<-g.eng.done
		}
		return g.acc.detach(g)
	}
	if started {
		g.eng.stop()
		<-g.eng.done
		g.acc.stopQA()
	} else {
		g.acc.unregister()
	}
	g.acc.stores.closeAll()
	if g.ownJournal {
		return g.cfg.Journal.Close()
	}
	return nil
}

// Listen builds a gateway (New) and starts it (Start); one that cannot
// start is stopped, which closes what New opened.
func Listen(cfg Config) (*Gateway, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := g.Start(); err != nil {
		_ = g.Stop()
		return nil, err
	}
	return g, nil
}

// fail stops the gateway on a storage failure (the order journal's or a
// journal message store's; for the raft journal, leadership lost): the
// message stores refuse every later write, so nothing more reaches a
// socket, the engine stops with err (Done, Err), and the FIX sessions are
// dropped (a Logout cannot be journalled: the connections close), so that
// counterparties reconnect to the next Active. On a warm acceptor this
// touches the stores and the port only while g is still attached: a late
// failure of a detached gateway's store must not fence the next one.
func (g *Gateway) fail(err error) {
	g.failOnce.Do(func() {
		g.log.Error("fix gateway failed: stopping, sessions dropped", "err", err)
		if g.acc.warm {
			g.acc.failed(g, err)
		} else {
			g.acc.stores.fail(err)
		}
		g.eng.abort(err)
		g.mu.Lock()
		g.failed = err
		running := g.started && !g.stopped
		g.mu.Unlock()
		if running && !g.acc.warm {
			<-g.eng.done
			g.acc.stopQA()
		}
	})
}

// Run starts the gateway and runs it until ctx is done or the engine stops
// on a storage failure, which it returns.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Start(); err != nil {
		return err
	}
	var err error
	select {
	case <-ctx.Done():
	case <-g.eng.done:
		err = g.eng.err
	}
	if serr := g.Stop(); err == nil {
		err = serr
	}
	return err
}

// Done is closed when the engine stops (Stop, or a storage failure: see Err).
func (g *Gateway) Done() <-chan struct{} { return g.eng.done }

// Err returns why the engine stopped, once Done is closed.
func (g *Gateway) Err() error {
	select {
	case <-g.eng.done:
		return g.eng.err
	default:
		return nil
	}
}

// Addr is the acceptor's host:port.
func (g *Gateway) Addr() string { return g.acc.addr }

// TLS reports whether the acceptor speaks TLS (and only TLS).
func (g *Gateway) TLS() bool { return g.acc.tls }

// Desk returns the desk operations.
func (g *Gateway) Desk() *Desk { return g.desk }

// Order returns the order with this OrderID.
func (g *Gateway) Order(ctx context.Context, orderID string) (order.OrderState, bool, error) {
	var o order.OrderState
	var ok bool
	err := g.eng.submit(ctx, command{query: func(b *order.Book) { o, ok = b.Order(orderID) }})
	return o, ok, err
}

// Lookup returns the order that used clOrdID in session (SessionInfo.ID).
func (g *Gateway) Lookup(ctx context.Context, session, clOrdID string) (order.OrderState, bool, error) {
	var o order.OrderState
	var ok bool
	err := g.eng.submit(ctx, command{query: func(b *order.Book) { o, ok = b.Lookup(session, clOrdID) }})
	return o, ok, err
}

// Snapshot returns a copy of the whole book.
func (g *Gateway) Snapshot(ctx context.Context) (order.Snapshot, error) {
	var s order.Snapshot
	err := g.eng.submit(ctx, command{query: func(b *order.Book) { s = b.Snapshot() }})
	return s, err
}

// OrdersAt returns a copy of the orders keep selects, and runs at in the same
// instant on the engine goroutine: between batches, after every earlier
// batch's order events were published. So at can read where the order
// topics stand and the copy is exactly their state there (recovery's "full
// snapshot of the order state"). keep must only read the order it is
// given. If ctx ends before the engine gets to it, neither keep nor at runs.
func (g *Gateway) OrdersAt(ctx context.Context, keep func(*order.OrderState) bool, at func()) ([]order.OrderState, error) {
	var out []order.OrderState
	err := g.eng.submit(ctx, command{query: func(b *order.Book) {
		out = b.Orders(keep)
		at()
	}})
	return out, err
}

// Sessions describes the configured sessions, sorted by ID.
func (g *Gateway) Sessions() []SessionInfo { return g.acc.Sessions() }

func (g *Gateway) knownSymbol(sym string) bool {
	if g.symbols != nil {
		return g.symbols[sym]
	}
	if g.cfg.Prices == nil {
		return true
	}
	_, _, ok := g.cfg.Prices.Quote(sym)
	return ok
}

// submitInbound hands a counterparty event to the engine. The message's
// sequence number is held (gatedStore) until the event is journalled.
func (g *Gateway) submitInbound(id quickfix.SessionID, msg *quickfix.Message, ev order.Event) quickfix.MessageRejectError {
	seq, rerr := msg.Header.GetInt(tag.MsgSeqNum)
	if rerr != nil {
		return rerr
	}
	st := g.acc.stores.get(id)
	in := &inbound{Session: id.String(), Seq: seq, Epoch: st.epoch()}
	st.hold(seq)
	select {
	case g.eng.cmds <- command{ev: ev, in: in, sid: id}:
	case <-g.eng.done:
		// Stopped (shutdown or storage failure): the hold stays, so the
		// persisted sequence number stays below this message and the peer
		// resends it to the next gateway.
	}
	return nil
}

func (g *Gateway) now() time.Time { return g.cfg.Clock() }
