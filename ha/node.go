package ha

import (
	"context"
	"fmt"
	"time"
)

// Role is a node's raft role.
type Role int32

// Raft roles.
const (
	RoleFollower Role = iota
	RoleCandidate
	RoleLeader
	RoleShutdown
)

var roleNames = [...]string{"follower", "candidate", "leader", "shutdown"}

// String returns "follower", "candidate", "leader" or "shutdown".
func (r Role) String() string {
	if r >= 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int32(r))
}

// LeaderInfo names the leader as a node knows it. The zero value means no
// leader is known (an election is running, or this node is cut off).
type LeaderInfo struct {
	ID       string // raft server id
	RaftAddr string // raft address
	FeedAddr string // feed (WebSocket) address from the members record; "" if not known yet
}

// IsZero reports whether no leader is known.
func (l LeaderInfo) IsZero() bool { return l.ID == "" && l.RaftAddr == "" }

// Status is a node's view of itself and of the leader at one moment.
type Status struct {
	Role   Role
	Term   uint64
	Leader LeaderInfo
	// CaughtUp: this node is a follower that has heard from the leader
	// within HeartbeatTimeout and has applied every entry up to the commit
	// index the leader sent it last (so its journal is as complete as the
	// leader's was at that contact). Always true on the leader once its
	// first barrier applied, false on a candidate or a shut-down node.
	CaughtUp bool
	// LastContact is when this follower last heard from the leader (zero:
	// never; the leader's own status has it zero).
	LastContact time.Time
	// CommitIndex is the highest log index known committed; on a follower,
	// LeaderCommit is the commit index the leader sent in its last append
	// (the target for CaughtUp). AppliedIndex is the last index the journal
	// state has applied.
	CommitIndex, LeaderCommit, AppliedIndex uint64
}

// Stats are the numbers for /metrics.
type Stats struct {
	Status
	LastLogIndex      uint64 // last index in this node's log
	LastSnapshotIndex uint64
	// Followers is filled on the leader only: one per other server in the
	// configuration.
	Followers []FollowerStats
}

// FollowerStats is the leader's view of one other server.
//
// raft v1.7 does not expose the leader's match index per follower; the
// measure here is the follower's last log index as it reported it in its
// latest reply to the leader (a heartbeat every HeartbeatTimeout/10 or an
// append), seen by the leader's transport. It counts entries the follower
// holds, not entries it has applied.
type FollowerStats struct {
	ID       string
	RaftAddr string
	Voter    bool
	// LastLogIndex is the follower's last log index from its latest reply;
	// 0 if it has not replied since this node became leader.
	LastLogIndex uint64
	// Lag is the leader's last log index minus LastLogIndex (0 if not
	// behind), in log entries.
	Lag uint64
	// LastReply is when the follower last replied to the leader.
	LastReply time.Time
}

// Node is one raft server carrying the replicated journal.
type Node struct {
	// TODO: raft, fsm, transport, stores, status.
}

// Open opens (or creates) the node's data directory, checks its identity,
// opens the raft log, stable store and snapshot store, listens on BindAddr,
// bootstraps a new cluster when the directory is new (Config.Peers, default
// this node as the single voter; not with Join) and starts raft. It returns
// once raft runs; the journal state then replays (Status.CaughtUp, or
// WaitCaughtUp). Errors: ErrIdentity (another cluster's or node's data
// directory), ErrCorruptLog (an unreadable raft log), bad Config fields;
// nothing in the data directory is overwritten on error.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	return nil, fmt.Errorf("ha: TODO")
}

// ID returns the node's raft server id.
func (n *Node) ID() string { return "" }

// RaftAddr returns the raft address other nodes dial (the advertised one).
func (n *Node) RaftAddr() string { return "" }

// Journal returns a new handle on the node's replicated journal. Handles
// share the node's state; closing one ends its subscriptions and refuses its
// later calls (recovery.ErrClosed) but leaves the node and other handles
// running, so a component (a FIX gateway) can be stopped and restarted on
// the same node. Node.Close closes every handle.
func (n *Node) Journal() *Journal { return nil }

// Status returns the node's current status and a channel closed at the next
// change of Role, Term, Leader or CaughtUp: loop on it to follow changes
// without missing one (any number of watchers).
func (n *Node) Status() (Status, <-chan struct{}) { return Status{}, nil }

// Stats returns the numbers for /metrics.
func (n *Node) Stats() Stats { return Stats{} }

// IsLeader reports whether this node is the raft leader now.
func (n *Node) IsLeader() bool { return false }

// Leader returns the leader as this node knows it (zero if unknown).
func (n *Node) Leader() LeaderInfo { return LeaderInfo{} }

// LeaderFeedAddr returns the leader's feed (WebSocket) address from the
// replicated members record, "" if no leader is known or it published none.
func (n *Node) LeaderFeedAddr() string { return "" }

// Members returns the replicated members records (id -> addresses) of the
// nodes that have published one (each leader publishes its own when it takes
// over; AddVoter publishes the new node's), sorted by id.
func (n *Node) Members() []Peer { return nil }

// Configuration returns raft's latest configuration: every server with its
// raft address and whether it votes.
func (n *Node) Configuration() ([]Peer, error) { return nil, nil }

// AddVoter adds a voting server (leader only: else a *NotLeaderError) and
// publishes its members record; it returns once the configuration change is
// committed. Adding a server already present with the same address does
// nothing.
func (n *Node) AddVoter(ctx context.Context, p Peer) error { return nil }

// RemoveServer removes a server from the configuration (leader only). A
// leader removing itself steps down once the change commits.
func (n *Node) RemoveServer(ctx context.Context, id string) error { return nil }

// Barrier waits until every command committed before it is applied to this
// node's journal state (leader only). The Driver calls it before
// BecomeActive.
func (n *Node) Barrier(ctx context.Context) error { return nil }

// WaitCaughtUp waits until Status().CaughtUp or the context ends.
func (n *Node) WaitCaughtUp(ctx context.Context) error { return nil }

// WaitApplied waits until this node's journal state has applied log index
// idx (see Journal.LastIndex) or the context ends: read-your-writes on a
// follower.
func (n *Node) WaitApplied(ctx context.Context, idx uint64) error { return nil }

// TransferLeadership asks raft to hand leadership to another up-to-date
// voter (leader only); used for a graceful stop of the Active.
func (n *Node) TransferLeadership(ctx context.Context) error { return nil }

// Close shuts raft down (without leaving the configuration), closes every
// journal handle, the transport and the stores. Closing twice is fine.
func (n *Node) Close() error { return nil }
