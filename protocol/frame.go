package protocol

import "fmt"

// FrameType is the first element of every frame.
type FrameType uint8

// Frame types of protocol version 1.
const (
	TypeHello        FrameType = 1  // client -> server: first frame of a connection
	TypeWelcome      FrameType = 2  // server -> client: answer to Hello
	TypeSubscribe    FrameType = 3  // client -> server: add topics
	TypeUnsubscribe  FrameType = 4  // client -> server: drop topics
	TypeSnapshot     FrameType = 5  // server -> client: the full value of a topic
	TypeUpdate       FrameType = 6  // server -> client: the fields that changed since the previous sequence
	TypePing         FrameType = 7  // either way: liveness and RTT probe
	TypePong         FrameType = 8  // either way: answer to Ping, echoing its nonce
	TypeError        FrameType = 9  // server -> client: a refusal or failure with a reason
	TypeEvent        FrameType = 10 // server -> client: one event of a sequenced topic
	TypeTelemetry    FrameType = 11 // client -> server: what the client observes (lag, queue)
	TypePublish      FrameType = 12 // publisher -> server: a value for a conflated topic
	TypePublishEvent FrameType = 13 // publisher -> server: an event for a sequenced topic
	TypeLimits       FrameType = 14 // client -> server: the session's bandwidth budget
)

// String returns the frame type's name.
func (t FrameType) String() string {
	switch t {
	case TypeHello:
		return "Hello"
	case TypeWelcome:
		return "Welcome"
	case TypeSubscribe:
		return "Subscribe"
	case TypeUnsubscribe:
		return "Unsubscribe"
	case TypeSnapshot:
		return "Snapshot"
	case TypeUpdate:
		return "Update"
	case TypePing:
		return "Ping"
	case TypePong:
		return "Pong"
	case TypeError:
		return "Error"
	case TypeEvent:
		return "Event"
	case TypeTelemetry:
		return "Telemetry"
	case TypePublish:
		return "Publish"
	case TypePublishEvent:
		return "PublishEvent"
	case TypeLimits:
		return "Limits"
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// Frame is any decoded frame: *Hello, *Welcome, *Subscribe, *Price, *Ping,
// *Pong, *Error, *Event, *Telemetry or *Limits.
type Frame interface {
	FrameType() FrameType
}

// Hello opens a session. It must be the first frame a client sends.
type Hello struct {
	Version     uint32 // protocol version the client speaks
	Client      string // free-form client name and version, for logs
	Token       string // credential: a signed token or an API key (docs/auth.md); empty where the server runs without authentication
	ResumeToken string // token from an earlier Welcome to resume that session; empty for new
}

// Welcome accepts a Hello.
type Welcome struct {
	Version     uint32 // protocol version the server chose
	SessionID   string // identifies the session in logs and stats
	Server      string // server node name
	HeartbeatMs uint32 // the server pings this often; silence for 3x means the link is dead
	ResumeToken string // present this in a later Hello to resume the session
	// Resumed: the Hello's resume token named a session this server still
	// held, and this connection continues it (its subscriptions, settings and
	// sequenced cursors). False for a new session. Trailing element, sent
	// when true or when ServerTime follows it.
	Resumed bool
	// ServerTime is the server's clock (Unix ns) when it made the Welcome:
	// with the handshake's round trip it lets the client tell the server's
	// time, and so the age of each value (Price.Stored), without comparing
	// clocks. 0: not sent (an older server). Trailing element.
	ServerTime int64
	// Role is the node's role in its cluster when it made the Welcome:
	// "active" (it runs the order gateway), "standby" (an edge: it serves
	// the same streams, forwards order requests), or another node state
	// ("syncing", "switching"). "" : not sent (an older or a single node
	// that does not say). Trailing element; Pong carries later changes.
	Role string
}

// Subscribe adds topics to the session (TypeSubscribe) or, with Unsubscribe set,
// removes them (TypeUnsubscribe).
type Subscribe struct {
	Unsubscribe bool
	Topics      []string
	// MinIntervalMs asks for at most one update per this many milliseconds on
	// each conflated topic of the frame (250 = 4/s); 0 means as fast as they
	// come. The server meets it by conflating. Sequenced topics ignore it.
	MinIntervalMs uint32
	// Positions says where the client is in some of the frame's sequenced
	// topics: the server continues each after its position, exactly. A
	// sequenced topic without a position starts from the beginning of its
	// history (or, on a resumed session already subscribed to it, where the
	// session was). Trailing element, sent only when not empty; at most
	// MaxTopicsPerSub entries.
	Positions []StreamPosition
}

// StreamPosition is a client's position in one sequenced topic: the last
// event it received (Seq) and the epoch of the history it came from. The zero
// Seq with an empty Epoch means "nothing received yet".
type StreamPosition struct {
	Topic string
	Seq   uint64
	Epoch string
}

// Limits sets the session's bandwidth budget, MaxBytesPerSec (0, the
// default: none). Each Limits replaces the previous one; a resumed session
// keeps it. Over the budget the server defers conflated values (a newer
// value replaces a deferred one, so the client gets the latest when the
// budget allows); sequenced events are never deferred or dropped, but their
// bytes count against it. A topic's update rate is Subscribe.MinIntervalMs.
type Limits struct {
	MaxBytesPerSec uint64
}

// Telemetry is what a client reports of its own view, every few seconds: the
// server shows it in its per-client stats.
type Telemetry struct {
	LagMicros uint64 // p99 of observed data age (receive time - value time) since the last report
	Queue     uint32 // events received but not yet consumed by the application
	Received  uint64 // frames received in this session
}

// Event is one event of a sequenced topic (orders, fills, alerts): delivered
// to every subscriber, in order, never conflated. As TypePublishEvent a
// publisher sends one to the server, which assigns Seq and Epoch.
type Event struct {
	Type  FrameType // TypeEvent or TypePublishEvent
	Topic string
	Epoch string // the topic's history epoch: sequence numbers compare only within it
	Seq   uint64 // per-topic sequence, contiguous from 1 within an epoch
	Time  int64  // Unix ns
	Data  []byte // application payload (msgpack); the state itself with EventSnapshot
	// Flags mark recovery frames (server to client only). Trailing element,
	// sent only when not zero (or when Key follows).
	Flags EventFlags
	// Key (PublishEvent only) is the publish's idempotency key: a publish
	// whose key the server still remembers for the topic is not stored
	// again (docs/protocol.md, "Idempotent publishes"). 1..MaxKeyLen
	// printable ASCII bytes (ValidKey), or "" for none. Trailing element
	// after Flags, sent only when set: a server that predates it skips it
	// and stores every publish.
	Key string
}

// MaxKeyLen bounds an idempotency key (Event.Key, REST's Idempotency-Key).
const MaxKeyLen = 128

// ValidKey reports why k is not a valid idempotency key, or nil: keys are
// 1..MaxKeyLen bytes of printable ASCII, space excluded.
func ValidKey(k string) error {
	if k == "" || len(k) > MaxKeyLen {
		return fmt.Errorf("idempotency key of %d bytes: want 1..%d", len(k), MaxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return fmt.Errorf("idempotency key has byte %#x at %d: want printable ASCII without spaces", k[i], i)
		}
	}
	return nil
}

// EventFlags qualify an Event frame. A plain event has none.
type EventFlags uint8

// Event flags.
const (
	// EventHistoryLost: the server could not continue the client's stream
	// from the position it asked for (history trimmed, or another epoch, or
	// an impossible position). Nothing is being replayed for what was
	// missed: this frame is a marker at Seq, the next event is Seq+1.
	EventHistoryLost EventFlags = 1 << iota
	// EventSnapshot: Data is not an event but the full state of the topic
	// (e.g. every order of an account) as of Seq in Epoch, from the server's
	// state snapshotter. Always sent with EventHistoryLost.
	EventSnapshot
)

// String joins the names of the set flags with "|", e.g.
// "HistoryLost|Snapshot"; "0" when none is set.
func (f EventFlags) String() string { return flagString(uint8(f), "HistoryLost", "Snapshot") }

// Ping probes liveness; the peer answers with a Pong carrying the same Nonce.
// Senders put their monotonic send time in Nonce to measure RTT.
type Ping struct{ Nonce int64 }

// Pong answers a Ping. A server's Pong also carries its clock.
type Pong struct {
	Nonce int64
	// ServerTime is the server's clock (Unix ns) when it answered: the
	// client's estimate of the server's time, refreshed every round trip
	// (see Welcome.ServerTime). 0: not sent (a client's Pong, an older
	// server). Trailing element.
	ServerTime int64
	// Role is the server node's role now (see Welcome.Role): a client
	// learns of a switch (standby to active) within a round trip. "": not
	// sent. Trailing element.
	Role string
}

// Flags qualify a Price frame.
type Flags uint8

// Price flags.
const (
	// FlagStale: the topic's upstream source has gone silent beyond its expected
	// interval. The value is the last one known, not a current one.
	FlagStale Flags = 1 << iota
	// FlagGap: values were skipped (e.g. while the client was disconnected); this
	// is the latest value, not the next one.
	FlagGap
	// FlagSimulated: the topic comes from a simulator, not a real source.
	FlagSimulated
	// FlagBehaviourOff: the topic's behaviour (a WebAssembly merge,
	// docs/behaviours.md) failed and is disabled: the fields it derived are
	// replaced by what the source publishes, or stay as they were, until an
	// operator reloads it. A decoder of an earlier revision ignores the bit.
	FlagBehaviourOff
)

// String joins the names of the set flags with "|", e.g. "Stale|Gap"; "0"
// when none is set.
func (f Flags) String() string {
	return flagString(uint8(f), "Stale", "Gap", "Simulated", "BehaviourOff")
}

// flagString names the bits of v set, lowest first (names[i] for bit i; an
// unnamed bit as hex), joined with "|".
func flagString(v uint8, names ...string) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for i := range 8 {
		bit := uint8(1) << i
		if v&bit == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, '|')
		}
		if i < len(names) {
			b = append(b, names[i]...)
		} else {
			b = fmt.Appendf(b, "%#x", bit)
		}
	}
	return string(b)
}

// Price carries a topic's value: a Snapshot holds every field the topic has, an
// Update only the fields that changed since sequence Seq-1 (or, on a merge
// topic, the merged input since the client's last update). Quote.Set says which
// fields are present. As TypePublish a publisher sends one to the server.
type Price struct {
	Type  FrameType // TypeSnapshot, TypeUpdate or TypePublish
	Ops   Ops       // Snapshot only: how Updates combine with the value (0 = replace)
	Topic string
	Seq   uint64 // per-topic sequence of the value, starting at 1
	Time  int64  // source time of the value, Unix nanoseconds
	Flags Flags
	Quote Quote
	// Stored is the server's clock (Unix ns) when it stored the value
	// (Snapshot and Update only; a stale mark keeps the value's): with the
	// server's time (Welcome, Pong) the client knows the value's age from
	// the server's clock alone. 0: not sent (an older server). On the wire a
	// trailing element, Stored-Time in microseconds, so it costs a byte or
	// three where the server stamps its sources' times itself.
	Stored int64
}

// ErrorCode classifies an Error frame.
type ErrorCode uint16

// Error codes. Codes below 2000 leave the connection open; codes from 2000 on
// are sent just before the server closes it.
const (
	CodeBadFrame      ErrorCode = 1000 // a frame could not be decoded; it was ignored
	CodeBadTopic      ErrorCode = 1001 // a topic name is invalid
	CodeUnexpected    ErrorCode = 1002 // a valid frame at the wrong time (e.g. Subscribe before Hello)
	CodeTooManyTopics ErrorCode = 1003 // the subscription limit was reached
	CodeBadPublish    ErrorCode = 1004 // a publish was refused (reason says why)
	CodeBadResume     ErrorCode = 1005 // the resume token is invalid (forged, damaged): a new session was started instead
	CodeBadPosition   ErrorCode = 1006 // a Subscribe position is impossible (ahead of the history, no epoch, not a sequenced topic)
	CodeNotEntitled   ErrorCode = 1007 // the principal may not subscribe or publish to the topic; same reason whether or not it exists
	CodeBadVersion    ErrorCode = 2000 // Hello asked for a version the server does not speak
	CodeHelloRequired ErrorCode = 2001 // the first frame was not a Hello
	CodeServerFull    ErrorCode = 2002 // connection cap reached
	CodeSlowConsumer  ErrorCode = 2003 // the client fell too far behind on sequenced data
	CodeIdle          ErrorCode = 2004 // nothing heard from the client within the idle timeout
	CodeShutdown      ErrorCode = 2005 // the server is shutting down
	CodeTooManyErrors ErrorCode = 2006 // too many bad frames
	CodeTooLarge      ErrorCode = 2007 // a message over the server's size limit
	CodeSessionMoved  ErrorCode = 2008 // the session was resumed on another connection
	CodeUnauthorized  ErrorCode = 2009 // the Hello's credential is missing, malformed, forged, unknown or expired (reason says which)
	CodeTokenExpired  ErrorCode = 2010 // the session's token expired: the connection ends then
)

// Error codes of the server's limits (docs/limits.md).
const (
	CodeRateLimited ErrorCode = 1010 // a Subscribe or Unsubscribe over the subscription-change rate was refused whole
	CodeTopicLimit  ErrorCode = 1011 // a publish that would make a new topic over the server's or the publisher's topic limit was refused
	CodeFlood       ErrorCode = 2011 // the client kept sending over a rate limit after refusals
)

// Fatal reports whether the server closes the connection after this error.
func (c ErrorCode) Fatal() bool { return c >= 2000 }

// String returns the code's name without its "Code" prefix, e.g.
// "SlowConsumer" (logs name it; metrics and the wire keep the number).
func (c ErrorCode) String() string {
	switch c {
	case CodeBadFrame:
		return "BadFrame"
	case CodeBadTopic:
		return "BadTopic"
	case CodeUnexpected:
		return "Unexpected"
	case CodeTooManyTopics:
		return "TooManyTopics"
	case CodeBadPublish:
		return "BadPublish"
	case CodeBadResume:
		return "BadResume"
	case CodeBadPosition:
		return "BadPosition"
	case CodeNotEntitled:
		return "NotEntitled"
	case CodeRateLimited:
		return "RateLimited"
	case CodeTopicLimit:
		return "TopicLimit"
	case CodeBadVersion:
		return "BadVersion"
	case CodeHelloRequired:
		return "HelloRequired"
	case CodeServerFull:
		return "ServerFull"
	case CodeSlowConsumer:
		return "SlowConsumer"
	case CodeIdle:
		return "Idle"
	case CodeShutdown:
		return "Shutdown"
	case CodeTooManyErrors:
		return "TooManyErrors"
	case CodeTooLarge:
		return "TooLarge"
	case CodeSessionMoved:
		return "SessionMoved"
	case CodeUnauthorized:
		return "Unauthorized"
	case CodeTokenExpired:
		return "TokenExpired"
	case CodeFlood:
		return "Flood"
	}
	return fmt.Sprintf("ErrorCode(%d)", uint16(c))
}

// Error reports a refusal or failure. Topic names the topic concerned, if any.
type Error struct {
	Code   ErrorCode
	Reason string
	Topic  string
}

// Error implements the error interface so a received Error frame can be returned as one.
func (e *Error) Error() string {
	if e.Topic != "" {
		return fmt.Sprintf("server error %d: %s (topic %q)", e.Code, e.Reason, e.Topic)
	}
	return fmt.Sprintf("server error %d: %s", e.Code, e.Reason)
}

// FrameType implementations.

func (*Hello) FrameType() FrameType   { return TypeHello }
func (*Welcome) FrameType() FrameType { return TypeWelcome }
func (*Ping) FrameType() FrameType    { return TypePing }
func (*Pong) FrameType() FrameType    { return TypePong }
func (*Error) FrameType() FrameType   { return TypeError }

// FrameType returns TypeSubscribe or TypeUnsubscribe.
func (s *Subscribe) FrameType() FrameType {
	if s.Unsubscribe {
		return TypeUnsubscribe
	}
	return TypeSubscribe
}

// FrameType returns p.Type.
func (p *Price) FrameType() FrameType { return p.Type }

// FrameType returns e.Type.
func (e *Event) FrameType() FrameType { return e.Type }

func (*Telemetry) FrameType() FrameType { return TypeTelemetry }
func (*Limits) FrameType() FrameType    { return TypeLimits }
