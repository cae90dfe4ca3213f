package feedserver

import (
	"encoding/binary"
	"net"
	"sync"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

// The writer frames WebSocket messages itself and hands the socket the
// encoded frames where they lie (writev): gorilla's NextWriter would allocate
// a message writer per message and copy every frame into a per-connection
// buffer. Gorilla still owns the read side and the handshake. What gorilla
// would write on its own during normal operation, the reply to a peer's
// WebSocket ping and the answer to its close, is routed through the writer
// instead (installControlHandlers), so the writer is the one goroutine
// writing to the socket, and its Close is the last frame on it. The exception is terminal: on a WebSocket protocol error
// (a malformed frame header) gorilla's reader writes its own close frame,
// 1002, and the connection ends; each write is whole (the socket's write
// lock), so that frame never splits one of ours.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsOpBinary = 0x2
	wsOpClose  = 0x8
	wsOpPong   = 0xA
	wsFin      = 0x80
)

// maxWSHeader is the largest server-to-client frame header: no mask key.
const maxWSHeader = 10

// appendWSHeader appends the header of one unmasked, final frame.
func appendWSHeader(dst []byte, op byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, wsFin|op, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, wsFin|op, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, wsFin|op, 127), uint64(n))
	}
}

// installControlHandlers makes gorilla hand the replies to the peer's control
// frames to the writer rather than write them itself. Reader goroutine.
func (c *Conn) installControlHandlers(ws *websocket.Conn) {
	ws.SetPingHandler(func(data string) error {
		c.queue.pong(data)
		return nil
	})
	// The reader ends with the peer's Close; the writer answers it.
	ws.SetCloseHandler(func(code int, _ string) error {
		c.peerClosed(code)
		return nil
	})
}

// socketWriter gathers one batch of WebSocket frames and writes it with one
// system call where the socket allows.
type socketWriter struct {
	hdr  []byte      // frame headers of this batch, one arena
	iov  net.Buffers // header, frames, header, frames, ...: writev's vector
	vec  net.Buffers // the copy of iov that WriteTo consumes (a field: no escape)
	msgs []message   // where each header lies in hdr

	pong   []byte // a ping's payload to answer with this batch
	ponged bool

	// tryWrite's (trywrite.go).
	iovecs []unix.Iovec       // writev's vector, reused
	try    func(uintptr) bool // writevNow, bound once
	werr   error              // writevNow's error
}

// message holds the positions of one message's header in hdr until the
// arena stops growing.
type message struct{ iov, start, end int }

// write sends frames as binary messages of at most max bytes each (a frame
// larger than max is a message of its own), preceded by the pong if one is
// due. Sockets without writev (TLS) get the batch copied into a buffer from
// gather, one write. It returns the payload bytes written.
func (sw *socketWriter) write(nc net.Conn, frames [][]byte, max int, gather *sync.Pool) (int, error) {
	total := sw.build(frames, max)
	var err error
	if _, ok := nc.(*net.TCPConn); ok {
		sw.vec = sw.iov
		_, err = sw.vec.WriteTo(nc)
	} else {
		buf := gather.Get().(*[]byte)
		b := (*buf)[:0]
		for _, v := range sw.iov {
			b = append(b, v...)
		}
		_, err = nc.Write(b)
		*buf = b[:0]
		if cap(b) <= maxPooledInbound {
			gather.Put(buf)
		}
	}
	sw.dropBatch()
	return total, err
}

// build lays out frames as binary messages of at most max bytes each in
// sw.iov, after the pong if one is due, and returns the payload bytes.
func (sw *socketWriter) build(frames [][]byte, max int) int {
	msgs := sw.msgs[:0]
	sw.hdr, sw.iov = sw.hdr[:0], sw.iov[:0]
	if sw.ponged {
		sw.ponged = false
		sw.hdr = appendWSHeader(sw.hdr, wsOpPong, len(sw.pong))
		sw.hdr = append(sw.hdr, sw.pong...)
		msgs = append(msgs, message{iov: 0, start: 0, end: len(sw.hdr)})
		sw.iov = append(sw.iov, nil)
	}
	total := 0
	for i := 0; i < len(frames); {
		size, j := 0, i
		for ; j < len(frames) && (size == 0 || size+len(frames[j]) <= max); j++ {
			size += len(frames[j])
		}
		start := len(sw.hdr)
		sw.hdr = appendWSHeader(sw.hdr, wsOpBinary, size)
		msgs = append(msgs, message{iov: len(sw.iov), start: start, end: len(sw.hdr)})
		sw.iov = append(sw.iov, nil)
		sw.iov = append(sw.iov, frames[i:j]...)
		total += size
		i = j
	}
	for _, m := range msgs {
		sw.iov[m.iov] = sw.hdr[m.start:m.end]
	}
	sw.msgs = msgs
	return total
}

// trim lets go of a burst's large vectors when the writer goes idle, so an
// idle client keeps little memory.
func (sw *socketWriter) trim() {
	sw.ponged = false // a pong not sent is not another client's to send
	if cap(sw.iov) > 64 {
		sw.iov, sw.msgs = nil, nil
	}
	if cap(sw.hdr) > 256 {
		sw.hdr = nil
	}
	if cap(sw.iovecs) > 64 {
		sw.iovecs = nil
	}
}

// closeFrame returns a close frame with code and reason (at most 123
// bytes); CloseNoStatusReceived, a code never sent, makes an empty one.
func closeFrame(code int, reason string) []byte {
	if code == websocket.CloseNoStatusReceived {
		return appendWSHeader(nil, wsOpClose, 0)
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	b := appendWSHeader(make([]byte, 0, 4+2+len(reason)), wsOpClose, 2+len(reason))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}
