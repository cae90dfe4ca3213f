package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/bench"
	"tickwire/client"
	"tickwire/protocol"
)

// Bounds of CapacityOptions: what a command line may ask for.
const (
	maxCapacityClients = 5000
	maxCapacityWindow  = 10 * time.Minute
	maxCapacityRate    = 100_000
	maxCapacityTopics  = 1000 // under a node's MaxTopicsPerClient (1,024)
)

// CapacityOptions configure BenchCapacity.
type CapacityOptions struct {
	Bin, Dir string
	// Clients is the number of price subscribers of each setup: spread
	// evenly over the cluster's nodes, all of them on the single node.
	// Default 300, at most 5,000.
	Clients int
	// Window is the measuring time of each setup. Default 10 s, at most 10 min.
	Window time.Duration
	// Rate is the source: price updates published per second (through the
	// feed protocol, to the single node or the Active), round robin over
	// Topics topics. Defaults 2,000/s and 20, at most 100,000/s and 1,000.
	Rate   int
	Topics int
	Logger *slog.Logger
}

// check applies the defaults and bounds o.
func (o *CapacityOptions) check() error {
	if o.Clients == 0 {
		o.Clients = 300
	}
	if o.Window == 0 {
		o.Window = 10 * time.Second
	}
	if o.Rate == 0 {
		o.Rate = 2000
	}
	if o.Topics == 0 {
		o.Topics = 20
	}
	switch {
	case o.Clients < 0 || o.Clients > maxCapacityClients:
		return fmt.Errorf("capacity: %d clients: want 1 to %d", o.Clients, maxCapacityClients)
	case o.Window < 0 || o.Window > maxCapacityWindow:
		return fmt.Errorf("capacity: window %v: want up to %v", o.Window, maxCapacityWindow)
	case o.Rate < 0 || o.Rate > maxCapacityRate:
		return fmt.Errorf("capacity: rate %d/s: want 1 to %d", o.Rate, maxCapacityRate)
	case o.Topics < 0 || o.Topics > maxCapacityTopics:
		return fmt.Errorf("capacity: %d topics: want 1 to %d", o.Topics, maxCapacityTopics)
	}
	return nil
}

// NodeCapacity is one node's share of a capacity run.
type NodeCapacity struct {
	Node    string // "n1", or "single"
	Role    string // "active", "standby", or "" for the single node
	Clients int
	// Delivered is the price values its clients received per second.
	Delivered float64
	// AgeP99 is the 99th percentile of the delivered values' data age: the
	// value's source time (its publisher's clock at the publish) to its
	// receipt by the client, on the same clock.
	AgeP99 time.Duration
	// CPU is the node's process CPU (utime+stime), share of one core.
	CPU float64
	// PerDelivery is CPU per delivered value: everything the node does
	// (on the Active: the publishes, raft, the cascade to the standbys; on a
	// standby: its cascade client) divided by its clients' deliveries.
	PerDelivery time.Duration
}

// CapacitySetup is one setup's measures: the single node, or the cluster.
type CapacitySetup struct {
	Nodes []NodeCapacity
	// SourceRate is the price updates the single node or the Active took
	// per second (all topics).
	SourceRate float64
	// BenchCPU is the CPU of this process (the clients), share of one core.
	BenchCPU float64
}

// Delivered is the setup's price values delivered per second, all nodes.
func (s CapacitySetup) Delivered() float64 {
	var d float64
	for _, n := range s.Nodes {
		d += n.Delivered
	}
	return d
}

// Offered is what the clients would have received per second without
// conflation: each client is subscribed to every topic.
func (s CapacitySetup) Offered() float64 {
	c := 0
	for _, n := range s.Nodes {
		c += n.Clients
	}
	return s.SourceRate * float64(c)
}

// Capacity is BenchCapacity's result.
type Capacity struct {
	Clients, Rate, Topics int
	Window                time.Duration
	Single, Cluster       CapacitySetup
}

// BenchCapacity measures the delivered-message capacity of a 3-node
// cluster (the Active and two standbys, each serving a third of Clients
// price subscribers, the standbys fed by the cascade) against one single
// node serving all Clients, in the same run: each setup fresh, one after
// the other, its source a publisher of Rate updates/s over Topics topics.
// Every client is a client.Client of the feed protocol subscribed to every
// topic. All the processes, the clients' and the publisher's included,
// share this machine's cores.
func BenchCapacity(ctx context.Context, o CapacityOptions) (Capacity, error) {
	if err := o.check(); err != nil {
		return Capacity{}, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := Capacity{Clients: o.Clients, Rate: o.Rate, Topics: o.Topics, Window: o.Window}
	dir := filepath.Join(o.Dir, "capacity")
	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o700); err != nil {
		return r, fmt.Errorf("capacity: %w", err)
	}
	// No replay: the publisher is the only source, at the same rate on both.
	args := []string{"--stale-after", "0", "--max-pre-hello-per-addr", "0"}

	single, err := startSingle(o.Bin, dir, "single", false, args...)
	if err != nil {
		return r, fmt.Errorf("capacity: single node: %w", err)
	}
	r.Single, err = measureCapacity(ctx, []capacityTarget{{name: "single", feed: single.Feed, pid: single.pid()}}, 0, o)
	single.Stop()
	if err != nil {
		return r, fmt.Errorf("capacity: single node: %w", err)
	}

	l, active, err := startActive(ctx, Options{Bin: o.Bin, Dir: filepath.Join(dir, "cluster"), Args: args})
	if err != nil {
		return r, fmt.Errorf("capacity: %w", err)
	}
	defer l.Close()
	var ts []capacityTarget
	for i, n := range l.Nodes {
		role := "standby"
		if i == active {
			role = "active"
		}
		ts = append(ts, capacityTarget{name: n.ID, role: role, feed: n.Feed, pid: n.pid()})
	}
	r.Cluster, err = measureCapacity(ctx, ts, active, o)
	if err != nil {
		return r, fmt.Errorf("capacity: cluster: %w", err)
	}
	return r, nil
}

// pid is the single node's process id.
func (s *SingleNode) pid() int { return s.cmd.Process.Pid }

// capacityTarget is one node a capacity run loads.
type capacityTarget struct {
	name, role, feed string
	pid              int
}

// capacityNode is a target's clients' counters.
type capacityNode struct {
	clients   []*atomic.Int64 // each client's price values
	ages      bench.Hist
	measuring atomic.Bool
}

func (n *capacityNode) count() int64 {
	var t int64
	for _, c := range n.clients {
		t += c.Load()
	}
	return t
}

// measureCapacity loads targets with o.Clients subscribers spread evenly
// (client i on target i mod len), waits until every one has a price,
// then measures each target over o.Window. source is the index of the
// target that publishes (the single node, the Active).
func measureCapacity(ctx context.Context, targets []capacityTarget, source int, o CapacityOptions) (CapacitySetup, error) {
	var r CapacitySetup
	for _, t := range targets {
		if t.pid == 0 {
			return r, fmt.Errorf("%s: no process", t.name)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	topics := make([]string, o.Topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("capacity.t%03d", i)
	}
	pubErr := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); pubErr <- publish(ctx, "ws://"+targets[source].feed+"/ws", topics, o.Rate) }()
	// Every node lists every topic once its source (the publisher, the
	// cascade) has had a value of each.
	wait, cancelWait := context.WithTimeout(ctx, 30*time.Second)
	defer cancelWait()
	for _, t := range targets {
		if err := pollUntil(wait, func() bool { return hasTopics(wait, t.feed, topics) }); err != nil {
			select {
			case perr := <-pubErr:
				err = perr
			default:
			}
			return r, fmt.Errorf("%s does not list the %d topics: %w", t.name, len(topics), err)
		}
	}
	nodes := make([]*capacityNode, len(targets))
	for i := range nodes {
		nodes[i] = &capacityNode{}
	}
	for i := range o.Clients {
		n := nodes[i%len(targets)]
		count := new(atomic.Int64)
		n.clients = append(n.clients, count)
		cl := client.New(client.Options{URLs: []string{"ws://" + targets[i%len(targets)].feed + "/ws"}, Name: "bench-capacity",
			Topics: topics, TelemetryEvery: -1, Logger: slog.New(slog.DiscardHandler)})
		wg.Add(2)
		go func() { defer wg.Done(); _ = cl.Run(ctx) }()
		go func() {
			defer wg.Done()
			for ev := range cl.Events() {
				p, ok := ev.(client.PriceEvent)
				if !ok || p.StatusOnly {
					continue
				}
				count.Add(1)
				if n.measuring.Load() {
					n.ages.Record(p.Received.Sub(p.Time))
				}
			}
		}()
	}
	// Every client has had a price: all connected and subscribed.
	wait, cancelWait = context.WithTimeout(ctx, 30*time.Second)
	defer cancelWait()
	if err := pollUntil(wait, func() bool {
		for _, n := range nodes {
			for _, c := range n.clients {
				if c.Load() == 0 {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return r, fmt.Errorf("%d clients: not every one got a price within 30 s: %w", o.Clients, err)
	}

	select {
	case err := <-pubErr:
		return r, fmt.Errorf("publisher: %w", err)
	default:
	}
	seq0, err := sourceSeq(ctx, targets[source].feed, topics)
	if err != nil {
		return r, err
	}
	counts0 := make([]int64, len(nodes))
	cpu0 := make([]uint64, len(nodes))
	for i, n := range nodes {
		n.measuring.Store(true)
		counts0[i] = n.count()
		if cpu0[i], err = cpuTicks(targets[i].pid); err != nil {
			return r, fmt.Errorf("%s: %w", targets[i].name, err)
		}
	}
	self0, err := cpuTicks(os.Getpid())
	if err != nil {
		return r, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(o.Window):
	}
	elapsed := time.Since(start).Seconds()
	const hz = 100 // USER_HZ on Linux
	for i, n := range nodes {
		cpu1, err := cpuTicks(targets[i].pid)
		if err != nil {
			return r, fmt.Errorf("%s: %w", targets[i].name, err)
		}
		n.measuring.Store(false)
		nc := NodeCapacity{Node: targets[i].name, Role: targets[i].role, Clients: len(n.clients),
			Delivered: float64(n.count()-counts0[i]) / elapsed, AgeP99: n.ages.Quantile(0.99),
			CPU: float64(cpu1-cpu0[i]) / hz / elapsed}
		if nc.Delivered > 0 {
			nc.PerDelivery = time.Duration(nc.CPU / nc.Delivered * float64(time.Second))
		}
		r.Nodes = append(r.Nodes, nc)
	}
	self1, err := cpuTicks(os.Getpid())
	if err != nil {
		return r, err
	}
	r.BenchCPU = float64(self1-self0) / hz / elapsed
	seq1, err := sourceSeq(ctx, targets[source].feed, topics)
	if err != nil {
		return r, err
	}
	r.SourceRate = float64(seq1-seq0) / elapsed
	select {
	case err := <-pubErr:
		return r, fmt.Errorf("publisher: %w", err)
	default:
	}
	return r, nil
}

// publish publishes rate price updates per second to the server at url,
// round robin over topics, each stamped with the time it is sent, every
// 10 ms (what is due since it started: a late tick sends more, at most
// 100 ms worth), until ctx ends. It returns early on the server's refusal.
func publish(ctx context.Context, url string, topics []string, rate int) error {
	cl := client.New(client.Options{URLs: []string{url}, Name: "bench-capacity-publisher", TelemetryEvery: -1,
		Logger: slog.New(slog.DiscardHandler)})
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() { defer close(done); _ = cl.Run(pctx) }()
	refused := make(chan error, 1)
	go func() {
		for ev := range cl.Events() {
			if e, ok := ev.(client.ErrorEvent); ok {
				select {
				case refused <- fmt.Errorf("refused: %v", e.Err):
				default:
				}
			}
		}
	}()
	const every = 10 * time.Millisecond
	tick := time.NewTicker(every)
	defer tick.Stop()
	next, sent, start := 0, 0, time.Now()
	prices := make([]protocol.Price, rate/10+1)
	frames := make([]protocol.Frame, 0, len(prices))
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case err := <-refused:
			return err
		case <-tick.C:
		}
		due := int(float64(rate) * time.Since(start).Seconds())
		if due-sent > len(prices) {
			sent = due - len(prices) // too late: skip, as a conflated source may
		}
		frames = frames[:0]
		now := time.Now().UnixNano()
		for i := 0; sent < due; i++ {
			sent++
			p := &prices[i]
			*p = protocol.Price{Type: protocol.TypePublish, Topic: topics[next], Time: now}
			mid := 1.1 + float64(n%1000)/1e5
			p.Quote.Put(protocol.Bid, mid-0.00005)
			p.Quote.Put(protocol.Ask, mid+0.00005)
			frames = append(frames, p)
			next = (next + 1) % len(topics)
		}
		// Messages well under the server's 64 KiB (a frame is < 64 bytes).
		// Not connected yet, or a lost link: these values are skipped (a
		// conflated source), the next tick's go out.
		for i := 0; i < len(frames); i += 500 {
			_ = cl.Publish(frames[i:min(i+500, len(frames))]...)
		}
	}
}

// hasTopics reports whether the node at feed lists every one of topics.
func hasTopics(ctx context.Context, feed string, topics []string) bool {
	all, err := topicKinds(ctx, "http://"+feed)
	if err != nil {
		return false
	}
	for _, t := range topics {
		if _, ok := all[t]; !ok {
			return false
		}
	}
	return true
}

// sourceSeq is the sum of topics' sequence numbers on the node at feed:
// the values published so far.
func sourceSeq(ctx context.Context, feed string, topics []string) (uint64, error) {
	all, err := topicList(ctx, "http://"+feed)
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	var s uint64
	for _, t := range all {
		if want[t.Name] {
			s += t.Seq
		}
	}
	return s, nil
}

// pollUntil polls cond every 20 ms until it holds or ctx ends.
func pollUntil(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// Write reports c: per node and in total, each setup, and the ratio
// cluster/single.
func (c Capacity) Write(w io.Writer) {
	fmt.Fprintf(w, "delivered-message capacity: %d price subscribers per setup, each of all %d topics; source %d updates/s; %v each; every process on this machine's cores\n",
		c.Clients, c.Topics, c.Rate, c.Window)
	fmt.Fprintf(w, "  %-16s %8s %14s %12s %12s %14s\n", "node", "clients", "delivered/s", "age p99", "node CPU", "CPU/delivery")
	row := func(n NodeCapacity) {
		name := n.Node
		if n.Role != "" {
			name += " (" + n.Role + ")"
		}
		fmt.Fprintf(w, "  %-16s %8d %14.0f %12v %11.1f%% %14v\n", name, n.Clients, n.Delivered, n.AgeP99.Round(100*time.Microsecond),
			100*n.CPU, n.PerDelivery.Round(10*time.Nanosecond))
	}
	total := func(label string, s CapacitySetup) {
		var cpu float64
		clients := 0
		for _, n := range s.Nodes {
			cpu += n.CPU
			clients += n.Clients
		}
		per := time.Duration(0)
		if d := s.Delivered(); d > 0 {
			per = time.Duration(cpu / d * float64(time.Second))
		}
		fmt.Fprintf(w, "  %-16s %8d %14.0f %12s %11.1f%% %14v   source %.0f updates/s, %.0f%% of the offered %.0f/s delivered; clients' CPU %.0f%%\n",
			label, clients, s.Delivered(), "", 100*cpu, per.Round(10*time.Nanosecond), s.SourceRate,
			100*s.Delivered()/max(s.Offered(), 1e-9), s.Offered(), 100*s.BenchCPU)
	}
	for _, n := range c.Single.Nodes {
		row(n)
	}
	total("single total", c.Single)
	for _, n := range c.Cluster.Nodes {
		row(n)
	}
	total("cluster total", c.Cluster)
	fmt.Fprintf(w, "  cluster/single delivered: %.2fx\n", c.Cluster.Delivered()/max(c.Single.Delivered(), 1e-9))
}
