package ha

import (
	"context"
	"log/slog"

	"tickwire/feedserver"
)

// Hooks are the wiring's actions on role changes. Any may be nil. Hooks run
// on the driver's goroutine, one at a time, in state order.
type Hooks struct {
	// SetState is told every node state change (feedserver.Server's
	// SetNodeState, metrics, logs).
	SetState func(feedserver.NodeState)
	// BecomeActive starts the Active's work (replay the book, start the FIX
	// gateway and price ingestion). It is called in Switching, after a raft
	// barrier has applied every committed entry to the local journal. ctx
	// is cancelled when leadership is lost. An error keeps the node out of
	// Active: the driver calls BecomeStandby, hands leadership to another
	// voter if it can, and retries after a pause if it is still leader.
	BecomeActive func(ctx context.Context) error
	// BecomeStandby stops the Active's work, if running, and (re)points the
	// standby's work (price cascade, order forwarding) at leader. It is
	// called when leaving Active or a failed Switching (leader may then be
	// zero: not known yet) and whenever the known leader (id or feed
	// address) changes while this node is not leader. It must be idempotent.
	BecomeStandby func(ctx context.Context, leader LeaderInfo) error
}

// Driver turns a Node's raft role and catch-up into the talk's node states:
// Initial -> Booting (Run starts; raft replays) -> Syncing (a follower
// behind the leader's commit index) -> Standby (caught up) <-> Switching
// (won an election: barrier, then BecomeActive; or lost leadership:
// BecomeStandby) -> Active -> ... -> Stopping (Run's context ends).
type Driver struct {
	// TODO
}

// NewDriver returns a driver of n calling hooks. log may be nil
// (slog.Default()).
func NewDriver(n *Node, hooks Hooks, log *slog.Logger) *Driver { return &Driver{} }

// Run drives the states until ctx ends, then goes Stopping (calling
// BecomeStandby if Active, so the Active's work stops) and returns ctx's
// error. It does not close the node.
func (d *Driver) Run(ctx context.Context) error { return nil }

// State returns the current node state.
func (d *Driver) State() feedserver.NodeState { return feedserver.NodeInitial }
