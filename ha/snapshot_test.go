package ha_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
)

// TestSnapshotInstall: a follower down while the leader appends, trims and
// compacts its log far past it rejoins by a snapshot install and ends with
// the same journal (heads, epochs, retained entries, keys, members) as the
// leader; a subscriber on it sees the gap as a Cursor would (no entry twice,
// never out of order).
func TestSnapshotInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("raft snapshot install")
	}
	c := newCluster(t, 3, func(cfg *ha.Config) {
		slow(cfg)
		cfg.SnapshotThreshold = 64
		cfg.TrailingLogs = 8
		cfg.SnapshotInterval = 50 * time.Millisecond
	})
	l := c.leader(20 * time.Second)
	f := c.follower(l)
	appendRetry(t, c, "orders", "before")
	if err := c.nodes[f].WaitApplied(ctxT(t, 10*time.Second), c.nodes[l].Stats().AppliedIndex); err != nil {
		t.Fatal(err)
	}
	c.stop(f)

	j := c.nodes[l].Journal()
	defer j.Close()
	for i := range 400 {
		recs := []recovery.Record{{Data: []byte(fmt.Sprint("o", i)), Key: fmt.Sprint("k", i)}}
		if _, err := j.Append(context.Background(), []string{"orders", "fills"}[i%2], recs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Trim(context.Background(), "orders", 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leader snapshot past the follower", func() bool {
		return c.nodes[l].Stats().LastSnapshotIndex > 300
	})

	n := c.start(f)
	fj := n.Journal()
	defer fj.Close()
	sub, err := fj.Subscribe("fills", 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := n.WaitApplied(ctxT(t, 20*time.Second), c.nodes[l].Stats().AppliedIndex); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitCaughtUp(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"orders", "fills"} {
		lh, _ := j.Head(s)
		fh, _ := fj.Head(s)
		if lh != fh {
			t.Fatalf("%s: follower head %v, leader %v", s, fh, lh)
		}
		from := recovery.Position{Seq: 100, Epoch: lh.Epoch}
		le, err1 := j.ReadFrom(context.Background(), s, from, 1000)
		fe, err2 := fj.ReadFrom(context.Background(), s, from, 1000)
		if err1 != nil || err2 != nil || !slices.EqualFunc(le, fe, func(a, b recovery.Entry) bool {
			return a.Position() == b.Position() && a.Time == b.Time && a.Key == b.Key && string(a.Data) == string(b.Data)
		}) {
			t.Fatalf("%s: follower entries differ (%v, %v): %d vs %d", s, err1, err2, len(fe), len(le))
		}
	}
	if _, err := fj.ReadFrom(context.Background(), "orders", recovery.Position{}, 1); err == nil {
		t.Error("trimmed entries readable on the follower")
	}
	if lm, fm := c.nodes[l].Members(), n.Members(); !slices.Equal(lm, fm) {
		t.Errorf("members: follower %v, leader %v", fm, lm)
	}
	// The subscription saw entries in order, each once (possibly none:
	// all came with the snapshot).
	var last uint64
	for len(sub.C) > 0 {
		e := <-sub.C
		if e.Seq <= last {
			t.Fatalf("subscription went back: %d after %d", e.Seq, last)
		}
		last = e.Seq
	}
	if st := n.Stats(); st.LastSnapshotIndex == 0 {
		t.Logf("follower stats: %+v", st)
		t.Error("follower has no snapshot: was it caught up from the log?")
	}
}

// TestStatsFollowerLag: the leader reports each follower's last log index
// from its replies; it reaches the leader's once appends stop.
func TestStatsFollowerLag(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	c := newCluster(t, 3, slow)
	for i := range 20 {
		appendRetry(t, c, "s", fmt.Sprint(i))
	}
	l := c.leader(10 * time.Second)
	waitFor(t, "followers at the leader's last index", func() bool {
		st := c.nodes[l].Stats()
		if len(st.Followers) != 2 {
			return false
		}
		for _, f := range st.Followers {
			if f.Lag != 0 || f.LastLogIndex != st.LastLogIndex || !f.Voter || f.LastReply.IsZero() {
				return false
			}
		}
		return true
	})
	fst := c.nodes[c.follower(l)].Stats()
	if fst.Role != ha.RoleFollower || fst.Followers != nil || fst.Term == 0 || fst.Leader.ID != c.cfgs[l].ID {
		t.Errorf("follower stats %+v", fst)
	}
}
