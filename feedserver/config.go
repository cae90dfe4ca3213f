package feedserver

import (
	"log/slog"
	"time"

	"tickwire/recovery"
)

// Config configures a Server. The zero value of each field selects the default
// given in its comment.
type Config struct {
	// Name identifies this node in Welcome frames and logs. Default "tickwire".
	Name string
	// Heartbeat is how often the server pings each client; a client silent for
	// three heartbeats is disconnected. Default 1s.
	Heartbeat time.Duration
	// HandshakeTimeout bounds the wait for a client's Hello. Default 5s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one batch write to a client. Default 5s.
	WriteTimeout time.Duration
	// MaxConnections caps concurrent client connections; more are refused with
	// CodeServerFull. Default 10000.
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
	// MaxControlBytes caps the sequenced (non-conflatable) bytes queued for one
	// client; past it the client is disconnected as a slow consumer. Default 1 MiB.
	MaxControlBytes int
	// MaxBadFrames is how many malformed frames a client may send before it is
	// disconnected. Default 10.
	MaxBadFrames int
	// Topics fix topic kinds by name pattern; first match wins. Default
	// DefaultTopicRules(). Unmatched topics are replaced quotes.
	Topics []TopicRule
	// StaleAfter is the default expected interval of a conflated topic's
	// source: silent for longer, the topic is marked stale. 0: never.
	StaleAfter time.Duration
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger

	// Journal keeps the events of sequenced topics: PublishEvents returns
	// once they are in it, and clients catch up and resume from it. The
	// caller opens it and closes it after Serve returns. Default: in memory
	// (recovery.NewMem), the newest 65,536 events per topic, lost on restart.
	Journal recovery.Journal
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

	// Authenticator checks every client's credential (Hello.Token; REST:
	// Authorization: Bearer) and gives its principal, whose entitlements
	// decide what it may subscribe to, publish and ask (auth.go,
	// docs/auth.md). Default nil: open mode, every client an anonymous
	// admin, and one WARN at start says so.
	Authenticator Authenticator

	// Requests makes topics request topics (requests.go): a PublishEvent on
	// one is handed to its handler, which answers it, instead of being
	// published. Keys are exact topic names, e.g. "requests.orders".
	// Default none.
	Requests map[string]RequestHandler
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
	defInt(&c.MaxConnections, 10000)
	defInt(&c.MaxTopicsPerClient, 1024)
	if c.MaxInboundMessage <= 0 {
		c.MaxInboundMessage = 64 << 10
	}
	defInt(&c.MaxOutboundMessage, 64<<10)
	defInt(&c.MaxControlBytes, 1<<20)
	defInt(&c.MaxBadFrames, 10)
	if c.Topics == nil {
		c.Topics = DefaultTopicRules()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
