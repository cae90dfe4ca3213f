package feedserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"tickwire/auth"
	"tickwire/protocol"
	"tickwire/recovery"
	"tickwire/sessions"
)

// Server accepts WebSocket clients and streams the Hub's topics to them.
type Server struct {
	cfg      Config
	log      *slog.Logger
	hub      *Hub
	upgrader websocket.Upgrader
	nextID   atomic.Uint64

	encoders sync.Pool // *protocol.Encoder: shared so idle clients hold none
	inbufs   sync.Pool // *[]byte: inbound message buffers (Conn.readMessage)
	readbufs sync.Pool // *[]byte of readChunk: socket input not yet consumed (pooledConn)
	outbufs  sync.Pool // *[]byte: a batch gathered for a socket without writev (wsframe.go)
	sockets  sync.Pool // *socketWriter: held by running writers only
	decoders sync.Pool // *protocol.Decoder

	sentFrames atomic.Uint64 // frames written to all clients
	sentBytes  atomic.Uint64
	turns      atomic.Uint64 // publishers' turns (ServerStats.PublishTurns)
	// Rate-limited subscribers pull on a wheel's tick (wheel.go): one
	// wheel per core, each client on one, so the writes the wheels make
	// themselves (turn.go) use every core.
	wheels    []wheel
	nextWheel atomic.Uint32

	sessions *sessions.Store      // session.go
	registry *prometheus.Registry // served at /metrics (metrics.go)
	serving  atomic.Bool          // Serve is serving: /readyz
	state    atomic.Int32         // NodeState (nodestate.go)
	errSent  errorCounts          // Error frames sent, by code: /metrics
	streams  sync.Map             // HTTP streams by ID: *httpStream (httpstream.go)
	reloadMu sync.Mutex           // one behaviour reload at a time (behaviour.go)

	tracked   sync.WaitGroup  // one per connection added, done when it is over (Conn.untrack)
	inflight  atomic.Int64    // HTTP requests being handled, other than WebSocket upgrades and streams (Serve)
	httpConns httpConns       // the HTTP server's connections and their requests (httpconns.go)
	anonymous *auth.Principal // every client's principal in open mode (auth.go)

	mu    sync.Mutex
	conns map[*Conn]struct{} // every connection, before and after its Hello
	// Connections with a principal (Conn.admitted), against
	// Config.MaxConnections and MaxConnectionsPerAddr, and those awaiting
	// their Hello, against MaxPreHello and MaxPreHelloPerAddr: counts in
	// all, and per remote IP.
	admitted, preHello    int
	perAddr, preHelloAddr map[string]int
	closing               bool
	// conflatedGone sums the conflation counts of clients gone, so
	// tickwire_conflated_total does not fall when a client leaves.
	conflatedGone uint64
}

// New returns a Server with its own Hub.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		hub:          NewHub(cfg.Topics, cfg.StaleAfter),
		conns:        make(map[*Conn]struct{}),
		perAddr:      make(map[string]int),
		preHelloAddr: make(map[string]int),
		wheels:       make([]wheel, min(runtime.GOMAXPROCS(0), maxWheels)),
	}
	s.state.Store(int32(NodeBooting))
	s.anonymous = auth.Anonymous()
	s.hub.slots.max, s.hub.slots.perPub = cfg.MaxHubTopics, cfg.MaxTopicsPerPublisher
	s.hub.reclaimAfter = max(cfg.TopicReclaimAfter, 0)
	s.hub.idem = idemPolicy{events: uint64(cfg.IdempotencyEvents), window: cfg.IdempotencyWindow}
	if cfg.Journal != nil {
		s.hub.journal, s.hub.ownJournal = cfg.Journal, false
		if err := s.hub.loadJournalTopics(); err != nil {
			s.log.Error("list journal streams", "err", err)
		}
	} else if cfg.MemoryRetention != memJournalKeep || cfg.MemoryRetentionBytes != memJournalKeepBytes {
		s.hub.journal = recovery.NewMemRetaining(cfg.MemoryRetention, cfg.MemoryRetentionBytes)
	}
	s.hub.snapshotter = cfg.Snapshotter
	s.hub.onBehaviourFailure = func(f behaviourFailure) {
		s.log.Error("behaviour disabled for topic: its fields fall back to plain replacement until a reload",
			"topic", f.topic, "behaviour", f.behaviour, "reason", f.reason, "err", f.err)
		if f.alertErr != nil {
			s.log.Error("behaviour alert not published", "topic", AlertsTopic, "err", f.alertErr)
		}
	}
	s.registry = newRegistry(s)
	s.registry.MustRegister(newBehaviourCollector(s.hub))
	secret := cfg.SessionSecret
	if secret == nil {
		secret = sessions.NewSecret()
	}
	store, err := sessions.NewStore(sessions.Config{
		Secret: secret, Linger: cfg.SessionLinger, TakeoverTimeout: 2 * cfg.WriteTimeout,
		MaxLingering: 2 * cfg.MaxConnections, MaxLingeringBytes: cfg.MaxLingeringBytes, MaxLingeringPerHolder: cfg.MaxLingeringPerHolder,
	})
	if err != nil {
		panic("feedserver: Config.SessionSecret: " + err.Error()) // a programming error: LoadOrCreateSecret makes valid ones
	}
	s.sessions = store
	s.encoders.New = func() any { return protocol.NewEncoder() }
	s.inbufs.New = func() any { b := make([]byte, 0, 4<<10); return &b }
	s.outbufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	s.sockets.New = func() any { return new(socketWriter) }
	s.decoders.New = func() any { return protocol.NewDecoder() }
	s.upgrader = websocket.Upgrader{
		// The smallest read buffer: input is read in chunks from the
		// server's pool (Server.Listener), a message's payload straight
		// into its own buffer. Pooled write buffers: an idle connection
		// holds none.
		ReadBufferSize:  smallReadBuffer,
		WriteBufferSize: 16 << 10,
		WriteBufferPool: &sync.Pool{},
		// Server.guard has checked the Origin of every request (web.go).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.readbufs.New = func() any { b := make([]byte, readChunk); return &b }
	return s
}

// Hub returns the server's hub, where sources publish.
func (s *Server) Hub() *Hub { return s.hub }

// Handler returns the server's HTTP routes (with an Authenticator, every
// route but /ws, /stream (their Hello carries the credential), /healthz,
// /readyz and /metrics needs "Authorization: Bearer <credential>";
// /clients and /sources/* need an admin: auth.go). Every route refuses a
// foreign Origin, and in open mode a Host that is not an address or an
// allowed name; POST bodies must be JSON (web.go):
//
//	GET /ws            WebSocket endpoint (protocol v1)
//	GET /topics        JSON list of topics
//	GET /topics/{name} JSON snapshot of one topic
//	GET /clients       JSON stats of connected clients
//	GET /stats         JSON hub counters
//	GET /stream        HTTP-streaming fallback: downstream messages (httpstream.go)
//	POST /stream/{id}  HTTP-streaming fallback: upstream messages
//	POST /publish/{name}        publish a value (conflated) or an event (sequenced) as JSON
//	POST /sources/pause/{name}  drop the topic's source publishes (it goes stale)
//	POST /sources/resume/{name} accept them again
//	GET /healthz       liveness
//	GET /readyz        readiness: 200 while serving as Active or Standby, 503
//	                   while booting, syncing, switching or shutting down
//	GET /metrics       Prometheus metrics (metrics.go, docs/operations.md); with
//	                   authentication on, for the admin and metrics roles
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /topics", s.authed(s.serveTopics))
	mux.HandleFunc("GET /topics/{name}", s.authed(s.serveTopic))
	mux.HandleFunc("GET /clients", s.adminOnly(s.serveClients))
	mux.HandleFunc("GET /stats", s.metricsOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Stats()) })))
	mux.HandleFunc("POST /publish/{name}", requireType(jsonType, s.authed(s.servePublish)))
	mux.HandleFunc("POST /sources/pause/{name}", requireType(jsonType, s.adminOnly(s.servePause(true))))
	mux.HandleFunc("POST /sources/resume/{name}", requireType(jsonType, s.adminOnly(s.servePause(false))))
	mux.HandleFunc("GET /behaviours", s.authed(s.serveBehaviours))
	mux.HandleFunc("POST /behaviours/reload", requireType(jsonType, s.adminOnly(s.serveBehavioursReload)))
	mux.HandleFunc("GET /stream", s.serveStream)
	mux.HandleFunc("POST /stream/{id}", requireType(StreamContentType, s.serveStreamPost))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("GET /metrics", s.metricsOnly(s.metricsHandler()))
	for pattern, h := range s.cfg.AdminRoutes {
		if strings.HasPrefix(pattern, http.MethodPost+" ") {
			mux.HandleFunc(pattern, requireType(jsonType, s.adminOnly(h)))
			continue
		}
		mux.HandleFunc(pattern, s.adminOnly(h))
	}
	return s.guard(mux)
}

// Serve serves HTTP and WebSocket clients on ln until ctx is done, then
// shuts down gracefully (shutdown.go): it stops accepting, lets the HTTP
// requests in flight finish, flushes each client's queue, closes each with
// CodeShutdown, and returns once every connection is over or the drain
// timeout has passed. The caller closes the journal after it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// HTTP/1.1 only, TLS or not: WebSockets upgrade from it, and
	// httpConns.closeNew relies on every connection's state hooks.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	hs := &http.Server{
		Handler: s.countInflight(s.Handler()),
		// Slowloris: a client dribbling its request header is cut off.
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		ReadTimeout:       s.cfg.HTTPReadTimeout,
		IdleTimeout:       s.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext:       s.httpConns.connContext,
		ConnState:         s.httpConns.connState,
		Protocols:         &protocols,
	}
	hs.RegisterOnShutdown(func() {
		if n := s.httpConns.closeNew(); n > 0 {
			s.log.Info("shutdown: closed HTTP connections that had sent no request", "connections", n)
		}
	})
	if s.cfg.Authenticator == nil {
		s.log.Warn("authentication is disabled: every client is an anonymous admin (see docs/auth.md)")
	}
	errc := make(chan error, 1)
	s.serving.Store(true) // before Accept: the first request sees it
	if !s.cfg.Cluster && s.state.CompareAndSwap(int32(NodeBooting), int32(NodeActive)) {
		s.log.Info("node state", "state", NodeActive.String())
	}
	defer s.serving.Store(false)
	go func() { errc <- hs.Serve(s.Listener(ln)) }()
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		s.hub.Run(ctx)
	}()
	defer func() { <-hubDone }()
	select {
	case err := <-errc:
		s.SetNodeState(NodeStopping)
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.SetNodeState(NodeStopping)
	s.shutdown(hs)
	s.sessions.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already answered with an HTTP error.
		s.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	if tc, ok := tcpConn(conn.NetConn()); ok && s.cfg.SocketSendBuffer > 0 {
		// Bytes in kernel buffers are a queue the server cannot conflate:
		// keep it short so a slow client's data waits here, replaceable.
		_ = tc.SetWriteBuffer(s.cfg.SocketSendBuffer)
	}
	c := newConn(s, conn, "c"+strconv.FormatUint(s.nextID.Add(1), 10))
	// Pings start before the client is visible to the shutdown, which stops them.
	c.startPings()
	if reason := s.add(c); reason != "" {
		c.pinger.Stop()
		c.logger().Warn("connection refused", "reason", reason)
		code, status := protocol.CodeServerFull, websocket.CloseTryAgainLater
		if s.isClosing() {
			code, status = protocol.CodeShutdown, websocket.CloseGoingAway
		}
		b, _ := protocol.NewEncoder().Append(nil, &protocol.Error{Code: code, Reason: reason})
		s.errSent.inc(code)
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = conn.WriteMessage(websocket.BinaryMessage, b)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(status, reason), time.Now().Add(s.cfg.CloseTimeout))
		// Closed once the peer's Close answers ours, which needs no answer
		// (RFC 6455 §7.1.1), or after CloseTimeout.
		conn.SetCloseHandler(func(int, string) error { return nil })
		conn.SetPingHandler(func(string) error { return nil })
		_ = conn.SetReadDeadline(time.Now().Add(s.cfg.CloseTimeout))
		discardToClose(conn)
		_ = conn.Close()
		return
	}
	c.installControlHandlers(conn)
	// The handler returns; the reader goroutine keeps the connection, so the
	// HTTP server's per-request state is freed. The writer goroutine starts
	// when there is something to write.
	go c.read()
}

// add takes a new connection, awaiting its Hello, within the pre-Hello
// budget (Config.MaxPreHello, MaxPreHelloPerAddr). A server already full
// of connections with a principal refuses it at once rather than after
// its Hello.
func (s *Server) add(c *Conn) (refusal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return "server shutting down"
	}
	key := addrKey(c.addr)
	if r := s.full(key); r != "" {
		return r
	}
	if max := s.cfg.MaxPreHello; max > 0 && s.preHello >= max {
		return fmt.Sprintf("limit of %d connections awaiting their Hello reached", max)
	}
	if max := s.cfg.MaxPreHelloPerAddr; max > 0 && s.preHelloAddr[key] >= max {
		return fmt.Sprintf("per-address limit of %d connections awaiting their Hello reached for %s", max, key)
	}
	s.conns[c] = struct{}{}
	s.preHello++
	s.preHelloAddr[key]++
	s.tracked.Add(1)
	return ""
}

// admit counts c, whose Hello was just authenticated, against the
// connection caps instead of the pre-Hello budget, or refuses it.
func (s *Server) admit(c *Conn) (refusal string) {
	key := addrKey(c.addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok || c.admitted {
		return "" // already gone (shut down meanwhile), or admitted before
	}
	if r := s.full(key); r != "" {
		return r
	}
	s.preHello--
	decrement(s.preHelloAddr, key)
	c.admitted = true
	s.admitted++
	s.perAddr[key]++
	return ""
}

// full says why a connection with a principal from the IP key would be
// over the connection caps, or "". Under s.mu.
func (s *Server) full(key string) string {
	if s.admitted >= s.cfg.MaxConnections {
		return fmt.Sprintf("connection limit %d reached", s.cfg.MaxConnections)
	}
	if max := s.cfg.MaxConnectionsPerAddr; max > 0 && s.perAddr[key] >= max {
		return fmt.Sprintf("per-address connection limit %d reached for %s", max, key)
	}
	return ""
}

func (s *Server) remove(c *Conn) {
	conflated := c.queue.stats().conflated // before s.mu: never hold it with a queue lock
	key := addrKey(c.addr)
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.conflatedGone += conflated
		if c.admitted {
			s.admitted--
			decrement(s.perAddr, key)
		} else {
			s.preHello--
			decrement(s.preHelloAddr, key)
		}
	}
	s.mu.Unlock()
}

// decrement lowers m[key], deleting it at zero.
func decrement(m map[string]int, key string) {
	if m[key]--; m[key] <= 0 {
		delete(m, key)
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// ServerStats are server-wide counters.
type ServerStats struct {
	HubStats
	Connections int // all connections, PreHello included
	PreHello    int // connections whose Hello has not been accepted yet
	SentFrames  uint64
	SentBytes   uint64
	// Pulled: versions rate-limited subscribers took on the wheel's tick
	// (Enqueued counts the offers to the others).
	Pulled uint64
	// PublishTurns: subscribers' writes a publisher of sequenced events
	// made itself, their writers being idle (turn.go).
	PublishTurns uint64
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	n, pre := len(s.conns), s.preHello
	s.mu.Unlock()
	return ServerStats{HubStats: s.hub.Stats(), Connections: n, PreHello: pre, SentFrames: s.sentFrames.Load(), SentBytes: s.sentBytes.Load(), Pulled: s.pulled(), PublishTurns: s.turns.Load()}
}

// Conns returns the stats of every connection, sorted by ID.
func (s *Server) Conns() []ConnStats {
	s.mu.Lock()
	cs := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	out := make([]ConnStats, len(cs))
	for i, c := range cs {
		out[i] = c.Stats()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// writeJSON answers v as JSON, or 500 naming why it cannot be encoded:
// never a 200 with an empty body.
func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(data, '\n'))
}

// serveTopics lists the topics the principal may subscribe to.
func (s *Server) serveTopics(w http.ResponseWriter, _ *http.Request, pr *auth.Principal) {
	all := s.hub.Topics()
	out := all[:0]
	for _, t := range all {
		if pr.CanSubscribe(t.Name) {
			out = append(out, t)
		}
	}
	writeJSON(w, out)
}

// serveTopic answers a topic's value; a topic the principal may not see is
// answered exactly like one that has no value.
func (s *Server) serveTopic(w http.ResponseWriter, r *http.Request, pr *auth.Principal) {
	name := r.PathValue("name")
	p, ok := s.hub.Latest(name)
	if !pr.CanSubscribe(name) {
		s.log.Warn("not entitled", "subject", pr.Subject, "remote", r.RemoteAddr, "action", "GET /topics", "topic", name)
		ok = false
	}
	if !ok {
		http.Error(w, fmt.Sprintf("no value for topic %q", name), http.StatusNotFound)
		return
	}
	fields := make(map[string]float64, p.Quote.Set.Count())

	for f := protocol.Field(0); f < protocol.NumFields; f++ {
		if v, ok := p.Quote.Get(f); ok {
			fields[f.String()] = v
		}
	}
	// age_ms: since the server stored the value, by its own clock.
	out := map[string]any{"topic": p.Topic, "seq": p.Seq, "time": time.Unix(0, p.Time).UTC(), "stale": p.Flags&protocol.FlagStale != 0,
		"age_ms": (s.hub.clock() - p.Stored) / 1e6, "fields": fields}
	if p.Flags&protocol.FlagBehaviourOff != 0 {
		out["behaviour_off"] = true // a behaviour of the topic failed (docs/behaviours.md)
	}
	writeJSON(w, out)
}

// serveClients answers GET /clients: the endpoint keeps its name (operators
// and tests use it), though it lists connections (Conns).
func (s *Server) serveClients(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Conns())
}
