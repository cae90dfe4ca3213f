// Package cutproxy is a loopback TCP proxy for tests that cuts connections
// on demand: the way a flaky network, a NAT timeout or a dying proxy breaks
// a client's link to the server. It can also refuse WebSocket upgrades, as
// some corporate proxies do, and refuse connections for a while.
//
// Two ways to cut:
//
//   - Reset: both legs are closed with an RST at once. The server sees the
//     connection end; whatever was in flight is lost.
//   - Blackhole: the client's leg is reset, the server's leg is left open and
//     no longer read: the server notices nothing until its heartbeats or
//     write deadline run out (or the session is resumed elsewhere), as when
//     a link dies silently.
package cutproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how Cut breaks a connection.
type Mode int

// Cut modes.
const (
	Reset Mode = iota
	Blackhole
)

// String returns "reset" or "blackhole".
func (m Mode) String() string {
	if m == Blackhole {
		return "blackhole"
	}
	return "reset"
}

// Proxy forwards connections from its loopback address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	// HoldBlackholed is how long the server leg of a blackholed connection
	// stays open. Default 10s. Set before the first Cut.
	HoldBlackholed time.Duration

	refuseUpgrade atomic.Bool
	paused        atomic.Bool

	mu     sync.Mutex
	pairs  map[*pair]struct{}
	held   []net.Conn // blackholed server legs
	closed bool
	wg     sync.WaitGroup

	accepted atomic.Uint64
	cuts     atomic.Uint64
	refused  atomic.Uint64
}

type pair struct {
	client, server net.Conn
	blackholed     atomic.Bool
}

// Start listens on 127.0.0.1 (a free port) and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, pairs: make(map[*pair]struct{}), HoldBlackholed: 10 * time.Second}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetRefuseUpgrade makes the proxy answer requests asking for a WebSocket
// upgrade with 403 Forbidden, on connections accepted from now on.
func (p *Proxy) SetRefuseUpgrade(v bool) { p.refuseUpgrade.Store(v) }

// SetPaused makes the proxy close new connections at once (the server looks
// down) until unpaused.
func (p *Proxy) SetPaused(v bool) { p.paused.Store(v) }

// Stats returns how many connections were accepted, cut, and refused (paused
// or upgrade refused).
func (p *Proxy) Stats() (accepted, cuts, refused uint64) {
	return p.accepted.Load(), p.cuts.Load(), p.refused.Load()
}

// Conns returns the number of connections being forwarded.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// Cut breaks every connection being forwarded and returns how many it cut.
func (p *Proxy) Cut(m Mode) int {
	p.mu.Lock()
	pairs := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		pairs = append(pairs, pr)
		delete(p.pairs, pr)
	}
	p.mu.Unlock()
	for _, pr := range pairs {
		if m == Blackhole {
			pr.blackholed.Store(true)
			resetClose(pr.client)
			p.hold(pr.server)
		} else {
			resetClose(pr.client)
			resetClose(pr.server)
		}
	}
	p.cuts.Add(uint64(len(pairs)))
	return len(pairs)
}

// hold keeps a blackholed server leg open for HoldBlackholed.
func (p *Proxy) hold(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return
	}
	p.held = append(p.held, c)
	time.AfterFunc(p.HoldBlackholed, func() { _ = c.Close() })
}

// Close stops accepting, closes every connection and waits for the proxy's
// goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for pr := range p.pairs {
		_ = pr.client.Close()
		_ = pr.server.Close()
	}
	clear(p.pairs)
	for _, c := range p.held {
		_ = c.Close()
	}
	p.held = nil
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func resetClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST: data in flight is lost, as on a real cut
	}
	_ = c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if p.paused.Load() {
			p.refused.Add(1)
			resetClose(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

var upgradeWS = []byte("upgrade: websocket")

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	var head []byte
	if p.refuseUpgrade.Load() {
		var err error
		if head, err = readHead(client); err != nil {
			_ = client.Close()
			return
		}
		if bytes.Contains(bytes.ToLower(head), upgradeWS) {
			p.refused.Add(1)
			_ = client.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(client, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 25\r\nConnection: close\r\n\r\nwebsockets are not allowed")
			_ = client.Close()
			return
		}
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		resetClose(client)
		return
	}
	pr := &pair{client: client, server: server}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.pairs[pr] = struct{}{}
	p.mu.Unlock()
	if len(head) > 0 {
		if _, err := server.Write(head); err != nil {
			p.drop(pr)
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, client)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, server)
		done <- struct{}{}
	}()
	<-done
	// One direction ended: end the other, unless the connection was
	// blackholed (its server leg is held open, unread).
	if !pr.blackholed.Load() {
		_ = client.Close()
		_ = server.Close()
	} else {
		_ = client.Close()
	}
	<-done
	p.drop(pr)
}

func (p *Proxy) drop(pr *pair) {
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
	if !pr.blackholed.Load() {
		_ = pr.client.Close()
		_ = pr.server.Close()
	}
}

// readHead reads an HTTP request head (through the blank line), at most 16 KiB.
func readHead(c net.Conn) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 1024)
	for len(buf) < 16<<10 {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return nil, errors.New("request head over 16 KiB")
}
