package feedserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// HTTP streaming: the fallback transport for clients that cannot open a
// WebSocket (a proxy that refuses Upgrade). The same frames travel in the
// same messages, each message prefixed by its length:
//
//	GET  /stream              downstream: 200, header X-Tickwire-Stream: ID,
//	                          then a chunked body of [uint32 big-endian length][message]...
//	POST /stream/{id}         upstream: a body of one or more [length][message]; 204
//
// The stream ID is 128 random bits: knowing it is what lets a POST speak for
// the connection. The client must send its POSTs one at a time (the order of
// messages is the order of POSTs). The downstream response is the
// connection: when it ends, the connection ends, and the other way round.

// StreamIDHeader names the header carrying an HTTP stream's ID.
const StreamIDHeader = "X-Tickwire-Stream"

// StreamContentType is the media type of both directions of an HTTP stream.
const StreamContentType = "application/x-tickwire-stream"

// httpStream is the server side of one HTTP-streaming connection.
type httpStream struct {
	id     string
	w      http.ResponseWriter
	rc     *http.ResponseController
	remote net.Addr

	// Upstream: messages posted by the client, in order.
	in        chan []byte
	readLimit int64         // reader goroutine only
	deadline  time.Time     // reader goroutine only
	timer     *time.Timer   // reader goroutine only
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	// Downstream: the writer goroutine builds a batch in buf; Flush hands it
	// to the handler goroutine, the only one that touches the response, and
	// waits for the outcome. So the response is never used after the handler
	// returns, whatever the writer goroutine is doing.
	buf       []byte
	mw        streamMsg
	wdeadline time.Time // write deadline for the next Flush; writer goroutine only
	out       chan streamBatch
	res       chan error
}

type streamBatch struct {
	buf      []byte
	deadline time.Time
}

func newHTTPStream(w http.ResponseWriter, r *http.Request) *httpStream {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := &httpStream{
		id:   hex.EncodeToString(b[:]),
		w:    w,
		rc:   http.NewResponseController(w),
		in:   make(chan []byte, 16),
		done: make(chan struct{}),
		out:  make(chan streamBatch),
		res:  make(chan error, 1),
	}
	s.mw.s = s
	if a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		s.remote = a
	} else {
		s.remote = &net.TCPAddr{}
	}
	return s
}

func (s *httpStream) SetReadLimit(limit int64) { s.readLimit = limit }

func (s *httpStream) SetReadDeadline(t time.Time) error {
	s.deadline = t
	return nil
}

// errStreamTimeout is a net.Error timeout, so readFailed treats it as one.
type errStreamTimeout struct{}

func (errStreamTimeout) Error() string   { return "http stream: read deadline exceeded" }
func (errStreamTimeout) Timeout() bool   { return true }
func (errStreamTimeout) Temporary() bool { return true }

func (s *httpStream) ReadMessage() (int, []byte, error) {
	var expired <-chan time.Time
	if !s.deadline.IsZero() {
		d := time.Until(s.deadline)
		if d <= 0 {
			return 0, nil, errStreamTimeout{}
		}
		if s.timer == nil {
			s.timer = time.NewTimer(d)
		} else {
			s.timer.Reset(d)
		}
		defer s.timer.Stop()
		expired = s.timer.C
	}
	select {
	case m := <-s.in:
		if s.readLimit > 0 && int64(len(m)) > s.readLimit {
			return 0, nil, websocket.ErrReadLimit
		}
		return websocket.BinaryMessage, m, nil
	case <-s.done:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, errStreamTimeout{}
	}
}

func (s *httpStream) SetWriteDeadline(t time.Time) error {
	s.wdeadline = t
	return nil
}

// streamMsg is the writer of one downstream message: it appends to the
// stream's batch buffer after a length placeholder that Close fills in.
// One per stream, reused: writing allocates nothing once the buffer has grown.
type streamMsg struct {
	s     *httpStream
	start int
}

func (m *streamMsg) Write(p []byte) (int, error) {
	m.s.buf = append(m.s.buf, p...)
	return len(p), nil
}

func (m *streamMsg) Close() error {
	binary.BigEndian.PutUint32(m.s.buf[m.start:], uint32(len(m.s.buf)-m.start-4))
	return nil
}

func (s *httpStream) NextWriter(int) (io.WriteCloser, error) {
	select {
	case <-s.done:
		return nil, net.ErrClosed
	default:
	}
	s.mw.start = len(s.buf)
	s.buf = append(s.buf, 0, 0, 0, 0)
	return &s.mw, nil
}

// Flush has the handler goroutine write the batch as one chunk and push it
// to the client, and returns the outcome.
func (s *httpStream) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	select {
	case s.out <- streamBatch{buf: s.buf, deadline: s.wdeadline}:
	case <-s.done:
		return net.ErrClosed
	}
	err := <-s.res // the handler answers every batch it takes
	s.buf = s.buf[:0]
	return err
}

// serve writes the batches Flush hands over until the stream closes. It runs
// on the handler goroutine.
func (s *httpStream) serve() {
	for {
		select {
		case b := <-s.out:
			err := s.rc.SetWriteDeadline(b.deadline)
			if err == nil {
				_, err = s.w.Write(b.buf)
			}
			if err == nil {
				err = s.rc.Flush()
			}
			s.res <- err
		case <-s.done:
			return
		}
	}
}

func (s *httpStream) WriteControl(int, []byte, time.Time) error { return nil }

func (s *httpStream) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

func (s *httpStream) RemoteAddr() net.Addr { return s.remote }

// post delivers the messages of one upstream POST body, in order.
func (s *httpStream) post(body []byte, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for len(body) > 0 {
		if len(body) < 4 {
			return errors.New("truncated length prefix")
		}
		n := binary.BigEndian.Uint32(body)
		if uint64(n) > uint64(len(body)-4) {
			return fmt.Errorf("message of %d bytes, %d left in the body", n, len(body)-4)
		}
		msg := body[4 : 4+n]
		body = body[4+n:]
		select {
		case s.in <- msg:
		case <-s.done:
			return net.ErrClosed
		case <-t.C:
			return errors.New("connection not reading")
		}
	}
	return nil
}

// serveStream is GET /stream: it opens an HTTP-streaming connection and
// runs its writer on this handler's goroutine, which owns the response.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	st := newHTTPStream(w, r)
	c := newConn(s, st, "c"+strconv.FormatUint(s.nextID.Add(1), 10))
	c.startPings() // before anything else can see c (and shut it down)
	if reason := s.add(c); reason != "" {
		c.shutdown()
		c.logger().Warn("connection refused", "reason", reason, "transport", "http")
		http.Error(w, reason, http.StatusServiceUnavailable)
		return
	}
	s.streams.Store(st.id, st)
	defer s.streams.Delete(st.id)
	h := w.Header()
	h.Set("Content-Type", StreamContentType)
	h.Set(StreamIDHeader, st.id)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if err := st.rc.Flush(); err != nil {
		c.shutdown()
		c.untrack() // no reader was started to do it
		return
	}
	// The client going away cancels the request: end the connection.
	stop := context.AfterFunc(r.Context(), c.shutdown)
	defer stop()
	go c.read()
	// This goroutine owns the response until the connection ends; returning
	// ends the response.
	st.serve()
}

// serveStreamPost is POST /stream/{id}: upstream messages of a stream.
func (s *Server) serveStreamPost(w http.ResponseWriter, r *http.Request) {
	v, ok := s.streams.Load(r.PathValue("id"))
	if !ok {
		http.Error(w, "no such stream (it ended, or never existed)", http.StatusNotFound)
		return
	}
	st := v.(*httpStream)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxStreamPost))
	if err != nil {
		bodyError(w, err, "stream post") // 413 over Config.MaxStreamPost
		return
	}
	if err := st.post(body, s.cfg.WriteTimeout); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, net.ErrClosed) {
			code = http.StatusGone
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
