package fix

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// quickfix writes each outgoing message with its own Write on the socket,
// from a writer goroutine fed by an unbuffered channel, and the session
// goroutine hands it application messages with non-blocking sends that it
// retries in a loop while the writer is busy. Under load (a batch of
// ExecutionReports) that loop spins a CPU and the writer pays one syscall
// per message. The acceptor's connections are therefore wrapped in
// bufferedConn: Write appends to a buffer and returns, and a flusher
// goroutine writes whatever has accumulated in one syscall. The writer
// goroutine is then almost always ready, and batches of messages leave in
// a few writes.

// maxPending bounds the bytes waiting to be written to a connection. Past
// it Write blocks (back-pressure on a peer that does not read).
const maxPending = 8 << 20

// A peer that stops reading would otherwise hold its connection for as
// long as it keeps the session alive (it may send heartbeats and never
// read): the flusher's write blocks, Write blocks past maxPending, and
// quickfix queues the session's outgoing messages in memory without a
// bound. So a write to the socket that makes no progress for the write
// timeout (Config.WriteTimeout) fails the connection: the flusher closes
// the socket, quickfix's reader fails and the session disconnects. Nothing
// is lost: quickfix's store keeps every sent message for the peer's
// ResendRequest when it logs on again. A slow peer that reads keeps its
// connection: each write that makes progress gets a fresh deadline.

// writeChunk bounds one write to the socket, so that the write timeout
// measures progress on TLS too, where a write that times out cannot be
// resumed (crypto/tls makes the error permanent).
const writeChunk = 64 << 10

// closeFlush bounds how long Close writes what is pending (a Logout must
// get out) to a peer that may not read.
const closeFlush = 2 * time.Second

// acceptorListener wraps each connection it accepts, from the inside out:
// reads yield only checked whole messages of at most maxMessage bytes, the
// first within firstMessage (framedConn, framing.go); writes are buffered
// (bufferedConn); and the logon validator sees what it needs, the TLS state
// and at most maxLogon bytes read before the Logon (peerConn, identity.go),
// and the slot of the pre-Logon budget to give back once the Logon passes
// (prelogon.go: the listener beneath, TLS or not, is a preLogonListener).
type acceptorListener struct {
	net.Listener
	maxMessage   int
	firstMessage time.Duration
	maxLogon     int
	writeTimeout time.Duration
	// sessionOf names the session logged on from a remote address, for logs.
	sessionOf func(remote net.Addr) string
	// durable, if set, is the message stores' durability barrier
	// (storeFactory.durable): nothing reaches the socket before it returns.
	durable func(timeout time.Duration) error
	log     *slog.Logger
}

func (l acceptorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	raw := c
	tc, _ := c.(*tls.Conn)
	if tc != nil {
		raw = tc.NetConn()
	}
	slot, _ := raw.(*preLogonConn)
	return &peerConn{Conn: newBufferedConn(newFramedConn(c, l.maxMessage, l.firstMessage, l.log), l.writeTimeout, l.durable, l.sessionOf, l.log), tls: tc, slot: slot,
		capture: make([]byte, 0, 1024), max: l.maxLogon}, nil
}

type bufferedConn struct {
	net.Conn
	timeout   time.Duration // a write making no progress this long fails the connection
	durable   func(timeout time.Duration) error
	sessionOf func(remote net.Addr) string
	log       *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond // signals the flusher (data or close) and blocked writers (room)
	buf      []byte     // guarded by mu
	waiting  bool       // the flusher waits for data; guarded by mu
	err      error      // first write error; guarded by mu
	closing  bool       // guarded by mu
	done     chan struct{}
	closeErr error // the socket's Close, by the flusher; read after done
}

// newBufferedConn wraps c. durable, if not nil, is waited for before each
// write to the socket (see acceptorListener.durable).
func newBufferedConn(c net.Conn, timeout time.Duration, durable func(time.Duration) error, sessionOf func(net.Addr) string, log *slog.Logger) *bufferedConn {
	b := &bufferedConn{Conn: c, timeout: timeout, durable: durable, sessionOf: sessionOf, log: log, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

var errConnClosed = errors.New("fix: connection closed")

// Write queues p for the flusher. It reports the error of an earlier
// write, if any.
func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) >= maxPending && b.err == nil && !b.closing {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.closing {
		return 0, errConnClosed
	}
	b.buf = append(b.buf, p...)
	if b.waiting {
		b.cond.Broadcast()
	}
	return len(p), nil
}

// flush writes what Write queues until Close or a write error, then closes
// the socket: quickfix ignores write errors, and only its reader failing
// disconnects the session.
func (b *bufferedConn) flush() {
	defer close(b.done)
	var out []byte
	for {
		b.mu.Lock()
		for len(b.buf) == 0 && !b.closing {
			b.waiting = true
			b.cond.Wait()
			b.waiting = false
		}
		if len(b.buf) == 0 {
			b.mu.Unlock()
			b.closeErr = b.Conn.Close()
			return
		}
		out, b.buf = b.buf, out[:0]
		b.cond.Broadcast()
		b.mu.Unlock()
		// Every message in out was saved in its message store before
		// quickfix wrote it here: with a journal store, it reaches the
		// socket only once it is durable (journalstore.go). A store that
		// failed (a deposed leader's journal) closes the connection
		// unwritten.
		unsent, err := len(out), error(nil)
		if b.durable != nil {
			if err = b.durable(b.timeout); err != nil {
				b.log.Warn("fix connection closed: message store not durable", "session", b.sessionOf(b.RemoteAddr()),
					"remote", b.RemoteAddr().String(), "unsent_bytes", unsent, "err", err)
			}
		}
		if err == nil {
			unsent, err = b.write(out)
		}
		if err != nil {
			b.mu.Lock()
			b.err = err
			closing := b.closing
			unsent += len(b.buf)
			b.buf = nil
			b.cond.Broadcast()
			b.mu.Unlock()
			if !closing && errors.Is(err, os.ErrDeadlineExceeded) {
				b.log.Warn("fix connection closed: peer not reading", "session", b.sessionOf(b.RemoteAddr()),
					"remote", b.RemoteAddr().String(), "write_timeout", b.timeout, "unsent_bytes", unsent)
			}
			b.closeErr = b.Conn.Close()
			return
		}
	}
}

// write writes p to the socket, a chunk at a time, each with a fresh
// deadline (unless Close has set its own); a chunk that times out having
// written some bytes goes on. It returns the bytes left unwritten and why.
func (b *bufferedConn) write(p []byte) (int, error) {
	for len(p) > 0 {
		b.mu.Lock()
		if !b.closing {
			_ = b.Conn.SetWriteDeadline(time.Now().Add(b.timeout))
		}
		b.mu.Unlock()
		n, err := b.Conn.Write(p[:min(len(p), writeChunk)])
		p = p[n:]
		if err != nil && (n == 0 || !errors.Is(err, os.ErrDeadlineExceeded)) {
			return len(p), err
		}
	}
	return 0, nil
}

// Close writes what is pending (for at most closeFlush: a Logout must get out),
// then closes the socket.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	b.closing = true
	b.cond.Broadcast()
	// Under mu: the flusher sets no deadline of its own after this one.
	_ = b.Conn.SetWriteDeadline(time.Now().Add(closeFlush))
	b.mu.Unlock()
	<-b.done
	return b.closeErr
}
