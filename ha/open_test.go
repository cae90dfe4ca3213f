package ha_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
)

func singleConfig(t *testing.T, dir string) ha.Config {
	return ha.Config{ID: "n1", ClusterID: "alpha", BindAddr: freeAddrs(t, 1)[0], DataDir: dir, Logger: testLogger()}
}

// snapshotDir returns the contents of every file under dir.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameDir(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s created", p)
		}
	}
}

// TestOpenRefusesForeignData: a data directory of another cluster or node
// id, raft files without an identity, a corrupt raft log: a clear error at
// Open and not a byte changed.
func TestOpenRefusesForeignData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	dir := t.TempDir()
	cfg := singleConfig(t, dir)
	n, err := ha.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitCaughtUp(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	j := n.Journal()
	if _, err := j.Append(context.Background(), "s", recovery.Record{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"raft.db": 0o600, "snapshots": 0o700} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", name, fi.Mode().Perm(), err, want)
		}
	}
	before := snapshotDir(t, dir)

	for _, tc := range []struct {
		name  string
		tweak func(*ha.Config)
		want  string
	}{
		{"other cluster", func(c *ha.Config) { c.ClusterID = "beta" }, `belongs to cluster "alpha"`},
		{"other node id", func(c *ha.Config) { c.ID = "n2" }, `belongs to node "n1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.tweak(&c)
			n, err := ha.Open(context.Background(), c)
			if err == nil {
				_ = n.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ha.ErrIdentity) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want ErrIdentity saying %q", err, tc.want)
			}
			sameDir(t, before, snapshotDir(t, dir))
		})
	}

	t.Run("raft state without identity", func(t *testing.T) {
		d2 := t.TempDir()
		b := before[filepath.Join(dir, "raft.db")]
		if err := os.WriteFile(filepath.Join(d2, "raft.db"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		snap := snapshotDir(t, d2)
		c := cfg
		c.DataDir = d2
		_, err := ha.Open(context.Background(), c)
		if !errors.Is(err, ha.ErrIdentity) || !strings.Contains(err.Error(), "no ha-identity.json") {
			t.Fatalf("error %v, want ErrIdentity about the missing identity file", err)
		}
		sameDir(t, snap, snapshotDir(t, d2))
	})

	t.Run("corrupt raft log", func(t *testing.T) {
		d3 := t.TempDir()
		if err := os.WriteFile(filepath.Join(d3, "ha-identity.json"), before[filepath.Join(dir, "ha-identity.json")], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d3, "raft.db"), bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
			t.Fatal(err)
		}
		snap := snapshotDir(t, d3)
		c := cfg
		c.DataDir = d3
		_, err := ha.Open(context.Background(), c)
		if !errors.Is(err, ha.ErrCorruptLog) || !strings.Contains(err.Error(), "raft.db") {
			t.Fatalf("error %v, want ErrCorruptLog naming raft.db", err)
		}
		sameDir(t, snap, snapshotDir(t, d3))
	})

	t.Run("reopen", func(t *testing.T) {
		n, err := ha.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if err := n.WaitCaughtUp(ctxT(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		j := n.Journal()
		if es := readAll(t, j, "s"); len(es) != 1 || string(es[0].Data) != "x" {
			t.Fatalf("after reopen: %+v", es)
		}
	})
}

// TestOpenRefusesSharedDataDir: raft state other users could change or
// read is refused at Open, with the path and the fix: a data directory
// others may write to or another user owns, a raft log others may read, a
// snapshots directory others may enter (raft writes each snapshot, the
// whole journal, readable by others).
func TestOpenRefusesSharedDataDir(t *testing.T) {
	identity := []byte(`{"format":1,"cluster_id":"alpha","node_id":"n1"}`)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (path string)
		want  string
	}{
		{"world-writable dir", func(t *testing.T, dir string) string { chmod(t, dir, 0o777); return dir }, "chmod go-w"},
		{"another owner", func(t *testing.T, dir string) string { chownOther(t, dir); return dir }, "chown"},
		{"readable raft log", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ha-identity.json"), identity, 0o600)
			writeFile(t, filepath.Join(dir, "raft.db"), nil, 0o644)
			return filepath.Join(dir, "raft.db")
		}, "chmod 600"},
		{"open snapshots", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ha-identity.json"), identity, 0o600)
			snaps := filepath.Join(dir, "snapshots")
			if err := os.Mkdir(snaps, 0o700); err != nil {
				t.Fatal(err)
			}
			chmod(t, snaps, 0o755)
			return snaps
		}, "lets other users read it; chmod 700"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "raft")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := tc.setup(t, dir)
			before := snapshotDir(t, dir)
			n, err := ha.Open(context.Background(), singleConfig(t, dir))
			if err == nil {
				_ = n.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q, want %s and %q", err, path, tc.want)
			}
			sameDir(t, before, snapshotDir(t, dir))
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chownOther(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	if err := os.Chown(path, 54321, 54321); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, path, mode)
}

// TestOpenBadConfig: bad fields are refused before anything is created.
func TestOpenBadConfig(t *testing.T) {
	good := ha.Config{ID: "n1", ClusterID: "c", BindAddr: "127.0.0.1:0"}
	for _, tc := range []struct {
		name  string
		tweak func(*ha.Config)
		want  string
	}{
		{"no id", func(c *ha.Config) { c.ID = "" }, "node id"},
		{"bad id", func(c *ha.Config) { c.ID = "n 1/../x" }, "node id"},
		{"long id", func(c *ha.Config) { c.ID = strings.Repeat("n", 65) }, "node id"},
		{"no cluster", func(c *ha.Config) { c.ClusterID = "" }, "cluster id"},
		{"bad bind", func(c *ha.Config) { c.BindAddr = "localhost" }, "bind address"},
		{"unspecified bind", func(c *ha.Config) { c.BindAddr = "0.0.0.0:0" }, "advertise address"},
		{"peers without self", func(c *ha.Config) { c.Peers = []ha.Peer{{ID: "n2", RaftAddr: "127.0.0.1:1"}} }, "do not include this node"},
		{"duplicate peer", func(c *ha.Config) {
			c.Peers = []ha.Peer{{ID: "n1", RaftAddr: "127.0.0.1:1"}, {ID: "n1", RaftAddr: "127.0.0.1:2"}}
		}, "listed twice"},
		{"peer bad addr", func(c *ha.Config) { c.Peers = []ha.Peer{{ID: "n1", RaftAddr: "nope"}} }, "raft address"},
		{"join and peers", func(c *ha.Config) { c.Join = true; c.Peers = []ha.Peer{{ID: "n1", RaftAddr: "127.0.0.1:1"}} }, "exclusive"},
		{"lease over heartbeat", func(c *ha.Config) {
			c.Timeouts = ha.Timeouts{HeartbeatTimeout: 100 * time.Millisecond, LeaderLeaseTimeout: time.Second}
		}, "timeouts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			c := good
			c.DataDir = dir
			c.Logger = testLogger()
			tc.tweak(&c)
			n, err := ha.Open(context.Background(), c)
			if err == nil {
				_ = n.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to mention %q", err, tc.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("data directory created despite a bad config")
			}
		})
	}
}

// TestOtherClusterRefused: a node of another cluster cannot replicate into
// this one: its raft connections fail the handshake, so an AddVoter naming
// it never commits, and the other cluster's journal is untouched.
func TestOtherClusterRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	a := newCluster(t, 1, nil)
	aj := a.nodes[0].Journal()
	pa, err := aj.Append(context.Background(), "s", recovery.Record{Data: []byte("alpha")})
	if err != nil {
		t.Fatal(err)
	}
	b := newCluster(t, 1, func(c *ha.Config) { c.ClusterID = "other" })
	bj := b.nodes[0].Journal()
	if _, err := bj.Append(context.Background(), "s", recovery.Record{Data: []byte("beta")}, recovery.Record{Data: []byte("beta2")}); err != nil {
		t.Fatal(err)
	}
	// B's leader adds A's node as a voter: B can no longer reach a quorum
	// and steps down; A never hears a raft message from it.
	err = b.nodes[0].AddVoter(context.Background(), ha.Peer{ID: "n1x", RaftAddr: a.nodes[0].RaftAddr()})
	t.Logf("AddVoter of another cluster's node: %v", err)
	if st, _ := a.nodes[0].Status(); st.Role != ha.RoleLeader {
		t.Fatalf("cluster A disturbed: %+v", st)
	}
	if h, _ := aj.Head("s"); h != pa {
		t.Fatalf("cluster A's journal changed: head %v, was %v", h, pa)
	}
	if p, err := aj.Append(context.Background(), "s", recovery.Record{Data: []byte("alpha2")}); err != nil || p.Seq != 2 {
		t.Fatalf("cluster A append after the attempt: %v, %v", p, err)
	}
}
