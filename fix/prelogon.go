package fix

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// The pre-Logon budget. quickfix's acceptor gives every accepted
// connection a goroutine until its first message, and tickwire adds a
// flusher and up to MaxMessageBytes of framing buffer (conn.go,
// framing.go) for up to FirstMessageTimeout: without a bound on their
// number, a flood of idle or trickling connections would cost memory
// without bound and crowd out real counterparties. So at most
// Config.MaxPreLogon connections, and Config.MaxPreLogonPerAddr from one
// remote IP address, may await their Logon's validation; past either, a
// new connection is closed as soon as it is accepted.
//
// The slot is taken on the raw TCP connection, beneath the TLS handshake
// (tls.go): a handshake in flight costs a goroutine and a connection too.
// It is given back once, when the Logon passes logonValidator or the
// connection closes, whichever comes first.

// Defaults of Config.MaxPreLogon and MaxPreLogonPerAddr.
const (
	defaultMaxPreLogon        = 256
	defaultMaxPreLogonPerAddr = 8
)

// preLogonRefusalLogEvery spaces the log lines of refused connections: a
// flood is told once a second, with how many were refused.
const preLogonRefusalLogEvery = time.Second

// preLogonBudget counts the connections awaiting their Logon's validation.
type preLogonBudget struct {
	max, perAddr int // <= 0: unlimited
	log          *slog.Logger

	mu      sync.Mutex
	total   int                // guarded by mu
	byAddr  map[netip.Addr]int // guarded by mu; no zero counts
	refused int                // since the last log line; guarded by mu
	logged  time.Time          // the last log line; guarded by mu
}

func newPreLogonBudget(max, perAddr int, log *slog.Logger) *preLogonBudget {
	return &preLogonBudget{max: max, perAddr: perAddr, log: log, byAddr: make(map[netip.Addr]int)}
}

// take counts a connection from ip if the budget has room for it, and
// reports whether it did; a refusal is logged (at most once a second).
func (b *preLogonBudget) take(ip netip.Addr) bool {
	b.mu.Lock()
	var reason string
	switch {
	case b.max > 0 && b.total >= b.max:
		reason = fmt.Sprintf("limit of %d connections awaiting their Logon reached", b.max)
	case b.perAddr > 0 && b.byAddr[ip] >= b.perAddr:
		reason = fmt.Sprintf("per-address limit of %d connections awaiting their Logon reached", b.perAddr)
	default:
		b.total++
		b.byAddr[ip]++
		b.mu.Unlock()
		return true
	}
	b.refused++
	now := time.Now()
	if now.Sub(b.logged) < preLogonRefusalLogEvery {
		b.mu.Unlock()
		return false
	}
	n := b.refused
	b.refused, b.logged = 0, now
	b.mu.Unlock()
	b.log.Warn("fix connection refused: "+reason, "remote", ip.String(), "refused", n, "since", preLogonRefusalLogEvery)
	return false
}

func (b *preLogonBudget) release(ip netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total--
	if b.byAddr[ip]--; b.byAddr[ip] <= 0 {
		delete(b.byAddr, ip)
	}
}

// preLogonListener admits connections within the budget. It closes the
// others and accepts again: an error from Accept would stop quickfix's
// accept loop for good.
type preLogonListener struct {
	net.Listener
	budget *preLogonBudget
}

func (l preLogonListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.budget.take(ip) {
			pc := &preLogonConn{Conn: c, budget: l.budget, ip: ip}
			pc.held.Store(true)
			return pc, nil
		}
		_ = c.Close()
	}
}

// remoteIP is the per-address key of c: its peer's IP (IPv4 in IPv6 as
// IPv4).
func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// preLogonConn is a raw connection holding a slot of the budget.
type preLogonConn struct {
	net.Conn
	budget *preLogonBudget
	ip     netip.Addr
	held   atomic.Bool // the slot is still taken
}

// release gives the slot back, once: on the validated Logon (the validator's
// goroutine) or on Close (any goroutine, the TLS handshake's included).
func (c *preLogonConn) release() {
	if c.held.CompareAndSwap(true, false) {
		c.budget.release(c.ip)
	}
}

// Close closes the connection, then gives its slot back.
func (c *preLogonConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
