package ha_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
)

// TestMembership: a single node grows to three with AddVoter (the joiners
// start with Join and get the journal), a follower watches streams being
// created, a voter is removed, and a follower refuses AddVoter naming the
// leader.
func TestMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	c := newCluster(t, 1, slow)
	j := c.nodes[0].Journal()
	defer j.Close()
	p, err := j.Append(context.Background(), "orders", recovery.Record{Data: []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 2)
	for i, id := range []string{"n2", "n3"} {
		cfg := c.cfgs[0]
		cfg.ID, cfg.BindAddr, cfg.Join = id, addrs[i], true
		cfg.FeedAddr = "127.0.0.1:1900" + id[1:]
		cfg.DataDir = filepath.Join(t.TempDir(), id)
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, nil)
		n := c.start(len(c.nodes) - 1)
		if st, _ := n.Status(); st.Role == ha.RoleLeader {
			t.Fatalf("joining node %s is leader", id)
		}
		if err := c.nodes[0].AddVoter(ctxT(t, 10*time.Second), ha.Peer{ID: id, RaftAddr: n.RaftAddr(), FeedAddr: cfg.FeedAddr}); err != nil {
			t.Fatal(err)
		}
		if err := n.WaitCaughtUp(ctxT(t, 20*time.Second)); err != nil {
			t.Fatal(err)
		}
		nj := n.Journal()
		if h, _ := nj.Head("orders"); h != p {
			t.Fatalf("%s: head %v, want %v", id, h, p)
		}
		_ = nj.Close()
	}
	conf, err := c.nodes[0].Configuration()
	if err != nil || len(conf) != 3 {
		t.Fatalf("configuration %v, %v", conf, err)
	}
	ms := c.nodes[2].Members()
	if i := slices.IndexFunc(ms, func(p ha.Peer) bool { return p.ID == "n2" }); i < 0 || ms[i].FeedAddr != "127.0.0.1:19002" {
		t.Fatalf("members on n3: %v", ms)
	}

	// A follower learns of a new stream without polling.
	fj := c.nodes[2].Journal()
	defer fj.Close()
	names, stop := fj.WatchStreams(4)
	if _, err := j.Append(context.Background(), "fills", recovery.Record{Data: []byte("f")}); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-names:
		if name != "fills" {
			t.Fatalf("watched %q", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no stream announced on the follower")
	}
	if dropped := stop(); dropped != 0 {
		t.Errorf("%d names dropped", dropped)
	}

	// A follower refuses membership changes, naming the leader.
	err = c.nodes[1].AddVoter(context.Background(), ha.Peer{ID: "n9", RaftAddr: "127.0.0.1:9"})
	var nl *ha.NotLeaderError
	if !errors.As(err, &nl) || nl.Leader.ID != "n1" || nl.Leader.RaftAddr != c.nodes[0].RaftAddr() {
		t.Fatalf("AddVoter on a follower: %v", err)
	}
	if _, err := fj.Append(context.Background(), "orders", recovery.Record{Data: []byte("x")}); !errors.As(err, &nl) || nl.Leader.FeedAddr != c.cfgs[0].FeedAddr {
		t.Fatalf("Append on a follower: %v, want NotLeaderError with the leader's feed address", err)
	}

	if err := c.nodes[0].RemoveServer(ctxT(t, 10*time.Second), "n2"); err != nil {
		t.Fatal(err)
	}
	conf, _ = c.nodes[0].Configuration()
	if len(conf) != 2 || slices.ContainsFunc(conf, func(p ha.Peer) bool { return p.ID == "n2" }) {
		t.Fatalf("configuration after removal: %v", conf)
	}
	if _, err := j.Append(context.Background(), "orders", recovery.Record{Data: []byte("two")}); err != nil {
		t.Fatalf("append with 2 voters left: %v", err)
	}
}

// TestRetentionReplicated: the leader enforces Config.Retention with
// replicated trims: a follower keeps the same window.
func TestRetentionReplicated(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	c := newCluster(t, 3, func(cfg *ha.Config) {
		slow(cfg)
		cfg.Retention = recovery.Retention{MaxEntries: 5}
		cfg.RetentionInterval = 20 * time.Millisecond
	})
	var last recovery.Position
	for i := range 20 {
		last = appendRetry(t, c, "orders", fmt.Sprint(i))
	}
	for i, n := range c.nodes {
		j := n.Journal()
		waitFor(t, fmt.Sprintf("node %d trimmed to the last 5", i), func() bool {
			_, err := j.ReadFrom(context.Background(), "orders", recovery.Position{}, 1)
			var pe *recovery.PositionError
			return errors.As(err, &pe) && pe.First == last.Seq-4
		})
		if es := readAll2(t, j, "orders", recovery.Position{Seq: last.Seq - 5, Epoch: last.Epoch}); len(es) != 5 {
			t.Fatalf("node %d: %d retained entries", i, len(es))
		}
		_ = j.Close()
	}
}

func readAll2(t *testing.T, j recovery.Journal, stream string, after recovery.Position) []recovery.Entry {
	t.Helper()
	es, err := j.ReadFrom(context.Background(), stream, after, 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
