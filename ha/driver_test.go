package ha_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tickwire/feedserver"
	"tickwire/ha"
	"tickwire/recovery"
)

// driven is one node's driver with its hook calls recorded.
type driven struct {
	d      *ha.Driver
	cancel context.CancelFunc
	done   chan error

	mu       sync.Mutex
	states   []feedserver.NodeState
	leaders  []ha.LeaderInfo // BecomeStandby calls
	actives  int
	activeOK bool // BecomeActive found the journal complete
}

func (x *driven) state() feedserver.NodeState {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.states) == 0 {
		return feedserver.NodeInitial
	}
	return x.states[len(x.states)-1]
}

// drive starts a driver on node i of c. wantHead, if set, is checked by
// BecomeActive: the journal must hold at least that position.
func drive(t *testing.T, c *cluster, i int, wantHead func() recovery.Position) *driven {
	x := &driven{done: make(chan error, 1)}
	n := c.nodes[i]
	x.d = ha.NewDriver(n, ha.Hooks{
		SetState: func(s feedserver.NodeState) {
			x.mu.Lock()
			x.states = append(x.states, s)
			x.mu.Unlock()
		},
		BecomeActive: func(ctx context.Context) error {
			ok := true
			if wantHead != nil {
				j := n.Journal()
				h, err := j.Head("orders")
				_ = j.Close()
				w := wantHead()
				ok = err == nil && h.Epoch == w.Epoch && h.Seq >= w.Seq
			}
			x.mu.Lock()
			x.actives++
			x.activeOK = ok
			x.mu.Unlock()
			return nil
		},
		BecomeStandby: func(ctx context.Context, leader ha.LeaderInfo) error {
			x.mu.Lock()
			x.leaders = append(x.leaders, leader)
			x.mu.Unlock()
			return nil
		},
	}, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	go func() { x.done <- x.d.Run(ctx) }()
	t.Cleanup(func() { x.stop(t) })
	return x
}

func (x *driven) stop(t *testing.T) {
	x.cancel()
	select {
	case err := <-x.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("driver: %v", err)
		}
		x.done <- err // for a second stop
	case <-time.After(10 * time.Second):
		t.Error("driver did not stop")
	}
}

// waitStates waits until the drivers' states are want (in any order).
func waitStates(t *testing.T, ds []*driven, want ...feedserver.NodeState) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(20 * time.Second)
	var got []feedserver.NodeState
	for time.Now().Before(deadline) {
		got = got[:0]
		for _, x := range ds {
			if x != nil {
				got = append(got, x.state())
			}
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("states %v, want %v", got, want)
}

// TestDriverFailover: three drivers: one Active, two Standby told the
// Active's feed address; the Active's node is killed: another takes the
// Active role with the journal complete, the remaining standby is told the
// new leader; the stopped driver ends in Stopping.
func TestDriverFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("raft failover")
	}
	c := newCluster(t, 3, slow)
	var mu sync.Mutex
	var last recovery.Position
	head := func() recovery.Position { mu.Lock(); defer mu.Unlock(); return last }
	ds := make([]*driven, 3)
	for i := range ds {
		ds[i] = drive(t, c, i, head)
	}
	waitStates(t, ds, feedserver.NodeStandby, feedserver.NodeStandby, feedserver.NodeActive)
	a := slices.IndexFunc(ds, func(x *driven) bool { return x.state() == feedserver.NodeActive })
	for i, x := range ds {
		if i == a {
			continue
		}
		want := ha.LeaderInfo{ID: c.cfgs[a].ID, RaftAddr: c.nodes[a].RaftAddr(), FeedAddr: c.cfgs[a].FeedAddr}
		waitFor(t, fmt.Sprintf("standby %d told leader %v", i, want), func() bool {
			x.mu.Lock()
			defer x.mu.Unlock()
			return len(x.leaders) > 0 && x.leaders[len(x.leaders)-1] == want
		})
		if got := c.nodes[i].LeaderFeedAddr(); got != c.cfgs[a].FeedAddr {
			t.Errorf("node %d LeaderFeedAddr = %q, want %q", i, got, c.cfgs[a].FeedAddr)
		}
	}
	for k := range 20 {
		p := appendRetry(t, c, "orders", fmt.Sprint("o", k))
		mu.Lock()
		last = p
		mu.Unlock()
	}

	ds[a].stop(t)
	if st := ds[a].state(); st != feedserver.NodeStopping {
		t.Errorf("stopped driver in %v, want stopping", st)
	}
	c.stop(a)
	rest := slices.Clone(ds)
	rest[a] = nil
	waitStates(t, rest, feedserver.NodeStandby, feedserver.NodeActive)
	b := slices.IndexFunc(ds, func(x *driven) bool { return x != ds[a] && x.state() == feedserver.NodeActive })
	ds[b].mu.Lock()
	ok, actives, states := ds[b].activeOK, ds[b].actives, slices.Clone(ds[b].states)
	ds[b].mu.Unlock()
	if !ok || actives != 1 {
		t.Errorf("new Active: BecomeActive %d times, journal complete %v", actives, ok)
	}
	if i := slices.Index(states, feedserver.NodeSwitching); i < 0 || states[len(states)-1] != feedserver.NodeActive {
		t.Errorf("new Active's states %v: want ... switching, active", states)
	}
	s := 3 - a - b
	want := c.cfgs[b].FeedAddr
	waitFor(t, "remaining standby told the new leader", func() bool {
		ds[s].mu.Lock()
		defer ds[s].mu.Unlock()
		l := ds[s].leaders
		return len(l) > 0 && l[len(l)-1].ID == c.cfgs[b].ID && l[len(l)-1].FeedAddr == want
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

// TestDriverSingleNode: one voter goes Booting, Switching, Active.
func TestDriverSingleNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	c := newCluster(t, 1, nil)
	x := drive(t, c, 0, nil)
	waitStates(t, []*driven{x}, feedserver.NodeActive)
	x.stop(t)
	x.mu.Lock()
	defer x.mu.Unlock()
	want := []feedserver.NodeState{feedserver.NodeBooting, feedserver.NodeSwitching, feedserver.NodeActive, feedserver.NodeStopping}
	// Stopping from Active goes through Switching (BecomeStandby) first.
	got := slices.Clone(x.states)
	if !slices.Equal(got[:3], want[:3]) || got[len(got)-1] != feedserver.NodeStopping || x.actives != 1 {
		t.Errorf("states %v (BecomeActive %d times), want %v", got, x.actives, want)
	}
	if len(x.leaders) == 0 {
		t.Error("BecomeStandby not called on stop of the Active")
	}
}

// TestFollowersCaughtUpAfterBarrier: after a leader's Barrier with nothing
// else appended, every follower's applied index reaches the commit index
// the leader sent (a barrier that bypassed the journal state would leave
// followers "behind" forever and never Standby).
func TestFollowersCaughtUpAfterBarrier(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	c := newCluster(t, 3, slow)
	appendRetry(t, c, "s", "x")
	l := c.leader(10 * time.Second)
	if err := c.nodes[l].Barrier(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	target := c.nodes[l].Stats().CommitIndex
	for i, n := range c.nodes {
		if i == l {
			continue
		}
		waitFor(t, fmt.Sprintf("follower %d applied through %d", i, target), func() bool {
			st := n.Stats()
			return st.AppliedIndex >= target && st.LeaderCommit >= target && st.CaughtUp
		})
	}
}
