package feedserver

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovecs is the most buffers one writev takes (Linux's IOV_MAX).
const maxIovecs = 1024

// tryWrite is write without waiting, for the wheel's goroutine
// (writer.turn): it lays out frames as write does and writes what the
// socket's buffer takes now. It reports whether bytes are left (sw.vec
// holds them: writeRest finishes, on a goroutine that may wait).
func (sw *socketWriter) tryWrite(rc syscall.RawConn, frames [][]byte, max int) (total int, more bool, err error) {
	total = sw.build(frames, max)
	sw.vec, sw.werr = sw.iov, nil
	if sw.try == nil {
		sw.try = sw.writevNow // one method value per socket writer, not one per write
	}
	if err := rc.Write(sw.try); err != nil {
		sw.dropBatch()
		return total, false, err
	}
	if sw.werr != nil {
		err := sw.werr
		sw.werr = nil
		sw.dropBatch()
		return total, false, err
	}
	if len(sw.vec) > 0 {
		return total, true, nil
	}
	sw.dropBatch()
	return total, false, nil
}

// writevNow is tryWrite's RawConn.Write function: it writes sw.vec until
// the socket would block. It always reports done, so RawConn.Write never
// waits for the socket to become writable.
func (sw *socketWriter) writevNow(fd uintptr) bool {
	for len(sw.vec) > 0 {
		iov := sw.iovecs[:0]
		for _, b := range sw.vec[:min(len(sw.vec), maxIovecs)] {
			if len(b) == 0 {
				continue
			}
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
		sw.iovecs = iov
		if len(iov) == 0 {
			sw.vec = sw.vec[:0]
			break
		}
		// The socket is non-blocking (the runtime's poller owns it): a
		// full buffer answers EAGAIN at once.
		n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		clear(sw.iovecs[:len(iov)]) // no pointers into frames kept past the write
		switch errno {
		case 0:
			consume(&sw.vec, int(n))
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			sw.werr = errno
		}
		break
	}
	return true
}

// writeRest writes what tryWrite left, waiting as write does (the caller
// has set the deadline).
func (sw *socketWriter) writeRest(nc net.Conn) error {
	_, err := sw.vec.WriteTo(nc)
	sw.dropBatch()
	return err
}

// dropBatch forgets the batch's vectors: they point into frames, which may
// be large.
func (sw *socketWriter) dropBatch() {
	sw.vec = nil
	clear(sw.iov)
	sw.iov = sw.iov[:0]
}

// consume drops the first n bytes of v.
func consume(v *net.Buffers, n int) {
	for len(*v) > 0 {
		l := len((*v)[0])
		if n < l {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= l
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}
