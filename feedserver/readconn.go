package feedserver

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// readChunk is the size of the pooled buffers a pooledConn reads into: one
// read system call takes a client's message whole, or many of them.
const readChunk = 8 << 10

// smallReadBuffer is gorilla's read buffer: its minimum (a control frame's
// payload is peeked at in it). Larger reads bypass it.
const smallReadBuffer = 125

// pooledConn is an accepted TCP connection whose input is read into the
// server's pooled buffers, held only while they have bytes not yet
// consumed. A read buffer per connection (gorilla's, 512 bytes) costs every
// idle client its size, and a message larger than it takes two read system
// calls; here a message of up to readChunk bytes takes one, and an idle
// client holds none: it waits for input through the runtime's poller
// (syscall.RawConn.Read) without a buffer.
//
// Writes, deadlines and the rest are the embedded TCP connection's.
type pooledConn struct {
	*net.TCPConn
	rc   syscall.RawConn
	pool *sync.Pool // *[]byte of readChunk bytes

	buf  *[]byte // holds unread input in (*buf)[r:w]; nil when all is consumed
	r, w int

	dst  []byte             // fillNow reads here when the caller's buffer is large
	n    int                // what fillNow read into dst
	err  error              // fillNow's error
	fill func(uintptr) bool // fillNow, bound once
}

// newPooledConn wraps tc; it returns tc itself if its raw socket is not
// available.
func newPooledConn(tc *net.TCPConn, pool *sync.Pool) net.Conn {
	rc, err := tc.SyscallConn()
	if err != nil {
		return tc
	}
	c := &pooledConn{TCPConn: tc, rc: rc, pool: pool}
	c.fill = c.fillNow
	return c
}

// Read reads from the held buffer, or, when it is empty, waits for input
// and reads it: into p itself if p is at least a chunk, else into a
// pooled chunk.
func (c *pooledConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.buf == nil {
		if len(p) >= readChunk {
			c.dst = p
		}
		err := c.rc.Read(c.fill)
		dst, n := c.dst, c.n
		c.dst, c.n = nil, 0
		if err != nil {
			return 0, err // closed, or the read deadline passed
		}
		if c.err != nil {
			err, c.err = c.err, nil
			return 0, err
		}
		if dst != nil {
			return n, nil
		}
	}
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		c.pool.Put(c.buf)
		c.buf = nil
	}
	return n, nil
}

// fillNow is Read's syscall.RawConn.Read function: it reads what the socket
// has, into c.dst or a pooled chunk. With nothing to read it gives the
// chunk back and asks to wait.
func (c *pooledConn) fillNow(fd uintptr) bool {
	dst, chunk := c.dst, (*[]byte)(nil)
	if dst == nil {
		chunk = c.pool.Get().(*[]byte)
		dst = *chunk
	}
	for {
		n, err := syscall.Read(int(fd), dst) // a bare Errno: compared as is, off the idle stack's path of errors.Is
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if chunk != nil {
				c.pool.Put(chunk)
			}
			return false
		case err != nil:
			c.failed(err)
		case n == 0:
			c.err = io.EOF
		case chunk != nil:
			c.buf, c.r, c.w = chunk, 0, n
			return true
		default:
			c.n = n
			return true
		}
		if chunk != nil {
			c.pool.Put(chunk)
		}
		return true
	}
}

// failed records a read's error as net's own reads word it. Out of line:
// fillNow is on every idle reader's stack, which stays as deep as it once
// went.
//
//go:noinline
func (c *pooledConn) failed(err error) {
	c.err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
}

// WriteTo copies the input to w through Read: the embedded connection's
// WriteTo would skip what the held buffer has.
func (c *pooledConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}

// writeSide returns the connection to write nc's output on: the TCP
// connection itself under a pooledConn, so writes keep its writev.
func writeSide(nc net.Conn) net.Conn {
	if pc, ok := nc.(*pooledConn); ok {
		return pc.TCPConn
	}
	return nc
}

// Listener wraps ln so that the plain TCP connections it accepts read
// their input through the server's pooled buffers (see pooledConn): Serve
// does it itself; a program serving Handler on its own http.Server passes
// its listener through here. Other connections (TLS, which reads its
// records into buffers of its own) are accepted as they are.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return pooledListener{Listener: ln, pool: &s.readbufs}
}

// pooledListener wraps each accepted TCP connection in a pooledConn.
type pooledListener struct {
	net.Listener
	pool *sync.Pool
}

// Accept implements net.Listener.
func (l pooledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return newPooledConn(tc, l.pool), nil
	}
	return c, nil
}
