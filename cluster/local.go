// Package cluster runs a tickwire cluster of local processes: each node a
// child process `tickwire server --cluster` of the same binary on
// 127.0.0.1, with its own ports and data directory. `tickwire cluster demo`
// shows failover on it; the process-level tests, the soak and the failover
// benchmark kill its nodes with SIGKILL, freeze them with SIGSTOP and restart
// them (docs/HA.md).
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a Local cluster.
type Options struct {
	// Bin is the tickwire binary. Required.
	Bin string
	// Dir holds each node's data directory, FIX settings and log. Required.
	Dir string
	// Nodes is the number of nodes. Default 3.
	Nodes int
	// ClusterID names the cluster. Default "local".
	ClusterID string
	// FIX runs the FIX gateway on the Active, one acceptor port per node,
	// for the counterparty CompID FIXClient (default DEMOCLIENT).
	FIX       bool
	FIXClient string
	// Args are more `tickwire server` flags for every node (replay, speed...).
	Args []string
	// Joining is how many of the last nodes are not initial members: they
	// start with --join and wait to be added (POST /cluster/voters).
	Joining int
	// Output, when not nil, receives each node's stdout and stderr, each line
	// prefixed with the node's id. Default: discarded (the logs are in
	// Dir/ID.log).
	Output io.Writer
}

// Node is one node of a Local cluster.
type Node struct {
	ID   string
	Raft string // raft address
	Feed string // feed (WebSocket, HTTP) address
	FIX  string // FIX acceptor address ("" without Options.FIX)
	Data string // data directory
	Log  string // log file

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// URL is the node's WebSocket URL.
func (n *Node) URL() string { return "ws://" + n.Feed + "/ws" }

// Running reports whether the node's process runs (stopped with SIGSTOP
// counts as running).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Local is a cluster of local processes.
type Local struct {
	opts  Options
	Nodes []*Node
	http  *http.Client
}

// New allocates the nodes' ports and directories and writes their FIX
// settings; Start starts them.
func New(opts Options) (*Local, error) {
	if opts.Bin == "" || opts.Dir == "" {
		return nil, errors.New("cluster: Options.Bin and Options.Dir are required")
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "local"
	}
	if opts.FIXClient == "" {
		opts.FIXClient = "DEMOCLIENT"
	}
	l := &Local{opts: opts, http: &http.Client{Timeout: 500 * time.Millisecond}}
	for i := range opts.Nodes {
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		n := &Node{ID: fmt.Sprintf("n%d", i+1), Raft: ports[0], Feed: ports[1]}
		n.Data = filepath.Join(opts.Dir, n.ID)
		n.Log = filepath.Join(opts.Dir, n.ID+".log")
		if opts.FIX {
			n.FIX = ports[2]
			if err := os.WriteFile(filepath.Join(opts.Dir, n.ID+"-fix.cfg"), []byte(fixSettings(n.FIX, opts.FIXClient)), 0o600); err != nil {
				return nil, fmt.Errorf("cluster: %w", err)
			}
		}
		l.Nodes = append(l.Nodes, n)
	}
	return l, nil
}

// fixSettings are a node's FIX acceptor settings: one counterparty, open
// logon on loopback, its sequence numbers in the replicated journal.
func fixSettings(addr, client string) string {
	_, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%s
HeartBtInt=5
ResetOnLogon=N
ResetOnLogout=N
ResetOnDisconnect=N
TickwireMessageStore=journal
[SESSION]
BeginString=FIX.4.4
SenderCompID=TICKWIRE
TargetCompID=%s
TickwireAccounts=*
TickwireOpenLogon=Y
`, port, client)
}

// freePorts returns n free loopback addresses.
func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: free port: %w", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// Peers is the --peers value of every initial node.
func (l *Local) Peers() string {
	var ps []string
	for _, n := range l.Nodes[:len(l.Nodes)-l.opts.Joining] {
		ps = append(ps, n.ID+"="+n.Raft+"="+n.Feed)
	}
	return strings.Join(ps, ",")
}

// URLs are the nodes' WebSocket URLs, in node order: a trader's --server list.
func (l *Local) URLs() []string {
	out := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		out[i] = n.URL()
	}
	return out
}

// FIXAddrs are the nodes' FIX acceptor addresses: a counterparty's primary
// and alternates.
func (l *Local) FIXAddrs() []string {
	out := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		out[i] = n.FIX
	}
	return out
}

// Args are node i's `tickwire server` arguments.
func (l *Local) Args(i int) []string {
	n := l.Nodes[i]
	args := []string{"server", "--cluster", "--node-id", n.ID, "--cluster-id", l.opts.ClusterID,
		"--raft-addr", n.Raft, "--listen", n.Feed, "--data", n.Data,
		"--insecure-open", "--log", n.Log, "--log-level", "info"}
	if i >= len(l.Nodes)-l.opts.Joining {
		args = append(args, "--join")
	} else {
		args = append(args, "--peers", l.Peers())
	}
	if n.FIX != "" {
		args = append(args, "--fix-config", filepath.Join(l.opts.Dir, n.ID+"-fix.cfg"), "--fix-data", filepath.Join(n.Data, "fix"))
	}
	return append(args, l.opts.Args...)
}

// Start starts every node that is not running.
func (l *Local) Start() error {
	for i, n := range l.Nodes {
		if !n.Running() {
			if err := l.StartNode(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// StartNode starts node i's process (again).
func (l *Local) StartNode(i int) error {
	n := l.Nodes[i]
	cmd := exec.Command(l.opts.Bin, l.Args(i)...)
	// stdout and stderr (a panic, a goroutine dump on SIGQUIT) go to
	// ID.out, and to Output when set.
	f, err := os.OpenFile(filepath.Join(l.opts.Dir, n.ID+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	var out io.Writer = f
	if l.opts.Output != nil {
		out = io.MultiWriter(f, &prefixWriter{w: l.opts.Output, prefix: n.ID + " | "})
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("cluster: start %s: %w", n.ID, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	return nil
}

// Signal sends sig to node i's process (SIGKILL, SIGSTOP, SIGCONT,
// SIGTERM); for SIGKILL and SIGTERM it waits until the process has exited
// (at most 30 s).
func (l *Local) Signal(i int, sig syscall.Signal) error {
	n := l.Nodes[i]
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("cluster: %s was never started", n.ID)
	}
	if sig == syscall.SIGTERM {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a frozen node could not stop
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: signal %s: %w", n.ID, err)
	}
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump in ID.out
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		return fmt.Errorf("cluster: %s did not exit within 30s of %v (goroutines in %s.out)", n.ID, sig, n.ID)
	}
}

// Kill kills node i with SIGKILL and waits for its exit.
func (l *Local) Kill(i int) error { return l.Signal(i, syscall.SIGKILL) }

// Close kills every node still running.
func (l *Local) Close() {
	for i, n := range l.Nodes {
		if n.Running() {
			_ = l.Signal(i, syscall.SIGCONT)
			_ = l.Kill(i)
		}
	}
}

// State is node i's state as its /readyz says ("active", "standby",
// "syncing"...), "" when it does not answer.
func (l *Local) State(ctx context.Context, i int) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Nodes[i].Feed+"/readyz", nil)
	if err != nil {
		return ""
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	s := strings.TrimSpace(string(b))
	for _, p := range []string{"ready: ", "not ready: node ", "not ready: "} {
		if strings.HasPrefix(s, p) {
			return strings.TrimPrefix(s, p)
		}
	}
	return s
}

// States are every node's State.
func (l *Local) States(ctx context.Context) []string {
	out := make([]string, len(l.Nodes))
	var wg sync.WaitGroup
	for i := range l.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = l.State(ctx, i)
		}()
	}
	wg.Wait()
	return out
}

// WaitActive waits until exactly one node other than those in not says it
// is active and, with standbys, that many others say standby; it returns
// the active node's index.
func (l *Local) WaitActive(ctx context.Context, standbys int, not ...int) (int, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last []string // as last seen before ctx ended: a poll after says nothing
	for {
		states := l.States(ctx)
		if ctx.Err() == nil {
			last = states
		}
		active, standby := -1, 0
		ok := true
		for i, s := range states {
			excluded := false
			for _, x := range not {
				excluded = excluded || x == i
			}
			switch {
			case s == "active" && !excluded && active < 0:
				active = i
			case s == "active":
				ok = false // two say active, or an excluded one still does
			case s == "standby":
				standby++
			}
		}
		if ok && active >= 0 && standby >= standbys {
			return active, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("cluster: no active node with %d standbys (states %q): %w", standbys, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// prefixWriter prefixes each line written to w.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.mid = true
			_, err := p.w.Write(b)
			return n, err
		}
		if _, err := p.w.Write(b[:i+1]); err != nil {
			return 0, err
		}
		p.mid = false
		b = b[i+1:]
	}
	return n, nil
}
