package client

import (
	"fmt"
	"time"

	"tickwire/protocol"
)

// State is the client's connection state.
type State uint8

// Connection states.
const (
	Connecting   State = iota // first attempt under way
	Connected                 // handshake done, subscriptions sent
	Reconnecting              // link lost; waiting to retry (see Attempt, NextRetry)
	Closed                    // Run has returned
)

// String returns the state's name as the TUI shows it.
func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Event is anything Client delivers: StateEvent, PriceEvent, SequencedEvent,
// RoleEvent, RTTEvent or ErrorEvent.
type Event interface{ isEvent() }

// StateEvent reports a connection state change.
type StateEvent struct {
	State      State
	URL        string    // server URL of the current or next attempt
	Server     string    // server node name from Welcome (Connected only)
	SessionID  string    // from Welcome (Connected only)
	Attempt    int       // reconnection attempt number, from 1 (Reconnecting)
	NextRetry  time.Time // when the next attempt starts (Reconnecting)
	FailedOver bool      // connected to a different URL than the previous connection
	// Resumed (Connected): the server still had this client's session and
	// continued it; false for a new session (first connection, linger
	// expired, server restarted or another server). Sequenced topics are
	// exact either way (the client sends its positions); prices come back
	// as snapshots marked Gap where values were skipped.
	Resumed bool
	// Role (Connected) is the node's role in its cluster as its Welcome
	// said: "active", "standby"...; "" from a server that does not say (a
	// single node). Later changes come as RoleEvents.
	Role      string
	Transport string // "websocket" or "http" (streaming fallback) (Connected)
	TLS       string // "TLS 1.3" or the like when encrypted (wss://, https://), "" otherwise (Connected)
	Err       error  // why the link was lost (Reconnecting, Closed)
	// AuthRefused (Reconnecting): the server refused the client's
	// credential (Error 2009: missing, bad, unknown or expired; 2010: it
	// expired during the session), and this is its reason, e.g.
	// "unauthorized: token expired". The next attempt is MaxBackoff away.
	AuthRefused string
}

// PriceEvent carries a topic's full value, rebuilt from snapshots and deltas.
type PriceEvent struct {
	Topic    string
	Seq      uint64
	Time     time.Time // source time of the value
	Quote    protocol.Quote
	Changed  protocol.Mask // fields this event changed
	Flags    protocol.Flags
	Snapshot bool // a full value rather than a delta
	Gap      bool // values were skipped (reconnect): this is the latest, not the next
	// StatusOnly: the value is not newer than the one before (same value
	// time): only flags changed, e.g. the feed was marked stale. A data age
	// must not restart on it.
	StatusOnly bool
	Received   time.Time // local receive time (Options.Now)
	// Age is how old the value was at Received: the server's time since it
	// stored the value, by the server's clock alone (Price.Stored against the
	// server time of the last Welcome or Pong), with the transit estimated
	// as half the round trip. Its age at local time t is Age + t-Received,
	// whatever the clocks' settings; a snapshot after a reconnect keeps it,
	// and so does a stale mark. 0 when the server does not say (an older
	// server): then the age can only be counted from Received.
	Age time.Duration
}

// Stale reports whether the server marked the topic's source stale.
func (e PriceEvent) Stale() bool { return e.Flags&protocol.FlagStale != 0 }

// SequencedEvent is one event of a sequenced topic (orders, fills, alerts),
// delivered once and in order: the client resumes from its position and drops
// duplicates by sequence.
type SequencedEvent struct {
	Topic    string
	Epoch    string
	Seq      uint64
	Time     time.Time
	Data     []byte // application payload (msgpack); the topic's state if Snapshot
	Received time.Time
	// HistoryLost: not an event but a marker. The server could not continue
	// from the client's position (history trimmed, journal replaced, or an
	// impossible position): events were missed. The stream continues with
	// Seq+1 (in Epoch).
	HistoryLost bool
	// Snapshot (with HistoryLost): Data is the topic's full state as of Seq
	// (e.g. every order of the account): replace what you had with it.
	Snapshot bool
}

// RoleEvent reports that the connected node's role changed (a standby
// became the active node, say), as its Pong said.
type RoleEvent struct{ Role string }

// RTTEvent reports a round-trip time measured with Ping/Pong.
type RTTEvent struct{ RTT time.Duration }

// ErrorEvent reports an Error frame from the server.
type ErrorEvent struct{ Err *protocol.Error }

func (StateEvent) isEvent()     {}
func (PriceEvent) isEvent()     {}
func (RoleEvent) isEvent()      {}
func (RTTEvent) isEvent()       {}
func (SequencedEvent) isEvent() {}
func (ErrorEvent) isEvent()     {}
