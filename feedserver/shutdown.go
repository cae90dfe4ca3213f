package feedserver

import (
	"context"
	"net/http"
	"time"

	"tickwire/protocol"
)

// Graceful shutdown (docs/limits.md, "Shutdown"). When Serve's context ends:
//
//  1. /readyz answers 503 and new WebSocket and stream clients are refused
//     with CodeShutdown;
//  2. the listener closes; HTTP requests in flight (a POST /publish whose
//     journal append is underway) finish and get their answer, within the
//     drain timeout: an acknowledged publish is in the journal, and an
//     unanswered one was never read;
//  3. each client's queued frames are written, then the Error frame
//     CodeShutdown and a WebSocket close 1001 "going away": its client
//     reconnects, to this server's successor or another one, and resumes.
//     A message a client's reader is handling completes first; sequenced
//     events not yet written are resumed from the journal. A client that
//     does not take its frames within the drain timeout is cut;
//  4. Serve returns: the caller stops its sources and gateways, then closes
//     the journal, last.

// countInflight counts the HTTP requests being handled, for the shutdown's
// log. WebSocket upgrades and HTTP-stream downloads are connections, counted
// as clients instead. Each request is noted on its connection (httpConns),
// which the shutdown names if it is still busy at the drain timeout.
func (s *Server) countInflight(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.httpConns.handling(r)()
		if r.Method == http.MethodGet && (r.URL.Path == "/ws" || r.URL.Path == "/stream") {
			h.ServeHTTP(w, r)
			return
		}
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// shutdown runs steps 1 to 3 and returns when every connection is over,
// or when the drain timeout (plus the time a request handler may take) has
// passed.
func (s *Server) shutdown(hs *http.Server) {
	start := time.Now()
	drain := s.cfg.DrainTimeout
	s.mu.Lock()
	s.closing = true // /readyz 503; add refuses
	cs := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	_, httpConns := s.httpConns.busy()
	s.log.Info("shutdown: not ready, refusing new clients", "clients", len(cs), "http_in_flight", s.inflight.Load(),
		"http_connections", httpConns)

	// Shutdown closes the listener at once, closes idle keep-alive
	// connections, and waits for the requests in flight to be answered.
	hctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(hctx) }()

	for _, c := range cs {
		c.closeWithin(protocol.CodeShutdown, "server shutting down", drain)
	}
	s.log.Info("shutdown: listener closed, draining clients", "clients", len(cs), "drain_timeout", drain)

	conns := make(chan struct{})
	go func() {
		s.tracked.Wait() // no Add after closing: add refuses
		close(conns)
	}()
	// A client's reader may be inside a request handler (requests.go),
	// which has requestTimeout: wait for it past the drain.
	t := time.NewTimer(drain + requestTimeout)
	defer t.Stop()
	select {
	case <-conns:
	case <-t.C:
	}
	var drained, cut int // cut: gone by themselves, or cut at the drain timeout
	for _, c := range cs {
		if c.drained.Load() {
			drained++
		} else {
			cut++
		}
	}
	left := s.Stats().Connections
	s.log.Info("shutdown: clients closed", "drained", drained, "cut_or_gone", cut, "still_open", left, "elapsed", time.Since(start).Round(time.Millisecond))

	err := <-httpDone
	if err != nil {
		inflight := s.inflight.Load()
		busy, byState := s.httpConns.busy()
		_ = hs.Close()
		s.log.Warn("shutdown: HTTP requests still in flight after the drain timeout; closed", "in_flight", inflight,
			"connections", byState, "err", err)
		for _, b := range busy { // at most maxShutdownReport, the longest busy first
			args := []any{"remote", b.Remote, "state", b.State, "for", b.For.Round(time.Millisecond), "age", b.Age.Round(time.Millisecond)}
			if b.Request != "" {
				args = append(args, "request", b.Request, "running", b.Running.Round(time.Millisecond))
			}
			s.log.Warn("shutdown: HTTP connection still busy at the drain timeout", args...)
		}
	} else {
		s.log.Info("shutdown: HTTP requests finished", "elapsed", time.Since(start).Round(time.Millisecond))
	}
}
