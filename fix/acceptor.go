package fix

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"

	"tickwire/internal/secfile"
)

// Acceptor is a gateway's FIX acceptor: the quickfix acceptor with its
// sessions, its listener and the sessions' message stores.
//
// A Gateway built by New without Config.Acceptor has its own, started and
// stopped with it. A node of a cluster instead builds one warm acceptor for
// its whole life (NewAcceptor, Start at node start, on every node) and
// attaches a Gateway to it for each term as the Active (Config.Acceptor):
// quickfix starts a session's event loop only on the next whole second
// after Acceptor.Start, so a gateway built at the takeover would add up to
// a second to every FIX failover, while a warm acceptor's loops have long
// run when its port opens. The port is bound only while a started gateway
// is attached (gate.go): a standby's port is closed. The sessions' stores
// are read from the journal when a gateway attaches (after the node's
// raft barrier, before the port opens) and refuse everything while none is
// (standbyStore). docs/HA.md, "FIX failover time: a warm acceptor".
type Acceptor struct {
	cfg          Config // settings and connection limits, defaults filled
	log          *slog.Logger
	addr         string
	tls          bool
	tlsExplicit  *tls.Config // the TLS configuration quickfix is given, if not its settings'
	warm         bool        // built by NewAcceptor; else a gateway's own
	gate         *portGate   // warm: the port, open while a started gateway is attached
	qa           *quickfix.Acceptor
	stores       *storeFactory
	sessionByKey map[string]quickfix.SessionID
	identities   map[quickfix.SessionID]*identity // read-only after construction

	stopQAOnce sync.Once

	mu       sync.Mutex
	cond     *sync.Cond                  // broadcast when loggedOn changes
	gw       *Gateway                    // the attached gateway; guarded by mu
	loggedOn map[quickfix.SessionID]bool // guarded by mu
	started  bool                        // guarded by mu
	stopped  bool                        // guarded by mu
}

// NewAcceptor builds a warm acceptor (see Acceptor) from cfg's settings
// and connection limits: Settings, DataDir, TLS, MaxMessageBytes,
// FirstMessageTimeout, MaxLogonBytes, MaxPreLogon, MaxPreLogonPerAddr,
// WriteTimeout, MessageStore and StoreRetention, Logger and Clock (the
// other fields are the gateways'). The message stores must be journal
// stores (StoreJournal): the state a gateway continues is the journal's.
// Nothing listens: Start starts the sessions, a started gateway opens the
// port.
func NewAcceptor(cfg Config) (*Acceptor, error) {
	a, err := newAcceptor(cfg)
	if err != nil {
		return nil, err
	}
	if a.cfg.MessageStore != StoreJournal {
		return nil, fmt.Errorf("fix: a warm acceptor needs the journal message store (%s=%s), not %q", keyMessageStore, StoreJournal, a.cfg.MessageStore)
	}
	a.warm = true
	a.gate = newPortGate()
	a.stores = &storeFactory{inner: standbyStoreFactory{}, stores: make(map[quickfix.SessionID]*gatedStore)}
	if err := a.create(a.gate.listener); err != nil {
		return nil, err
	}
	a.log.Info("fix acceptor ready (port closed until the node is active)", "addr", a.addr, "sessions", len(a.identities))
	return a, nil
}

// checkBase checks what a gateway and an acceptor both need: settings and a
// private data directory (created when missing).
func (cfg *Config) checkBase() error {
	if cfg.Settings == nil {
		return errors.New("fix: Config.Settings is required")
	}
	if cfg.DataDir == "" {
		return errors.New("fix: Config.DataDir is required")
	}
	if err := secfile.MkdirAll(cfg.DataDir, secfile.Dir); err != nil {
		return fmt.Errorf("fix: data dir: %w", err)
	}
	return nil
}

// newAcceptor checks the settings and resolves the acceptor's address, TLS
// mode, sessions and store kind; create then builds the quickfix acceptor.
func newAcceptor(cfg Config) (*Acceptor, error) {
	if err := cfg.checkBase(); err != nil {
		return nil, err
	}
	cfg.fillConnDefaults()
	a := &Acceptor{
		log:          cfg.Logger,
		sessionByKey: make(map[string]quickfix.SessionID),
		loggedOn:     make(map[quickfix.SessionID]bool),
	}
	a.cond = sync.NewCond(&a.mu)
	var err error
	if a.addr, err = prepareSettings(cfg.Settings, cfg.DataDir); err != nil {
		return nil, err
	}
	mode, tlsExplicit, err := acceptorTLS(cfg.Settings, cfg.TLS)
	if err != nil {
		return nil, err
	}
	a.tls, a.tlsExplicit = mode != tlsOff, tlsExplicit
	if a.identities, err = sessionIdentities(cfg.Settings, mode); err != nil {
		return nil, err
	}
	for id := range a.identities {
		a.sessionByKey[id.String()] = id
	}
	if cfg.MessageStore, cfg.StoreRetention, err = storeSettings(cfg.MessageStore, cfg.StoreRetention, cfg.Settings); err != nil {
		return nil, err
	}
	a.cfg = cfg
	return a, nil
}

// create builds the quickfix acceptor on a.stores; bind makes its TCP
// listeners (net.Listen, or the gate's).
func (a *Acceptor) create(bind func(string) (net.Listener, error)) error {
	cfg := &a.cfg
	logs, err := newLogFactory(cfg.Settings, cfg.Logger)
	if err != nil {
		return fmt.Errorf("fix: log: %w", err)
	}
	a.qa, err = quickfix.NewAcceptor(newApplication(a), a.stores, cfg.Settings, logs)
	if err != nil {
		a.unregister()
		a.stores.closeAll()
		return fmt.Errorf("fix: acceptor: %w", err)
	}
	a.qa.SetConnectionValidator(logonValidator{ids: a.identities, log: cfg.Logger})
	if a.tlsExplicit != nil {
		a.qa.SetTLSConfig(a.tlsExplicit) // else quickfix builds it from the settings
	}
	budget := newPreLogonBudget(cfg.MaxPreLogon, cfg.MaxPreLogonPerAddr, cfg.Logger)
	a.qa.SetNewListenerCallback(listener(cfg.Logger, budget, cfg.MaxMessageBytes, cfg.FirstMessageTimeout, cfg.MaxLogonBytes,
		cfg.WriteTimeout, a.durableBarrier(), a.sessionAt, bind))
	return nil
}

// Start starts the sessions of a warm acceptor (their event loops begin
// their wait for the next whole second now, not at the takeover). Its port
// stays closed until a started gateway is attached.
func (a *Acceptor) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.stopped {
		return errors.New("fix: acceptor already started")
	}
	if err := a.qa.Start(); err != nil {
		return fmt.Errorf("fix: acceptor %s: %w", a.addr, err)
	}
	a.started = true
	return nil
}

// Stop stops the attached gateway, if any, then the sessions, for good.
func (a *Acceptor) Stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	gw, started := a.gw, a.started
	a.mu.Unlock()
	if gw != nil {
		if err := gw.Stop(); err != nil {
			a.log.Warn("fix gateway stopped with an error", "err", err)
		}
	}
	if a.gate != nil {
		a.gate.shutdown()
	}
	if started {
		a.stopQA()
	} else {
		a.unregister()
	}
	a.stores.closeAll()
}

// Addr is the acceptor's host:port.
func (a *Acceptor) Addr() string { return a.addr }

// TLS reports whether the acceptor speaks TLS (and only TLS).
func (a *Acceptor) TLS() bool { return a.tls }

// Listening reports whether the port is bound: for a warm acceptor, while
// a started gateway is attached.
func (a *Acceptor) Listening() bool {
	if a.gate == nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.started && !a.stopped
	}
	return a.gate.isOpen()
}

// stopQA stops the quickfix acceptor once: its listeners, then every
// session (a logged-on one with a Logout), then their registration.
func (a *Acceptor) stopQA() { a.stopQAOnce.Do(a.qa.Stop) }

// unregister removes the sessions from quickfix's process-wide registry
// when the acceptor never ran (its Stop would block).
func (a *Acceptor) unregister() {
	for _, id := range a.sessionByKey {
		_ = quickfix.UnregisterSession(id)
	}
}

// durableBarrier is the connections' wait for the journal message stores
// (nil with FileStores, which write before they return).
func (a *Acceptor) durableBarrier() func(time.Duration) error {
	if a.cfg.MessageStore != StoreJournal {
		return nil
	}
	return func(d time.Duration) error { return a.stores.durable(d) }
}

// sessionsOffTimeout bounds the wait of an attaching gateway for the
// previous term's sessions to have seen their connections close.
const sessionsOffTimeout = 2 * time.Second

// attach makes g the gateway of a warm acceptor and gives the sessions
// their journal stores, read from g's journal now (the node's journal
// holds every committed entry: after the raft barrier). The port stays
// closed until g starts (open).
func (a *Acceptor) attach(g *Gateway) error {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return errors.New("fix: acceptor stopped")
	}
	if a.gw != nil {
		a.mu.Unlock()
		return errors.New("fix: acceptor in use by another gateway (stop it first)")
	}
	a.gw = g
	a.waitSessionsOffLocked(sessionsOffTimeout)
	a.mu.Unlock()
	err := a.stores.attach(&journalStoreFactory{j: g.cfg.Journal, ret: a.cfg.StoreRetention, clock: a.cfg.Clock, log: a.log, onFail: g.fail})
	if err != nil {
		a.mu.Lock()
		a.gw = nil
		a.mu.Unlock()
	}
	return err
}

// waitSessionsOffLocked waits, at most d, until no session is logged on:
// after a gateway's stop closed their connections, quickfix's session
// loops see it a moment later. Lock must be held.
func (a *Acceptor) waitSessionsOffLocked(d time.Duration) {
	expired := false
	t := time.AfterFunc(d, func() {
		a.mu.Lock()
		expired = true
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer t.Stop()
	for !expired {
		on := false
		for _, v := range a.loggedOn {
			on = on || v
		}
		if !on {
			return
		}
		a.cond.Wait()
	}
	a.log.Warn("fix sessions still logged on from the previous term", "waited", d.String())
}

// detach closes the port and every connection, waits (at most
// sessionsOffTimeout) until quickfix has logged the sessions out, puts the sessions back on
// standby stores (closing g's journal stores) and frees the acceptor for
// the next gateway.
func (a *Acceptor) detach(g *Gateway) error {
	a.gate.closeAll()
	a.mu.Lock()
	mine := a.gw == g
	if mine {
		// When Stop returns, the sessions are logged out (quickfix's
		// loops see the closed connections a moment later).
		a.waitSessionsOffLocked(sessionsOffTimeout)
	}
	a.mu.Unlock()
	if !mine {
		return nil
	}
	err := a.stores.detach()
	a.mu.Lock()
	a.gw = nil
	a.mu.Unlock()
	return err
}

// failed fences a warm acceptor's stores (every later write refused) and
// closes its port and connections, if g is still the attached gateway.
func (a *Acceptor) failed(g *Gateway, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gw != g {
		return
	}
	a.stores.fail(err)
	a.gate.closeAll()
}

// current returns the gateway whose engine takes the sessions' messages:
// the attached one, nil while none is (a standby).
func (a *Acceptor) current() *Gateway {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gw
}

func (a *Acceptor) sessionState(id quickfix.SessionID, on bool) {
	a.mu.Lock()
	a.loggedOn[id] = on
	a.cond.Broadcast()
	a.mu.Unlock()
	a.log.Info("fix session", "session", id.String(), "logged_on", on)
}

// Sessions describes the configured sessions, sorted by ID. On a warm
// acceptor with no gateway attached the numbers are 0: they are the
// journal's, read when a gateway attaches.
func (a *Acceptor) Sessions() []SessionInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]SessionInfo, 0, len(a.sessionByKey))
	for key, id := range a.sessionByKey {
		si := SessionInfo{ID: key, Sender: id.SenderCompID, Target: id.TargetCompID, LoggedOn: a.loggedOn[id]}
		if st := a.stores.get(id); st != nil && (!a.warm || a.gw != nil) {
			si.NextSenderSeq = st.NextSenderMsgSeqNum()
			si.NextTargetSeq = st.NextTargetMsgSeqNum()
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// sessionAt names the session logged on from remote ("" if none), for logs
// of a connection, which does not know its session.
func (a *Acceptor) sessionAt(remote net.Addr) string {
	for key, id := range a.sessionByKey {
		if ra, ok := a.qa.RemoteAddr(id); ok && ra.String() == remote.String() {
			return key
		}
	}
	return ""
}
