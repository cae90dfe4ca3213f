package fix

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
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
	log          *slog.Logger
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
	return &peerConn{Conn: newBufferedConn(newFramedConn(c, l.maxMessage, l.firstMessage, l.log)), tls: tc, slot: slot,
		capture: make([]byte, 0, 1024), max: l.maxLogon}, nil
}

type bufferedConn struct {
	net.Conn

	mu      sync.Mutex
	cond    *sync.Cond // signals the flusher (data or close) and blocked writers (room)
	buf     []byte     // guarded by mu
	waiting bool       // the flusher waits for data; guarded by mu
	err     error      // first write error; guarded by mu
	closing bool       // guarded by mu
	done    chan struct{}
}

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, done: make(chan struct{})}
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
			return
		}
		out, b.buf = b.buf, out[:0]
		b.cond.Broadcast()
		b.mu.Unlock()
		if _, err := b.Conn.Write(out); err != nil {
			b.mu.Lock()
			b.err = err
			b.buf = b.buf[:0]
			b.cond.Broadcast()
			b.mu.Unlock()
			return
		}
	}
}

// Close writes what is pending (for at most closeFlush: a Logout must get out),
// then closes the socket.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	b.closing = true
	b.cond.Broadcast()
	b.mu.Unlock()
	_ = b.Conn.SetWriteDeadline(time.Now().Add(closeFlush))
	<-b.done
	return b.Conn.Close()
}
