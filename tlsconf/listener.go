package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// HandshakeListener wraps a listener so that Accept returns only connections
// whose TLS handshake has completed. Each handshake runs in its own goroutine
// under a deadline, so a peer that connects and never finishes the handshake
// (or speaks plain text) holds neither the accept loop nor a connection for
// longer than the timeout. Servers that handshake lazily on first read and
// have no handshake timeout of their own (quickfix's acceptor) want this;
// net/http has its own (http.Server's ReadHeaderTimeout bounds it) and should
// keep tls.NewListener, which lets it answer a plain HTTP request with 400.
type HandshakeListener struct {
	inner   net.Listener
	cfg     *tls.Config
	timeout time.Duration
	onErr   func(remote net.Addr, err error)

	conns chan *tls.Conn
	done  chan struct{}
	once  sync.Once

	mu        sync.Mutex
	acceptErr error // the inner listener's, once it failed
}

// NewHandshakeListener starts accepting on inner. timeout bounds each
// handshake (default 10s when <= 0); onErr, if not nil, is told of each failed
// handshake (a plain-text client, an untrusted certificate, a timeout).
func NewHandshakeListener(inner net.Listener, cfg *tls.Config, timeout time.Duration, onErr func(remote net.Addr, err error)) *HandshakeListener {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	l := &HandshakeListener{inner: inner, cfg: cfg, timeout: timeout, onErr: onErr,
		conns: make(chan *tls.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *HandshakeListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: retry, as
				// net/http does, rather than stop serving.
				select {
				case <-l.done:
					return
				case <-time.After(100 * time.Millisecond):
					continue
				}
			}
			l.mu.Lock()
			l.acceptErr = err
			l.mu.Unlock()
			_ = l.Close()
			return
		}
		go l.handshake(c)
	}
}

func (l *HandshakeListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx) // closes c when ctx expires
	cancel()
	if err != nil {
		_ = c.Close()
		if l.onErr != nil {
			l.onErr(c.RemoteAddr(), err)
		}
		return
	}
	select {
	case l.conns <- tc:
	case <-l.done:
		_ = tc.Close()
	}
}

// Accept returns the next connection whose handshake completed: a *tls.Conn.
func (l *HandshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acceptErr != nil {
		return nil, l.acceptErr
	}
	return nil, net.ErrClosed
}

// Close stops accepting; handshakes in flight are abandoned.
func (l *HandshakeListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the inner listener's address.
func (l *HandshakeListener) Addr() net.Addr { return l.inner.Addr() }
