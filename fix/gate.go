package fix

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// The gate is a warm acceptor's listening side (acceptor.go): quickfix's
// accept loop runs from node start and blocks in Accept, and the port is
// bound only while the gate is open, that is while a started gateway is
// attached (the node is Active). A standby's FIX port is closed, so a
// counterparty's connection is refused and it tries its next alternate
// address. Closing the gate unbinds the port and closes every connection
// accepted through it, pre-Logon ones included: their sessions disconnect.

// portGate is the set of gated listeners of one acceptor (one per address the
// sessions listen on).
type portGate struct {
	mu   sync.Mutex
	cond *sync.Cond
	lns  map[string]*gatedListener // by address; guarded by mu
	down bool                      // shut down: Accept fails; guarded by mu
	open bool                      // guarded by mu
}

func newPortGate() *portGate {
	g := &portGate{lns: make(map[string]*gatedListener)}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// listener returns the gated listener of address (quickfix's
// NewListenerCallback calls it at Acceptor.Start): nothing is bound yet.
func (g *portGate) listener(address string) (net.Listener, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return nil, net.ErrClosed
	}
	if l, ok := g.lns[address]; ok {
		return l, nil
	}
	l := &gatedListener{g: g, address: address, conns: make(map[*gateConn]struct{})}
	g.lns[address] = l
	if g.open {
		if err := l.bindLocked(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// openAll binds every address: connections are accepted from now on. On a
// bind failure nothing stays bound.
func (g *portGate) openAll() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return errors.New("fix: acceptor stopped")
	}
	for _, l := range g.lns {
		if err := l.bindLocked(); err != nil {
			g.closeLocked()
			return err
		}
	}
	g.open = true
	g.cond.Broadcast()
	return nil
}

// closeAll unbinds every address and closes every connection accepted
// through the gate.
func (g *portGate) closeAll() {
	g.mu.Lock()
	conns := g.closeLocked()
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.Conn.Close()
	}
}

// closeLocked unbinds every address and returns the connections to close.
// Lock must be held.
func (g *portGate) closeLocked() []*gateConn {
	g.open = false
	var conns []*gateConn
	for _, l := range g.lns {
		if l.ln != nil {
			_ = l.ln.Close()
			l.ln = nil
		}
		for c := range l.conns {
			conns = append(conns, c)
		}
		clear(l.conns)
	}
	g.cond.Broadcast()
	return conns
}

// shutdown closes the gate for good: Accept returns an error, which ends
// quickfix's accept loops (Acceptor.Stop closes each listener, which calls
// it).
func (g *portGate) shutdown() {
	g.mu.Lock()
	g.down = true
	conns := g.closeLocked()
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.Conn.Close()
	}
}

// isOpen reports whether the port is bound.
func (g *portGate) isOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// gatedListener is the net.Listener quickfix gets for one address.
type gatedListener struct {
	g       *portGate
	address string
	ln      net.Listener           // bound while the gate is open; guarded by g.mu
	conns   map[*gateConn]struct{} // accepted while open, not closed; guarded by g.mu
}

// bindLocked binds the address if it is not bound. Lock (g.mu) must be held.
func (l *gatedListener) bindLocked() error {
	if l.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return fmt.Errorf("fix: listen %s: %w", l.address, err)
	}
	l.ln = ln
	return nil
}

// acceptRetry spaces the retries of an Accept that failed on a bound
// listener (out of file descriptors, say).
const acceptRetry = 50 * time.Millisecond

// Accept waits until the gate is open and returns the next connection. It
// fails only once the gate is shut down: an error would end quickfix's
// accept loop for good.
func (l *gatedListener) Accept() (net.Conn, error) {
	for {
		l.g.mu.Lock()
		for l.ln == nil && !l.g.down {
			l.g.cond.Wait()
		}
		if l.g.down {
			l.g.mu.Unlock()
			return nil, net.ErrClosed
		}
		ln := l.ln
		l.g.mu.Unlock()
		c, err := ln.Accept()
		l.g.mu.Lock()
		if err != nil {
			failed := l.ln == ln // not closed by the gate
			l.g.mu.Unlock()
			if failed {
				time.Sleep(acceptRetry)
			}
			continue
		}
		if l.ln != ln { // the gate closed while this one was accepted
			l.g.mu.Unlock()
			_ = c.Close()
			continue
		}
		gc := &gateConn{Conn: c, l: l}
		l.conns[gc] = struct{}{}
		l.g.mu.Unlock()
		return gc, nil
	}
}

// Close shuts the whole gate down (quickfix calls it from Acceptor.Stop).
func (l *gatedListener) Close() error {
	l.g.shutdown()
	return nil
}

// Addr is the address the listener binds when open.
func (l *gatedListener) Addr() net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", l.address); err == nil {
		return a
	}
	return &net.TCPAddr{}
}

// gateConn is a connection accepted through the gate, closed by it when
// it closes.
type gateConn struct {
	net.Conn
	l *gatedListener
}

// Close forgets the connection and closes it.
func (c *gateConn) Close() error {
	c.l.g.mu.Lock()
	delete(c.l.conns, c)
	c.l.g.mu.Unlock()
	return c.Conn.Close()
}
