package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bin is the tickwire binary the tests run as child processes, built once
// by TestMain (not under -short: every test here takes seconds).
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tickwire-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "tickwire")
	out, err := exec.Command("go", "build", "-o", bin, "tickwire/cmd/tickwire").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build tickwire: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// testLog is the tests' logger: warnings and errors, in the test's log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// startCluster starts a 3-node cluster with the FIX gateway, the embedded
// replay (10x), frequent raft snapshots, and waits for an Active with two
// standbys.
func startCluster(t *testing.T) *Local {
	t.Helper()
	dir := t.TempDir()
	l, err := New(Options{Bin: bin, Dir: dir, FIX: true,
		Args: []string{"--replay", "embedded", "--speed", "10", "--stale-after", "0",
			"--raft-snapshot-threshold", "256", "--raft-trailing-logs", "64", "--raft-snapshot-interval", "500ms"}})
	if err != nil {
		t.Fatal(err)
	}
	closeWithLogs(t, l, dir)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := l.WaitActive(ctx, 2); err != nil {
		t.Fatal(err)
	}
	return l
}

// closeWithLogs closes l when the test ends, first printing the tail of
// each node's log and output if the test failed: its data directory goes
// with the test.
func closeWithLogs(t *testing.T, l *Local, dir string) {
	t.Cleanup(func() {
		l.Close()
		if t.Failed() {
			for _, n := range l.Nodes {
				if b, err := os.ReadFile(n.Log); err == nil {
					t.Logf("---- %s log (tail)\n%s", n.ID, tail(string(b), 60))
				}
				if b, err := os.ReadFile(filepath.Join(dir, n.ID+".out")); err == nil && len(b) > 0 {
					t.Logf("---- %s stdout and stderr (tail)\n%s", n.ID, tail(string(b), 400))
				}
			}
		}
	})
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// waitSent waits until the flow has sent n more orders than before.
func waitSent(t *testing.T, ld *Load, n int) {
	t.Helper()
	a, b := ld.Sent()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, d := ld.Sent()
		if c+d-a-b >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow sent %d orders in 30s, want %d", c+d-a-b, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailover is issue 14's process-level test, on one cluster of three
// `tickwire server --cluster` processes with order flow from three traders
// (each first on another node) and a FIX counterparty (the nodes as its
// alternate hosts): three rounds of kill -9 of the Active, then the Active
// frozen with SIGSTOP and resumed (it must come back a standby), a rolling
// restart (SIGTERM, the Active last), and a standby killed and restarted
// far behind (past the leader's snapshot: it installs one). At the end
// every trader got every order event exactly once and in order, the same
// as the Active's journal, and the counterparty got an answer to every
// order, no ExecID twice, MsgSeqNum never going back, and a view of every
// order equal to the Active's book.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes for tens of seconds")
	}
	l := startCluster(t)
	log := testLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ld, err := StartLoad(ctx, l, LoadOptions{Traders: 3, TraderRate: 10, FIXRate: 20, FIXStore: filepath.Join(t.TempDir(), "fixclient"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Stop()
	waitSent(t, ld, 30)
	for i := range 3 {
		r, err := KillActive(ctx, l, ld, log)
		if err != nil {
			t.Fatalf("round %d: %v", i+1, err)
		}
		t.Logf("round %d: %s", i+1, r)
		waitSent(t, ld, 20)
	}
	r, err := Freeze(ctx, l, ld, log)
	if err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	t.Logf("freeze: %s", r)
	waitSent(t, ld, 20)
	rs, err := RollingRestart(ctx, l, ld, log)
	if err != nil {
		t.Fatalf("rolling restart: %v", err)
	}
	t.Logf("rolling restart: %v", rs)
	farBehind(ctx, t, l, ld)

	ld.Pause(true)
	active, err := l.WaitActive(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	defer ccancel()
	if err := ld.Check(cctx, active); err != nil {
		t.Fatal(err)
	}
	tr, fx := ld.Sent()
	t.Logf("checked: %d trader orders and %d FIX orders sent", tr, fx)
}

// farBehind kills a standby, lets the flow run until the leader has
// snapshotted past everything the standby holds, restarts it and waits for
// it to be a standby in sync again (it installs the snapshot).
func farBehind(ctx context.Context, t *testing.T, l *Local, ld *Load) {
	t.Helper()
	active, err := l.WaitActive(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	victim := (active + 1) % len(l.Nodes)
	before := status(ctx, t, l, victim)
	if err := l.Kill(victim); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The leader keeps 64 trailing entries after a snapshot: past
		// them, the victim's log cannot be continued from the leader's.
		st := status(ctx, t, l, active)
		if st.LastSnapshot > before.LastLogIndex+64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader snapshot at %d, victim's log at %d: the flow did not move the leader's snapshot past it in 60s", st.LastSnapshot, before.LastLogIndex)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := l.StartNode(victim); err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitActive(ctx, 2); err != nil {
		t.Fatal(err)
	}
	after := status(ctx, t, l, victim)
	if after.LastSnapshot <= before.LastLogIndex {
		t.Errorf("the standby far behind caught up without a snapshot? its snapshot index %d, its log was at %d", after.LastSnapshot, before.LastLogIndex)
	}
	t.Logf("standby %s rejoined far behind: log was at %d, snapshot installed at %d", l.Nodes[victim].ID, before.LastLogIndex, after.LastSnapshot)
}

// nodeStatus is part of GET /cluster.
type nodeStatus struct {
	Role         string `json:"role"`
	AppliedIndex uint64 `json:"applied_index"`
	LastLogIndex uint64 `json:"last_log_index"`
	LastSnapshot uint64 `json:"last_snapshot_index"`
}

func status(ctx context.Context, t *testing.T, l *Local, i int) nodeStatus {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Nodes[i].Feed+"/cluster", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st nodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /cluster on %s: %s: %v", l.Nodes[i].ID, resp.Status, err)
	}
	return st
}

// TestBadStart: a node started on another cluster's data directory, with
// a raft address its cluster's configuration does not have, or on a
// corrupt raft log stops at once with an error saying so, and leaves its
// data directory as it was.
func TestBadStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	l := startCluster(t)
	// A configuration with three members, then every node stopped.
	logBefore := status(context.Background(), t, l, 0).LastLogIndex
	for i := range l.Nodes {
		if err := l.Kill(i); err != nil {
			t.Fatal(err)
		}
	}
	n1 := l.Nodes[0]
	// strict: not a byte of the data directory changes. Otherwise the
	// node opened its raft log (bbolt's meta page then changes) before it
	// could tell: the log must still hold everything (checked after).
	run := func(t *testing.T, args []string, want string, strict bool) {
		t.Helper()
		before := hashDir(t, n1.Data)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("tickwire %s: %v (want a failure at start)\n%s", strings.Join(args, " "), err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q does not say %q", out, want)
		}
		if after := hashDir(t, n1.Data); strict && after != before {
			t.Errorf("the data directory changed:\n%s\nwas\n%s", after, before)
		}
	}
	args := l.Args(0)
	set := func(flag, v string) []string { return setIn(args, flag, v) }
	t.Run("another cluster's data", func(t *testing.T) {
		run(t, set("--cluster-id", "other"), `belongs to cluster "local"`, true)
	})
	t.Run("not a member at this address", func(t *testing.T) {
		ports, err := freePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		a := set("--raft-addr", ports[0])
		a = setIn(a, "--peers", strings.Replace(l.Peers(), n1.Raft, ports[0], 1))
		run(t, a, "not a member", false)
		// Its log is intact: started as it was, it rejoins its cluster with
		// everything it had.
		if err := l.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := l.WaitActive(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if st := status(ctx, t, l, 0); st.LastLogIndex < logBefore {
			t.Errorf("n1's log is at %d, it was at %d", st.LastLogIndex, logBefore)
		}
		for i := range l.Nodes {
			if err := l.Kill(i); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("corrupt raft log", func(t *testing.T) {
		db := filepath.Join(n1.Data, "raft", "raft.db")
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 64 && i < len(b); i++ {
			b[i] ^= 0xff // both bbolt meta pages start here: unreadable
		}
		if len(b) > 4096+64 {
			for i := 4096; i < 4096+64; i++ {
				b[i] ^= 0xff
			}
		}
		if err := os.WriteFile(db, b, 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, args, "raft log", true)
	})
}

func setIn(args []string, flag, v string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == flag {
			out[i+1] = v
		}
	}
	return out
}

// hashDir lists every file under dir with its SHA-256.
func hashDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %x\n", strings.TrimPrefix(path, dir), sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMembership: a node started with --join is added at run time by POST
// /cluster/voters on the Active (refused 421 on a standby, naming the
// Active), becomes a standby serving the journal, and is removed again by
// DELETE /cluster/voters/{id}.
func TestMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	l, err := New(Options{Bin: bin, Dir: dir, Nodes: 4, Joining: 1})
	if err != nil {
		t.Fatal(err)
	}
	closeWithLogs(t, l, dir)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	active, err := l.WaitActive(ctx, 2) // n4 waits to be added: not a standby yet
	if err != nil {
		t.Fatal(err)
	}
	n4 := l.Nodes[3]
	body := fmt.Sprintf(`{"id":%q,"raft":%q,"feed":%q}`, n4.ID, n4.Raft, n4.Feed)
	post := func(i int) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+l.Nodes[i].Feed+"/cluster/voters", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	standby := (active + 1) % 3
	if code, msg := post(standby); code != http.StatusMisdirectedRequest || !strings.Contains(msg, "the active node is "+l.Nodes[active].ID) {
		t.Errorf("POST on a standby: %d %q, want 421 naming the active node", code, msg)
	}
	if code, msg := post(active); code != http.StatusOK {
		t.Fatalf("POST on the active node: %d %q", code, msg)
	}
	if _, err := l.WaitActive(ctx, 3); err != nil {
		t.Fatalf("n4 added: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+l.Nodes[active].Feed+"/cluster/voters/"+n4.ID, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	var st struct {
		Configuration []struct{ ID string } `json:"configuration"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Nodes[active].Feed+"/cluster", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Configuration) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("configuration after DELETE: %+v", st.Configuration)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
