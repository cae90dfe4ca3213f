package ha

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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
// Initial -> Booting (Run starts: raft replays, no leader known yet) ->
// Syncing (a follower behind the leader's commit index) -> Standby (caught
// up) <-> Switching (won an election: barrier, members record, then
// BecomeActive; or lost leadership: BecomeStandby) -> Active -> ... ->
// Stopping (Run's context ends).
type Driver struct {
	n     *Node
	hooks Hooks
	log   *slog.Logger
	state atomic.Int32 // feedserver.NodeState

	// retry is how long a failed BecomeActive waits before trying again.
	retry time.Duration
	// electionSince is when this node became a candidate (Run's goroutine
	// only).
	electionSince time.Time
}

// NewDriver returns a driver of n calling hooks. log may be nil
// (slog.Default()).
func NewDriver(n *Node, hooks Hooks, log *slog.Logger) *Driver {
	if log == nil {
		log = slog.Default()
	}
	return &Driver{n: n, hooks: hooks, log: log.With("node", n.ID()), retry: time.Second}
}

// State returns the current node state.
func (d *Driver) State() feedserver.NodeState { return feedserver.NodeState(d.state.Load()) }

func (d *Driver) set(st feedserver.NodeState) {
	if feedserver.NodeState(d.state.Swap(int32(st))) == st {
		return
	}
	d.log.Info("node state", "state", st.String())
	if d.hooks.SetState != nil {
		d.hooks.SetState(st)
	}
}

// Run drives the states until ctx ends, then goes Stopping (calling
// BecomeStandby if Active, so the Active's work stops) and returns ctx's
// error. It does not close the node. Run once per Driver.
func (d *Driver) Run(ctx context.Context) error {
	d.set(feedserver.NodeBooting)
	var (
		active     bool               // BecomeActive succeeded and not undone
		activeTerm uint64             // the term it succeeded in
		stopActive context.CancelFunc // cancels the Active's context
		told       LeaderInfo         // last leader given to BecomeStandby
		toldOnce   bool
		retryAt    time.Time // no BecomeActive before (after a failure)
	)
	standby := func(ctx context.Context, leader LeaderInfo) {
		told, toldOnce = leader, true
		if d.hooks.BecomeStandby == nil {
			return
		}
		if err := d.hooks.BecomeStandby(ctx, leader); err != nil {
			d.log.Error("BecomeStandby failed", "leader", leader.ID, "err", err)
		}
	}
	demote := func(ctx context.Context, leader LeaderInfo) {
		d.set(feedserver.NodeSwitching)
		if stopActive != nil {
			stopActive()
			stopActive = nil
		}
		active = false
		standby(ctx, leader)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, changed := d.n.Status()
		switch {
		case ctx.Err() != nil:
			d.set(feedserver.NodeStopping)
			if active || d.State() == feedserver.NodeSwitching {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				demote(sctx, LeaderInfo{})
				cancel()
				d.set(feedserver.NodeStopping)
			}
			return ctx.Err()

		case st.Role == RoleLeader && !active:
			if time.Now().Before(retryAt) {
				break
			}
			d.set(feedserver.NodeSwitching)
			actx, cancel := d.leaderContext(ctx, st.Term)
			err := d.becomeActive(actx)
			if err == nil && actx.Err() == nil {
				active, activeTerm, stopActive = true, st.Term, cancel
				told, toldOnce = LeaderInfo{}, false
				d.set(feedserver.NodeActive)
				continue
			}
			cancel()
			if err == nil {
				err = actx.Err()
			}
			d.log.Error("taking the active role failed; standing by", "term", st.Term, "err", err)
			standby(ctx, LeaderInfo{})
			retryAt = time.Now().Add(d.retry)
			if d.n.IsLeader() {
				// Let a healthier voter take over if there is one.
				if err := d.n.TransferLeadership(ctx); err != nil {
					d.log.Warn("leadership transfer after failed switch", "err", err)
				}
			}
			d.set(feedserver.NodeSyncing)

		case active && (st.Role != RoleLeader || st.Term != activeTerm):
			// A new term even as leader again: the Active's context was
			// cancelled with the old term; leave and take over afresh.
			d.log.Warn("lost leadership: leaving the active role", "role", st.Role.String(), "term", st.Term, "leader", st.Leader.ID)
			demote(ctx, st.Leader)
			d.set(d.followerState(st))
			continue

		case st.Role != RoleLeader:
			if !st.Leader.IsZero() && st.Leader.ID != d.n.ID() && (!toldOnce || st.Leader != told) {
				standby(ctx, st.Leader)
			}
			d.set(d.followerState(st))
		}
		select {
		case <-changed:
		case <-tick.C: // a retry time, a stale leader feed address
		case <-ctx.Done():
		}
	}
}

// followerState is the state of a node that is not (or not yet) Active.
func (d *Driver) followerState(st Status) feedserver.NodeState {
	cur := d.State()
	if st.Role == RoleCandidate {
		if d.electionSince.IsZero() {
			d.electionSince = time.Now()
		}
	} else {
		d.electionSince = time.Time{}
	}
	switch {
	case st.CaughtUp && st.Role == RoleFollower:
		return feedserver.NodeStandby
	case cur == feedserver.NodeStandby && st.Role == RoleCandidate && time.Since(d.electionSince) < d.n.lagTolerance:
		// An election runs: still as complete as when the leader went.
		// Longer than the tolerance (no quorum: two nodes lost), it is
		// no longer known to be in sync.
		return feedserver.NodeStandby
	case cur == feedserver.NodeBooting && st.Leader.IsZero():
		return feedserver.NodeBooting
	}
	return feedserver.NodeSyncing
}

// becomeActive is the Switching work: barrier, members record, hook.
func (d *Driver) becomeActive(ctx context.Context) error {
	if err := d.n.Barrier(ctx); err != nil {
		return err
	}
	if err := d.n.publishSelf(ctx); err != nil {
		return err
	}
	if d.hooks.BecomeActive == nil {
		return nil
	}
	return d.hooks.BecomeActive(ctx)
}

// leaderContext returns a context cancelled when ctx ends or this node stops
// being leader in term.
func (d *Driver) leaderContext(ctx context.Context, term uint64) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			st, changed := d.n.Status()
			if st.Role != RoleLeader || st.Term != term {
				cancel()
				return
			}
			select {
			case <-changed:
			case <-lctx.Done():
				return
			}
		}
	}()
	return lctx, func() { cancel(); wg.Wait() }
}
