package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/client"
	"tickwire/fix/fixclient"
)

// OrderBench is the order path measured on one gateway address: D ->
// ER(New) one order at a time, and pipelined throughput on one session.
type OrderBench struct {
	P50, P99  time.Duration
	PerSecond float64
}

// BenchOrders measures the gateway at addr with a quickfix counterparty
// (store: its message store): n orders one at a time, then pipelined
// orders with a window of 100.
func BenchOrders(ctx context.Context, addr, store string, n, pipelined int, log *slog.Logger) (OrderBench, error) {
	var r OrderBench
	settings, err := fixclient.Settings(fixclient.Options{Addrs: []string{addr}, SenderCompID: "DEMOCLIENT", TargetCompID: "TICKWIRE", StoreDir: store})
	if err != nil {
		return r, err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := fixclient.Connect(lctx, settings, log)
	cancel()
	if err != nil {
		return r, err
	}
	defer c.Stop()
	prefix := "B" + time.Now().UTC().Format("150405.000") + "-"
	var lat []time.Duration
	for i := range n {
		cl := prefix + strconv.Itoa(i)
		start := time.Now()
		if err := c.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Account: "BENCH", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1000"})); err != nil {
			return r, err
		}
		for {
			m, err := c.Next(ctx)
			if err != nil {
				return r, err
			}
			if m.Type == "8" && m.Get(tag.ClOrdID) == cl {
				lat = append(lat, time.Since(start))
				break
			}
		}
	}
	r.P50, r.P99 = Percentile(lat, 50), Percentile(lat, 99)
	// Drain what the first part left (fills), then the pipelined flow.
	drain(c)
	res, err := c.RunFlow(ctx, fixclient.Flow{Orders: pipelined, Rate: 0, Window: 100, Symbols: []string{"EURUSD"}, Account: "BENCH",
		Qty: "1000", Prefix: prefix + "p", Settle: 3 * time.Second}, nil)
	if err != nil {
		return r, err
	}
	if len(res.Mismatches) > 0 {
		return r, fmt.Errorf("pipelined flow: %d mismatches, first %s", len(res.Mismatches), res.Mismatches[0])
	}
	r.PerSecond = float64(res.Orders) / res.Elapsed.Seconds()
	return r, nil
}

func drain(c *fixclient.Client) {
	for {
		select {
		case <-c.Messages():
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

// SingleNode is `tickwire server` with the FIX gateway and a durable
// journal, one process: the baseline of the cluster's order path.
type SingleNode struct {
	Feed, FIX string
	cmd       *exec.Cmd
	done      chan struct{}
}

// StartSingle starts a single node under dir.
func StartSingle(bin, dir string) (*SingleNode, error) {
	return startSingle(bin, dir, "single", true, "--replay", "embedded", "--speed", "10")
}

// startSingle starts a single node named name under dir (its data in
// dir/name, its log dir/name.log), with the FIX gateway when fix, and
// more server flags args.
func startSingle(bin, dir, name string, fix bool, args ...string) (*SingleNode, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &SingleNode{Feed: ports[0], done: make(chan struct{})}
	args = append([]string{"server", "--listen", s.Feed, "--data", filepath.Join(dir, name), "--insecure-open",
		"--stale-after", "0", "--log", filepath.Join(dir, name+".log")}, args...)
	if fix {
		s.FIX = ports[1]
		cfg := filepath.Join(dir, name+"-fix.cfg")
		settings := strings.Replace(fixSettings(s.FIX, "DEMOCLIENT"), "TickwireMessageStore=journal\n", "", 1)
		if err := os.WriteFile(cfg, []byte(settings), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--fix-config", cfg, "--fix-data", filepath.Join(dir, name, "fix"))
	}
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	return s, nil
}

// Stop kills the single node.
func (s *SingleNode) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// CascadeCost measures the Active's CPU per price subscriber like a
// standby's cascade (a client of every price topic), per 100 updates/s:
// the Active's CPU over window with the cluster's own standbys, then with
// extra more such clients, the difference per client, scaled by the
// update rate the clients received.
type CascadeCost struct {
	UpdatesPerSec      float64 // price updates a cascade client received per second
	BaseCPU, LoadedCPU float64 // the Active's CPU, share of one core
	Extra              int
	PerClientPer100    float64 // share of one core per cascade client per 100 updates/s
}

// BenchCascade measures CascadeCost on l's Active.
func BenchCascade(ctx context.Context, l *Local, active int, topics []string, extra int, window time.Duration) (CascadeCost, error) {
	r := CascadeCost{Extra: extra}
	pid := l.Nodes[active].pid()
	if pid == 0 {
		return r, fmt.Errorf("n%d: no process", active+1)
	}
	var err error
	if r.BaseCPU, err = cpuShare(ctx, pid, window); err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counts := make([]atomic.Int64, extra)
	done := make(chan struct{}, extra)
	started := time.Now()
	for i := range extra {
		cl := client.New(client.Options{URLs: []string{l.Nodes[active].URL()}, Name: "bench-cascade", Topics: topics, TelemetryEvery: -1,
			Logger: slog.New(slog.DiscardHandler)})
		go func() { _ = cl.Run(ctx); done <- struct{}{} }()
		go func() {
			for ev := range cl.Events() {
				if _, ok := ev.(client.PriceEvent); ok {
					counts[i].Add(1)
				}
			}
		}()
	}
	if r.LoadedCPU, err = cpuShare(ctx, pid, window); err != nil {
		return r, err
	}
	elapsed := time.Since(started)
	cancel()
	for range extra {
		<-done
	}
	total := int64(0)
	for i := range counts {
		total += counts[i].Load()
	}
	r.UpdatesPerSec = float64(total) / float64(extra) / elapsed.Seconds()
	if r.UpdatesPerSec > 0 && extra > 0 {
		r.PerClientPer100 = (r.LoadedCPU - r.BaseCPU) / float64(extra) / (r.UpdatesPerSec / 100)
	}
	return r, nil
}

// pid is the node's process id, 0 when it is not running.
func (n *Node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// cpuShare is the process's CPU time over window, as a share of one core
// (utime + stime from /proc/PID/stat).
func cpuShare(ctx context.Context, pid int, window time.Duration) (float64, error) {
	a, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(window):
	}
	b, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	const hz = 100 // USER_HZ on Linux
	return float64(b-a) / hz / time.Since(start).Seconds(), nil
}

func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime/stime", pid)
	}
	return u + st, nil
}

// BenchOptions configure Bench.
type BenchOptions struct {
	Bin, Dir string
	// Orders one at a time, and pipelined. Defaults 2000 and 5000.
	Orders, Pipelined int
	// Extra cascade-like clients for CascadeCost. Default 10.
	Extra  int
	Window time.Duration // CPU measuring window. Default 10 s.
	// Capacity configures the delivered-message capacity phase
	// (BenchCapacity; its Bin, Dir and Logger are these); SkipCapacity
	// skips it.
	Capacity     CapacityOptions
	SkipCapacity bool
	Logger       *slog.Logger
}

// BenchResult is Bench's measures.
type BenchResult struct {
	Single, Cluster OrderBench
	Cascade         CascadeCost
	Capacity        *Capacity // nil when skipped
}

// Bench measures the order path of a single node (the baseline) and of a
// 3-voter cluster's Active, in the same run, the cascade's cost on the
// Active and, unless o.SkipCapacity, the delivered-message capacity of a
// cluster against a single node (BenchCapacity).
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	var r BenchResult
	if o.Orders <= 0 {
		o.Orders = 2000
	}
	if o.Pipelined <= 0 {
		o.Pipelined = 5000
	}
	if o.Extra <= 0 {
		o.Extra = 10
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	o.Capacity.Bin, o.Capacity.Dir, o.Capacity.Logger = o.Bin, o.Dir, o.Logger
	if !o.SkipCapacity {
		if err := o.Capacity.check(); err != nil { // before minutes of the other phases
			return r, err
		}
	}
	single, err := StartSingle(o.Bin, o.Dir)
	if err != nil {
		return r, err
	}
	r.Single, err = BenchOrders(ctx, single.FIX, filepath.Join(o.Dir, "bench-single-client"), o.Orders, o.Pipelined, o.Logger)
	single.Stop()
	if err != nil {
		return r, fmt.Errorf("single node: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "cluster"), 0o700); err != nil {
		return r, err
	}
	l, active, err := startActive(ctx, Options{Bin: o.Bin, Dir: filepath.Join(o.Dir, "cluster"), FIX: true,
		Args: []string{"--replay", "embedded", "--speed", "10", "--stale-after", "0"}})
	if err != nil {
		return r, err
	}
	defer l.Close()
	r.Cluster, err = BenchOrders(ctx, l.Nodes[active].FIX, filepath.Join(o.Dir, "bench-cluster-client"), o.Orders, o.Pipelined, o.Logger)
	if err != nil {
		return r, fmt.Errorf("cluster: %w", err)
	}
	topics, err := priceTopics(ctx, "http://"+l.Nodes[active].Feed)
	if err != nil {
		return r, err
	}
	r.Cascade, err = BenchCascade(ctx, l, active, topics, o.Extra, o.Window)
	l.Close() // the capacity phase runs its own nodes, alone
	if err != nil || o.SkipCapacity {
		return r, err
	}
	c, err := BenchCapacity(ctx, o.Capacity)
	if err != nil {
		return r, err
	}
	r.Capacity = &c
	return r, nil
}

// priceTopics are the conflated topics of the node at base.
func priceTopics(ctx context.Context, base string) ([]string, error) {
	all, err := topicKinds(ctx, base)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, kind := range all {
		if kind != "sequenced" && !strings.HasPrefix(name, "requests.") {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no price topics at %s", base)
	}
	return out, nil
}

// Write reports r: the order path of both, with their ratio, and the
// cascade's cost.
func (r BenchResult) Write(w io.Writer) {
	ratio := func(a, b float64) float64 { return a / max(b, 1e-9) }
	fmt.Fprintf(w, "order path (quickfix counterparty on loopback)   single node          3-voter cluster      ratio\n")
	fmt.Fprintf(w, "  D -> ER(New) p50                                %-20v %-20v %.2fx\n", r.Single.P50.Round(time.Microsecond), r.Cluster.P50.Round(time.Microsecond), ratio(float64(r.Cluster.P50), float64(r.Single.P50)))
	fmt.Fprintf(w, "  D -> ER(New) p99                                %-20v %-20v %.2fx\n", r.Single.P99.Round(time.Microsecond), r.Cluster.P99.Round(time.Microsecond), ratio(float64(r.Cluster.P99), float64(r.Single.P99)))
	fmt.Fprintf(w, "  pipelined, window 100 (orders/s)                %-20.0f %-20.0f %.2fx\n", r.Single.PerSecond, r.Cluster.PerSecond, ratio(r.Cluster.PerSecond, r.Single.PerSecond))
	c := r.Cascade
	fmt.Fprintf(w, "cascade cost on the active: %.0f price updates/s per client; active CPU %.1f%% of a core with its 2 standbys, %.1f%% with %d more cascade clients: %.2f%% of a core per standby per 100 updates/s\n",
		c.UpdatesPerSec, 100*c.BaseCPU, 100*c.LoadedCPU, c.Extra, 100*c.PerClientPer100)
	if r.Capacity != nil {
		r.Capacity.Write(w)
	}
}

// startActive starts a local cluster and waits (30 s at most) until a node
// is Active and two more are ready; the caller closes the cluster.
func startActive(ctx context.Context, o Options) (*Local, int, error) {
	l, err := New(o)
	if err != nil {
		return nil, 0, err
	}
	if err := l.Start(); err != nil {
		l.Close()
		return nil, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	active, err := l.WaitActive(wctx, 2)
	cancel()
	if err != nil {
		l.Close()
		return nil, 0, err
	}
	return l, active, nil
}
