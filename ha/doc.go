// Package ha makes tickwire highly available: a replicated
// [recovery.Journal] on hashicorp/raft ([Journal]), the raft node that
// carries it ([Node]), and the driver of the talk's node state machine
// ([Driver]: Booting, Syncing, Standby, Switching, Active, Stopping).
//
// # What is replicated
//
// Every journal operation that changes state (Append, Trim) is one raft log
// command, proposed by the leader and applied by every node in log order.
// Apply is deterministic: sequence numbers are assigned in apply, a new
// stream's epoch is minted by the proposer and carried in the command, and a
// record's time is stamped by the proposer when the caller left it zero. So
// every node holds the same streams with the same sequence numbers, epochs,
// times and keys. Reads (ReadFrom, Head, Streams, Subscribe) are served from
// the local state on any node, followers included; a follower's
// subscriptions deliver entries as they are applied there.
//
// # Fencing
//
// Only the leader can propose. An Append on a follower fails with an error
// wrapping [ErrNotLeader] (a [*NotLeaderError] naming the leader when
// known). A leader that loses its quorum cannot commit: its Append fails
// (ErrNotLeader, or [ErrOutcomeUnknown] when the command was already in its
// log: then a new leader may or may not have it) and never reports success.
// A caller that acknowledges only what Append acknowledged can therefore
// never acknowledge something the cluster does not have.
//
// # Concurrency
//
// All methods of Node, Journal and Driver are safe for concurrent use.
package ha
