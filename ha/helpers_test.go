package ha_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tickwire/ha"
)

// testLogger is quiet unless HA_TEST_LOG is set.
func testLogger() *slog.Logger {
	level := slog.LevelError + 4
	if os.Getenv("HA_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// freeAddrs returns n distinct loopback addresses with ports that were free
// a moment ago (listeners on :0, all open at once, then closed).
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

// slow gives a cluster timeouts that survive a loaded machine (the test VM
// runs many suites on 2 cores, often under -race): for tests whose subject
// is not the failover time (BenchmarkFailover measures the defaults).
func slow(cfg *ha.Config) {
	cfg.Timeouts = ha.Timeouts{HeartbeatTimeout: time.Second, ElectionTimeout: time.Second, LeaderLeaseTimeout: time.Second}
}

// cluster is n nodes of one cluster on 127.0.0.1, each in its own data
// directory.
type cluster struct {
	t     testing.TB
	cfgs  []ha.Config
	nodes []*ha.Node // nil when stopped
}

// newCluster starts size nodes bootstrapped together (size 1: the single
// voter default) and waits for a caught-up leader.
func newCluster(t testing.TB, size int, tweak func(*ha.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	base := t.TempDir()
	var peers []ha.Peer
	addrs := freeAddrs(t, size)
	for i := range size {
		cfg := ha.Config{
			ID:        fmt.Sprintf("n%d", i+1),
			ClusterID: "test",
			BindAddr:  addrs[i],
			FeedAddr:  fmt.Sprintf("127.0.0.1:%d", 18000+i),
			DataDir:   filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			Logger:    testLogger(),
		}
		if tweak != nil {
			tweak(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		peers = append(peers, ha.Peer{ID: cfg.ID, RaftAddr: cfg.BindAddr, FeedAddr: cfg.FeedAddr})
	}
	if size > 1 {
		for i := range c.cfgs {
			c.cfgs[i].Peers = peers
		}
	}
	c.nodes = make([]*ha.Node, size)
	for i := range c.cfgs {
		c.start(i)
	}
	t.Cleanup(c.closeAll)
	c.leader(10 * time.Second)
	return c
}

// start opens node i.
func (c *cluster) start(i int) *ha.Node {
	c.t.Helper()
	n, err := ha.Open(context.Background(), c.cfgs[i])
	if err != nil {
		c.t.Fatalf("open %s: %v", c.cfgs[i].ID, err)
	}
	c.nodes[i] = n
	return n
}

// stop closes node i.
func (c *cluster) stop(i int) {
	c.t.Helper()
	if c.nodes[i] == nil {
		return
	}
	if err := c.nodes[i].Close(); err != nil {
		c.t.Errorf("close %s: %v", c.cfgs[i].ID, err)
	}
	c.nodes[i] = nil
}

func (c *cluster) closeAll() {
	for i := range c.nodes {
		if c.nodes[i] != nil {
			_ = c.nodes[i].Close()
			c.nodes[i] = nil
		}
	}
}

// leader waits for a running node that is leader and caught up (its
// barrier applied) and returns its index.
func (c *cluster) leader(within time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for i, n := range c.nodes {
			if n == nil {
				continue
			}
			if st, _ := n.Status(); st.Role == ha.RoleLeader && st.CaughtUp {
				return i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("no caught-up leader within %v", within)
	return -1
}

// follower returns the index of a running node other than the leader.
func (c *cluster) follower(leader int) int {
	for i, n := range c.nodes {
		if n != nil && i != leader {
			return i
		}
	}
	c.t.Fatal("no follower running")
	return -1
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
