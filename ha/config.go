package ha

import (
	"log/slog"
	"time"

	"tickwire/recovery"
)

// Config describes one node. ID, BindAddr and DataDir are required, and
// ClusterID on a new data directory.
type Config struct {
	// ID is the node's raft server id: stable for the life of its data
	// directory, 1..64 bytes of [A-Za-z0-9._-].
	ID string
	// ClusterID names the cluster (1..64 bytes of [A-Za-z0-9._-]). It is
	// written to the identity file of a new data directory; a data directory
	// of another cluster is refused (ErrIdentity), and raft connections
	// between nodes of different clusters are refused by the transport
	// handshake. Required.
	ClusterID string
	// BindAddr is the raft TCP listen address, host:port ("127.0.0.1:0"
	// picks a free port; Node.RaftAddr says which).
	BindAddr string
	// AdvertiseAddr is the address other nodes dial; default the bound
	// address (which must then not be unspecified, like 0.0.0.0).
	AdvertiseAddr string
	// FeedAddr is this node's feed (WebSocket) address, e.g.
	// "127.0.0.1:8080": replicated in the members record so that standbys
	// find the Active's feed (Node.LeaderFeedAddr). Optional.
	FeedAddr string
	// DataDir holds the identity file, the raft log and stable store
	// (raft.db, bbolt) and the snapshots (snapshots/). Created 0700 if
	// missing. Refused: a DataDir others may write to, a raft.db others may
	// read or write, a snapshots/ others may enter (a snapshot holds the
	// journal, and raft makes its files readable), any of them another
	// user's.
	DataDir string

	// Peers is the initial configuration of a new cluster, this node
	// included: every node of the initial set is started with the same
	// Peers. Empty: a single voter, this node (the default single-node
	// deployment, the same code path). Ignored when the data directory
	// already has raft state (the configuration is in the log) or Join is
	// set.
	Peers []Peer
	// Join starts a new data directory without bootstrapping: the node
	// waits to be added by the leader's AddVoter.
	Join bool

	// NoSync skips the fsync of the raft log on each write ("the quorum is
	// the disk": an entry is acknowledged once a majority holds it in
	// memory-mapped pages; losing it takes a majority of machines failing
	// within the OS's write-back delay). Default false: fsync each batch.
	// See docs/BENCHMARKS.md for the cost of each.
	NoSync bool

	// Timeouts tunes raft; zero fields take DefaultTimeouts().
	Timeouts Timeouts

	// Retention bounds each stream of the journal, enforced by the leader
	// with replicated Trim commands every RetentionInterval (default 10 s).
	// Zero keeps everything (memory grows with the journal).
	Retention         recovery.Retention
	RetentionInterval time.Duration
	// RetentionExempt, when not nil, names streams Retention never trims:
	// the order book's journal (fix.orders) is replayed from its first
	// record, and a FIX message store (fix.store.*) trims itself and
	// refuses a stream trimmed by anyone else.
	RetentionExempt func(stream string) bool

	// SnapshotThreshold is the number of log entries after which raft
	// snapshots the journal state and compacts the log (default 8192).
	// TrailingLogs entries are kept after a snapshot so a slightly behind
	// follower catches up from the log rather than a snapshot (default
	// 10240). SnapshotInterval is how often raft checks (default 30 s).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration

	// LagTolerance is how long a caught-up follower may stay behind the
	// commit index the leader sent it before Status.CaughtUp turns false
	// (default 2 s): a follower under load is a few entries behind most of
	// the time, for a moment each time.
	LagTolerance time.Duration

	// Logger receives the node's logs (and raft's, at warn and above unless
	// RaftLogLevel says otherwise). Default slog.Default().
	Logger *slog.Logger
	// RaftLogLevel is the level of raft's own logs passed on: "debug",
	// "info", "warn" (default), "error".
	RaftLogLevel string
}

// Peer is a member of the cluster configuration.
type Peer struct {
	ID       string // raft server id
	RaftAddr string // raft TCP address other nodes dial
	FeedAddr string // feed (WebSocket) address, optional
}

// Timeouts are raft's timing knobs. The defaults are tuned for loopback and
// a LAN so that a killed leader is replaced well under a second (measured
// numbers in docs/HA.md); WAN deployments need larger values.
type Timeouts struct {
	// HeartbeatTimeout: a follower that hears nothing from the leader for
	// this long (randomised up to twice it) starts an election.
	HeartbeatTimeout time.Duration
	// ElectionTimeout: a candidate that wins no election in this long
	// (randomised up to twice it) starts another.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout: a leader that cannot reach a quorum for this long
	// steps down (so a deposed leader stops accepting commands quickly).
	// At most HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout: the longest a follower waits for a heartbeat carrying
	// a new commit index when the log is idle.
	CommitTimeout time.Duration
	// ApplyTimeout bounds how long Append waits to enqueue a command on a
	// busy leader before failing (raft's enqueue timeout).
	ApplyTimeout time.Duration
}

// DefaultTimeouts returns the values used for zero fields of
// Config.Timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		HeartbeatTimeout:   250 * time.Millisecond,
		ElectionTimeout:    250 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond,
		CommitTimeout:      10 * time.Millisecond,
		ApplyTimeout:       5 * time.Second,
	}
}
