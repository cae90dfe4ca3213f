package feedserver

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"tickwire/recovery"
)

// Config configures a Server. The zero value of each field selects the default
// given in its comment.
type Config struct {
	// Name identifies this node in Welcome frames and logs. Default "tickwire".
	Name string
	// Heartbeat is how often the server pings each client; a client silent for
	// IdleTimeout (default three heartbeats) is disconnected. Default 1s.
	Heartbeat time.Duration
	// HandshakeTimeout bounds the wait for a client's Hello, and for an HTTP
	// request's header (slowloris). Default 5s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one batch write to a client: a write starts with
	// between half of it and all of it left (the deadline is renewed once
	// half has passed, not per write). Default 5s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the WebSocket close handshake: writing the
	// server's Close, then waiting for the peer's before the connection is
	// closed (a peer that does not answer is cut after it). Default 1s.
	CloseTimeout time.Duration
	// MaxConnections caps concurrent client connections with a principal
	// (their Hello accepted); more are refused with CodeServerFull. A
	// connection awaiting its Hello counts against MaxPreHello instead, so
	// sockets that never authenticate cannot crowd traders out. Default 10000.
	MaxConnections int
	// MaxTopicsPerClient caps one client's subscriptions. Default 1024.
	MaxTopicsPerClient int
	// MaxInboundMessage caps the size of a message from a client. Default 64 KiB.
	MaxInboundMessage int64
	// MaxOutboundMessage is the size at which the writer starts a new WebSocket
	// message when coalescing frames. Default 64 KiB.
	MaxOutboundMessage int
	// SocketSendBuffer, if set, fixes each client socket's kernel send
	// buffer (bytes; Linux doubles it). Data in kernel buffers cannot be
	// conflated and ages there; a small buffer keeps a slow client's data in
	// its conflating queue instead, at some cost to burst throughput.
	// Default 0: the kernel's autotuning.
	SocketSendBuffer int
	// FlushInterval, if set, is the least time between two writes to one
	// client: frames published meanwhile gather into one write. It trades up
	// to that much latency for far fewer syscalls with many clients. Default 0.
	FlushInterval time.Duration
	// CoalesceWindow, if set, is the adaptive coalescing window of a
	// client's writer: when the writer finds itself behind a sequenced topic
	// (two or more of its events waiting at one wake-up: the writer did not
	// get to run between two publishes, the server is short of CPU), it
	// waits this long after that write before gathering the next batch, so
	// that the events arriving meanwhile share one write: fewer system calls
	// per delivered event. A writer that keeps up (one event per wake-up)
	// never waits, nor one that has a full batch's worth queued (a
	// catch-up), nor one whose last batch came out of a window. Each wait
	// adds at most CoalesceWindow to the latency of what arrives during it
	// (replies and pings included). Default 0: off. At most
	// MaxCoalesceWindow (larger values are lowered to it).
	CoalesceWindow time.Duration
	// MaxControlBytes caps the sequenced (non-conflatable) bytes queued for one
	// client; past it the client is disconnected as a slow consumer. Default 1 MiB.
	MaxControlBytes int
	// MaxWriteBatch caps the bytes one wake-up of a client's writer gathers
	// for one write, across all its subscriptions: sequenced events are read
	// up to it (at least one event per wake-up), the rest on the next. It
	// bounds what a client catching up holds while its write is in flight
	// (a stalled write holds it until WriteTimeout). Default 256 KiB.
	MaxWriteBatch int
	// MaxBadFrames is how many malformed frames a client may send before it is
	// disconnected. Default 10.
	MaxBadFrames int
	// Topics fix topic kinds by name pattern; first match wins. Default
	// DefaultTopicRules(). Unmatched topics are replaced quotes.
	Topics []TopicRule
	// ReloadBehaviours reloads the modules of the rules' behaviours, all or
	// nothing (behaviour.Runtime.Reload): SIGHUP and POST /behaviours/reload
	// (Server.ReloadBehaviours). nil: reloads are refused.
	ReloadBehaviours func(context.Context) error
	// StaleAfter is the default expected interval of a conflated topic's
	// source: silent for longer, the topic is marked stale. 0: never.
	StaleAfter time.Duration
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Cluster: the server is one node of a cluster. Its state is set by
	// the HA driver (SetNodeState; Serve does not make it Active), and
	// every Welcome and Pong carry the state as the node's role ("active",
	// "standby"...), so a trader sees which role its node has and learns of
	// a switch within a round trip. Default false: a single node, Active
	// once serving, its frames as before.
	Cluster bool
	// AdminRoutes are more operator endpoints, by ServeMux pattern (e.g.
	// "POST /cluster/voters"): admins only, like /clients; a POST's body
	// must be JSON. A cluster node's membership endpoints. Default none.
	AdminRoutes map[string]http.HandlerFunc

	// Journal keeps the events of sequenced topics: PublishEvents returns
	// once they are in it, and clients catch up and resume from it. The
	// caller opens it and closes it after Serve returns. Default: in memory
	// (recovery.NewMemRetaining), the newest MemoryRetention events and
	// MemoryRetentionBytes per topic, lost on restart.
	Journal recovery.Journal
	// MemoryRetention is how many events per topic the default in-memory
	// Journal keeps at least (at most twice that: recovery.NewMemRetaining),
	// unless MemoryRetentionBytes says fewer. Default 65,536. Ignored when
	// Journal is set (a journal applies its own retention).
	MemoryRetention int
	// MemoryRetentionBytes bounds the payload bytes per topic of the default
	// in-memory Journal the same way: at least this much of the newest
	// events is kept, at most twice that (or the one newest event). Default
	// 8 MiB. Ignored when Journal is set.
	MemoryRetentionBytes int
	// IdempotencyWindow is how long a sequenced topic remembers a keyed
	// publish (REST Idempotency-Key, PublishEvent.Key), durably with
	// Journal: a retry within it stores nothing and gets the original
	// position. Default 5 minutes.
	IdempotencyWindow time.Duration
	// IdempotencyEvents bounds the same window in events: a key is
	// remembered only while its event is among the topic's newest
	// IdempotencyEvents events (which bounds each topic's index, and its
	// rebuild from the journal after a start). Default 16,384.
	IdempotencyEvents int
	// Snapshotter gives the state of a sequenced topic to clients whose
	// position cannot be continued (history lost). Default none: they get
	// the history-lost marker and every event still retained.
	Snapshotter StateSnapshotter
	// SessionSecret keys the resume tokens' HMAC: at least 32 bytes
	// (sessions.LoadOrCreateSecret keeps one in the data directory). Default:
	// random per process, so tokens do not outlive it; positions do, with a
	// durable Journal.
	SessionSecret []byte
	// SessionLinger is how long a disconnected client's session (its
	// subscriptions and positions) is kept for it to resume. Default 30s;
	// negative: sessions end with their connection.
	SessionLinger time.Duration
	// MaxLingeringBytes caps the memory of all lingering sessions (names,
	// positions, settings; 2 x MaxConnections of them at most). Past it the
	// oldest session of whoever holds the most is dropped early. Default
	// 128 MiB.
	MaxLingeringBytes int64
	// MaxLingeringPerHolder caps the memory of the lingering sessions of one
	// holder: one authenticated subject, or one remote address of anonymous
	// clients (open mode; behind a proxy, the proxy's). Past it that holder's
	// oldest are dropped early, nobody else's. Default 16 MiB.
	MaxLingeringPerHolder int64

	// Authenticator checks every client's credential (Hello.Token; REST:
	// Authorization: Bearer) and gives its principal, whose entitlements
	// decide what it may subscribe to, publish and ask (auth.go,
	// docs/auth.md). Default nil: open mode, every client an anonymous
	// admin, and one WARN at start says so.
	Authenticator Authenticator

	// AllowedOrigins are the web origins ("https://dash.example.com":
	// scheme, host, port) whose pages may open a WebSocket to the server,
	// besides its own origin. A request whose Origin header is another is
	// refused 403 (web.go); a request without one (not from a browser)
	// passes. Default none: same-origin only.
	AllowedOrigins []string
	// AllowedHosts are the names (without port) this server answers to in
	// open mode, besides IP addresses and localhost: a request with another
	// Host is refused 403, so a DNS-rebinding page cannot reach it under its
	// own name. Ignored with an Authenticator. Default none.
	AllowedHosts []string

	// Requests makes topics request topics (requests.go): a PublishEvent on
	// one is handed to its handler, which answers it, instead of being
	// published. Keys are exact topic names, e.g. "requests.orders".
	// Default none.
	Requests map[string]RequestHandler

	// Limits against hostile or broken clients, and the shutdown's drain
	// (docs/limits.md).

	// MaxConnectionsPerAddr caps concurrent connections with a principal
	// from one remote IP address; more are refused with CodeServerFull.
	// Default 0: unlimited (behind a proxy every client has the proxy's
	// address; the bench opens thousands from 127.0.0.1).
	MaxConnectionsPerAddr int
	// MaxPreHello caps connections (WebSocket or HTTP stream) that have not
	// yet had their Hello accepted; more are refused with CodeServerFull.
	// Each lasts at most HandshakeTimeout; a legitimate client's lasts a
	// round trip. Default 1024; negative: unlimited.
	MaxPreHello int
	// MaxPreHelloPerAddr caps those from one remote IP address, so one
	// address cannot take the whole MaxPreHello. Default 64; negative:
	// unlimited (a bench opening thousands of connections from 127.0.0.1
	// at once).
	MaxPreHelloPerAddr int
	// IdleTimeout disconnects (CodeIdle) a client that has said Hello and
	// sent nothing, not even a Pong, for this long. It also bounds reading
	// one message, so a message dribbled in forever is cut off. Default
	// three heartbeats. (The deadline is renewed only when it moves by
	// more than a millisecond: the cut may come up to 1 ms early.)
	IdleTimeout time.Duration
	// SubscribeRate caps a client's subscription changes (each topic of a
	// Subscribe or Unsubscribe counts one) per second, in a token bucket of
	// SubscribeBurst. A frame over it is refused whole with
	// CodeRateLimited; a client that keeps on is disconnected with
	// CodeFlood. Default 100; negative: unlimited.
	SubscribeRate float64
	// SubscribeBurst is the subscription changes a client may make at once.
	// Default twice MaxTopicsPerClient, so a (re)connecting client can
	// subscribe to its whole set in one go.
	SubscribeBurst int
	// HTTPReadTimeout bounds reading one HTTP request, its body included
	// (REST calls, HTTP-stream POSTs). WebSockets and the HTTP stream's
	// download are not bound by it. Default 10s.
	HTTPReadTimeout time.Duration
	// HTTPIdleTimeout closes a keep-alive HTTP connection idle this long.
	// Default 60s.
	HTTPIdleTimeout time.Duration
	// MaxHeaderBytes caps an HTTP request's header (431 past it). Default 16 KiB.
	MaxHeaderBytes int
	// MaxPublishBody caps a POST /publish body (413 past it). Default 64 KiB.
	MaxPublishBody int64
	// MaxStreamPost caps a POST /stream/{id} body (413 past it). Default 1 MiB.
	MaxStreamPost int64
	// MaxHubTopics caps the topics holding a value or a history: a client's
	// publish (WebSocket or REST) that would make one more is refused with
	// CodeTopicLimit (REST: 429). The server's own sources (replay, FIX
	// gateway) are never refused; their topics count. Topics that only
	// subscribers made are bounded by MaxTopicsPerClient instead. Default
	// 100,000.
	MaxHubTopics int
	// MaxTopicsPerPublisher caps the topics one publisher made that still
	// exist, the same way: a publisher is a principal's subject, or in open
	// mode a remote IP address. Publishing to existing topics goes on.
	// Default 10,000.
	MaxTopicsPerPublisher int
	// TopicReclaimAfter forgets a conflated topic nobody published to for
	// this long and nobody subscribes to (unless an operator paused it),
	// giving back its slot: a later subscriber sees no such topic until its
	// next value, whose seq starts again at 1. Default 1h; negative: never.
	TopicReclaimAfter time.Duration
	// DrainTimeout bounds a graceful shutdown's flush of each client's
	// queued frames and the HTTP requests in flight. Default 5s.
	DrainTimeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Name == "" {
		c.Name = "tickwire"
	}
	def(&c.Heartbeat, time.Second)
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.CloseTimeout, time.Second)
	defInt(&c.MaxConnections, 10000)
	if c.MaxPreHello == 0 {
		c.MaxPreHello = 1024
	}
	if c.MaxPreHelloPerAddr == 0 {
		c.MaxPreHelloPerAddr = 64
	}
	defInt(&c.MaxTopicsPerClient, 1024)
	if c.MaxInboundMessage <= 0 {
		c.MaxInboundMessage = 64 << 10
	}
	defInt(&c.MaxOutboundMessage, 64<<10)
	defInt(&c.MaxControlBytes, 1<<20)
	defInt(&c.MaxWriteBatch, defaultWriteBatch)
	c.CoalesceWindow = min(max(c.CoalesceWindow, 0), MaxCoalesceWindow)
	defInt(&c.MaxBadFrames, 10)
	defInt(&c.MemoryRetention, memJournalKeep)
	defInt(&c.MemoryRetentionBytes, memJournalKeepBytes)
	def(&c.IdempotencyWindow, idemWindow)
	defInt(&c.IdempotencyEvents, idemEvents)
	def(&c.IdleTimeout, 3*c.Heartbeat)
	if c.SubscribeRate == 0 {
		c.SubscribeRate = 100
	}
	defInt(&c.SubscribeBurst, 2*c.MaxTopicsPerClient)
	def(&c.HTTPReadTimeout, 10*time.Second)
	def(&c.HTTPIdleTimeout, 60*time.Second)
	defInt(&c.MaxHeaderBytes, 16<<10)
	if c.MaxPublishBody <= 0 {
		c.MaxPublishBody = 64 << 10
	}
	if c.MaxStreamPost <= 0 {
		c.MaxStreamPost = 1 << 20
	}
	def(&c.DrainTimeout, 5*time.Second)
	defInt(&c.MaxHubTopics, 100_000)
	defInt(&c.MaxTopicsPerPublisher, 10_000)
	if c.TopicReclaimAfter == 0 {
		c.TopicReclaimAfter = time.Hour
	}
	if c.Topics == nil {
		c.Topics = DefaultTopicRules()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
