package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Demo is what `tickwire cluster demo` runs besides the dashboard: three
// nodes replaying the embedded ticks, a FIX counterparty (`tickwire
// fixclient` with the nodes as alternate hosts) sending orders for
// account DEMO, and a killer that SIGKILLs the Active every KillEvery and
// restarts it RestartAfter later.
type Demo struct {
	Bin          string
	Dir          string
	Speed        float64
	OrderRate    float64
	KillEvery    time.Duration
	RestartAfter time.Duration
	Logger       *slog.Logger
	// Killed, when not nil, is told of each kill (the dashboard's title).
	Killed func(node string)
}

// DemoAccount is the account of the demo counterparty's orders.
const DemoAccount = "DEMO"

// Start starts the nodes and the counterparty and waits for an Active.
// Stop the returned cluster with Close; the counterparty ends with ctx.
func (d Demo) Start(ctx context.Context) (*Local, error) {
	l, err := New(Options{Bin: d.Bin, Dir: d.Dir, FIX: true,
		Args: []string{"--replay", "embedded", "--speed", fmt.Sprint(d.Speed), "--stale-after", "4s"}})
	if err != nil {
		return nil, err
	}
	if err := l.Start(); err != nil {
		l.Close()
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	active, err := l.WaitActive(wctx, len(l.Nodes)-1)
	if err != nil {
		l.Close()
		return nil, err
	}
	d.Logger.Info("cluster up", "active", l.Nodes[active].ID, "urls", l.URLs(), "dir", d.Dir)
	// The counterparty tries the Active first; the others are alternates
	// (SocketConnectHost1/Port1...), tried in turn after a failover.
	addrs := l.FIXAddrs()
	addrs[0], addrs[active] = addrs[active], addrs[0]
	args := []string{"fixclient", "--addr", addrs[0], "--alt", strings.Join(addrs[1:], ","), "--account", DemoAccount,
		"--orders", "1000000", "--rate", fmt.Sprint(d.OrderRate), "--cancel-every", "5", "--replace-every", "7", "--window", "10",
		"--store", filepath.Join(d.Dir, "fixclient"), "--log", filepath.Join(d.Dir, "fixclient.log")}
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		l.Close()
		return nil, fmt.Errorf("fix counterparty: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	go d.killer(ctx, l)
	return l, nil
}

// URLs are the nodes' WebSocket URLs, the Active's first: the dashboard
// starts on the node the first kill takes down, so the failover shows.
func (d Demo) URLs(ctx context.Context, l *Local) []string {
	urls := l.URLs()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if active, err := l.WaitActive(wctx, 0); err == nil {
		urls[0], urls[active] = urls[active], urls[0]
	}
	return urls
}

// killer SIGKILLs the Active every KillEvery and restarts it RestartAfter
// later, so the cluster keeps its three nodes (and its quorum).
func (d Demo) killer(ctx context.Context, l *Local) {
	if d.KillEvery <= 0 {
		return
	}
	tick := time.NewTicker(d.KillEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		active, err := l.WaitActive(wctx, 0)
		cancel()
		if err != nil {
			d.Logger.Warn("demo: no active node to kill", "err", err)
			continue
		}
		d.Logger.Info("demo: kill -9 of the active node", "node", l.Nodes[active].ID)
		if d.Killed != nil {
			d.Killed(l.Nodes[active].ID)
		}
		if err := l.Kill(active); err != nil {
			d.Logger.Warn("demo: kill", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.RestartAfter):
		}
		if err := l.StartNode(active); err != nil {
			d.Logger.Warn("demo: restart", "node", l.Nodes[active].ID, "err", err)
		}
	}
}

// TempDir makes (or empties) the demo's directory under the system's
// temporary directory: its nodes' data and logs stay there after it ends.
func TempDir(name string) (string, error) {
	dir := filepath.Join(os.TempDir(), name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o700)
}
