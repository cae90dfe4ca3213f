package feedserver

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// maxShutdownReport bounds the connections a shutdown names in its log
// when its drain timeout passes; the others are only counted.
const maxShutdownReport = 10

// httpConns follows the HTTP server's connections (http.Server's ConnContext
// and ConnState hooks) and the request each one is handling, so that a
// shutdown whose drain timeout passes can say what it waited for. A
// WebSocket, once upgraded, is hijacked and leaves it: it is a client then.
//
// It also closes, at shutdown, the connections that have not sent a request
// (closeNew).
type httpConns struct {
	mu      sync.Mutex
	conns   map[net.Conn]*httpConn
	closing bool // closeNew ran: a connection still accepted is closed at once
}

// httpConn is one connection as net/http sees it. Its fields are guarded by
// httpConns.mu.
type httpConn struct {
	remote   string
	opened   time.Time
	state    http.ConnState
	since    time.Time // when it entered state
	request  string    // "POST /publish/x" while a handler runs on it
	reqStart time.Time
}

type httpConnKey struct{}

// connContext is http.Server.ConnContext: it registers c, in StateNew, and
// puts its entry in the context its requests get (see handling).
func (h *httpConns) connContext(ctx context.Context, c net.Conn) context.Context {
	now := time.Now()
	hc := &httpConn{remote: c.RemoteAddr().String(), opened: now, state: http.StateNew, since: now}
	h.mu.Lock()
	if h.conns == nil {
		h.conns = make(map[net.Conn]*httpConn)
	}
	h.conns[c] = hc
	h.mu.Unlock()
	return context.WithValue(ctx, httpConnKey{}, hc)
}

// connState is http.Server.ConnState.
func (h *httpConns) connState(c net.Conn, state http.ConnState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hc, ok := h.conns[c]
	if !ok {
		return
	}
	if state == http.StateNew && h.closing {
		// Accepted as the listener closed: see closeNew.
		_ = c.Close()
		return
	}
	if state == http.StateHijacked || state == http.StateClosed {
		delete(h.conns, c)
		return
	}
	if hc.state != state {
		hc.state, hc.since = state, time.Now()
	}
}

// handling records that r is being handled on its connection, until the
// returned func is called.
func (h *httpConns) handling(r *http.Request) (done func()) {
	hc, ok := r.Context().Value(httpConnKey{}).(*httpConn)
	if !ok {
		return func() {}
	}
	h.mu.Lock()
	hc.request, hc.reqStart = r.Method+" "+r.URL.Path, time.Now()
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		hc.request = ""
		h.mu.Unlock()
	}
}

// httpConnReport is what a shutdown logs about the connections it could not
// close: each one's state, and the request being handled on it.
type httpConnReport struct {
	Remote  string
	State   string
	For     time.Duration // in that state
	Age     time.Duration // since accepted
	Request string        // "" if no handler runs on it
	Running time.Duration // the request's time in its handler
}

// busy reports the connections that are not idle, the longest in their
// state first, at most maxShutdownReport of them, and how many there are
// in each state.
func (h *httpConns) busy() (list []httpConnReport, byState map[string]int) {
	now := time.Now()
	byState = map[string]int{}
	h.mu.Lock()
	for _, hc := range h.conns {
		byState[hc.state.String()]++
		if hc.state == http.StateIdle {
			continue
		}
		r := httpConnReport{Remote: hc.remote, State: hc.state.String(), For: now.Sub(hc.since), Age: now.Sub(hc.opened)}
		if hc.request != "" {
			r.Request, r.Running = hc.request, now.Sub(hc.reqStart)
		}
		list = append(list, r)
	}
	h.mu.Unlock()
	slices.SortFunc(list, func(a, b httpConnReport) int { return cmp.Compare(b.For, a.For) })
	if len(list) > maxShutdownReport {
		list = list[:maxShutdownReport]
	}
	return list, byState
}

// closeNew is registered with http.Server.RegisterOnShutdown: Shutdown runs
// it once it has begun (it no longer starts a handler for a request it
// reads, on any connection). It closes the connections still in StateNew,
// accepted but without a byte of a request read, and from then on each one
// accepted as the listener closes; it returns how many it closed.
//
// Shutdown waits for those: it takes one for idle only once it is over 5 s
// old (Go issue 22682), or when ReadHeaderTimeout (HandshakeTimeout) cuts
// it; either is about the drain timeout, so a single socket that a client
// opened and has not used yet (an HTTP client's spare connection, a
// browser's preconnect, a port scan) held the shutdown to its drain timeout
// and made it report requests still in flight. Closing one loses nothing: a
// connection seen in StateNew after Shutdown began has its StateActive hook
// (which takes h.mu) run later, then net/http checks that it is shutting
// down and drops the request unanswered, so no handler runs on it; its
// client sees the connection closed before any answer, as it would anyway.
// The server speaks HTTP/1.1 only (Serve's Protocols): an HTTP/2 connection
// turns active without running the hook, and would look new.
func (h *httpConns) closeNew() int {
	h.mu.Lock()
	h.closing = true
	var fresh []net.Conn
	for c, hc := range h.conns {
		if hc.state == http.StateNew {
			fresh = append(fresh, c)
		}
	}
	h.mu.Unlock()
	for _, c := range fresh {
		_ = c.Close()
	}
	return len(fresh)
}
