package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"tickwire/cluster"
)

const clusterUsage = `Usage: tickwire cluster <demo|soak|bench> [flags]

  demo   three nodes on 127.0.0.1 (child processes of this binary) replaying the
         embedded ticks, a FIX counterparty, and the dashboard connected to all
         three; the active node is killed (SIGKILL) every --kill-every and
         restarted: watch the failover in the status bar and the blotter
  soak   kill -9 of the active node --rounds times under order flow from
         traders and a FIX counterparty; checks every client got every order
         event exactly once, in order, and the FIX sequence numbers continued
  bench  the failover benchmark: the soak's rounds, timed (docs/BENCHMARKS.md)

A node of a real cluster is 'tickwire server --cluster' (docs/HA.md).
`

// runCluster is `tickwire cluster`: its subcommands run a local cluster of
// child processes (package cluster).
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, clusterUsage)
		if len(args) == 0 {
			return usageError{errors.New("want a subcommand: demo, soak or bench")}
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "demo":
		return runClusterDemo(ctx, args[1:], stdout, stderr)
	case "soak", "bench":
		return runClusterSoak(ctx, args[0], args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, clusterUsage)
	return usageError{fmt.Errorf("unknown subcommand %q", args[0])}
}

func runClusterDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster demo", flag.ContinueOnError)
	d := cluster.Demo{RestartAfter: 5 * time.Second}
	fs.DurationVar(&d.KillEvery, "kill-every", time.Minute, "kill -9 the active node this often (0: never)")
	fs.DurationVar(&d.RestartAfter, "restart-after", 5*time.Second, "restart a killed node after this long")
	fs.Float64Var(&d.Speed, "speed", 1, "replay speed")
	fs.Float64Var(&d.OrderRate, "order-rate", 1, "the FIX counterparty's orders per second")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-cluster-demo"))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire cluster demo [flags]\n\n%s\nFlags:\n", clusterUsage[len("Usage: tickwire cluster <demo|soak|bench> [flags]\n\n"):])
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	if d.Bin, err = os.Executable(); err != nil {
		return err
	}
	if d.Dir, err = cluster.TempDir("tickwire-cluster-demo"); err != nil {
		return err
	}
	d.Logger = log.With("component", "cluster")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintf(stdout, "starting 3 nodes (data and logs in %s)...\n", d.Dir)
	l, err := d.Start(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	if !tf.given("accounts") {
		tf.accounts = cluster.DemoAccount
	}
	title := fmt.Sprintf("tickwire cluster demo · 3 nodes, the active one killed every %v", d.KillEvery)
	err = runDashboard(ctx, d.URLs(ctx, l), tf, title, log.With("component", "trader"))
	cancel()
	fmt.Fprintf(stdout, "nodes' data and logs: %s\n", d.Dir)
	return err
}

func runClusterSoak(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster "+name, flag.ContinueOnError)
	o := cluster.SoakOptions{Progress: stdout}
	fs.IntVar(&o.Rounds, "rounds", 20, "kill -9 rounds")
	fs.IntVar(&o.Traders, "traders", 3, "trader clients, each with its own account")
	fs.Float64Var(&o.TraderRate, "trader-rate", 10, "each trader's orders per second")
	fs.Float64Var(&o.FIXRate, "fix-rate", 20, "the FIX counterparty's orders per second")
	fs.DurationVar(&o.Between, "between", 2*time.Second, "order flow between two rounds")
	keep := fs.Bool("keep", false, "keep the nodes' data and logs (else removed after a success)")
	var bo cluster.BenchOptions
	if name == "bench" {
		fs.IntVar(&bo.Orders, "orders", 1000, "orders sent one at a time (D -> ER(New) latency)")
		fs.IntVar(&bo.Pipelined, "pipelined", 5000, "orders sent pipelined, window 100 (orders/s)")
		fs.IntVar(&bo.Extra, "cascade-clients", 10, "extra cascade-like clients for the cascade's cost")
	}
	var lf logFlags
	lf.register(fs, "")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire cluster %s [flags]\n\n%s\nFlags:\n", name, clusterUsage[len("Usage: tickwire cluster <demo|soak|bench> [flags]\n\n"):])
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	o.Logger = log
	if o.Bin, err = os.Executable(); err != nil {
		return err
	}
	if o.Dir, err = cluster.TempDir("tickwire-cluster-" + name); err != nil {
		return err
	}
	if name == "bench" {
		bo.Bin, bo.Dir, bo.Logger = o.Bin, o.Dir, log
		b, err := cluster.Bench(ctx, bo)
		if err != nil {
			return fmt.Errorf("bench: %w (data and logs: %s)", err, o.Dir)
		}
		fmt.Fprintf(stdout, "order path (quickfix counterparty on loopback)   single node          3-voter cluster      ratio\n")
		fmt.Fprintf(stdout, "  D -> ER(New) p50                                %-20v %-20v %.2fx\n", b.Single.P50.Round(time.Microsecond), b.Cluster.P50.Round(time.Microsecond), ratio(b.Cluster.P50, b.Single.P50))
		fmt.Fprintf(stdout, "  D -> ER(New) p99                                %-20v %-20v %.2fx\n", b.Single.P99.Round(time.Microsecond), b.Cluster.P99.Round(time.Microsecond), ratio(b.Cluster.P99, b.Single.P99))
		fmt.Fprintf(stdout, "  pipelined, window 100 (orders/s)                %-20.0f %-20.0f %.2fx\n", b.Single.PerSecond, b.Cluster.PerSecond, b.Cluster.PerSecond/max(b.Single.PerSecond, 1e-9))
		c := b.Cascade
		fmt.Fprintf(stdout, "cascade cost on the active: %.0f price updates/s per client; active CPU %.1f%% of a core with its 2 standbys, %.1f%% with %d more cascade clients: %.2f%% of a core per standby per 100 updates/s\n",
			c.UpdatesPerSec, 100*c.BaseCPU, 100*c.LoadedCPU, c.Extra, 100*c.PerClientPer100)
	}
	res, err := cluster.Soak(ctx, o)
	fmt.Fprintf(stdout, "%d rounds; %d trader orders, %d FIX orders\n", len(res.Rounds), res.TraderOrders, res.FIXOrds)
	report := func(what string, ds []time.Duration) {
		fmt.Fprintf(stdout, "%-40s p50 %-8v p99 %-8v max %v\n", what, cluster.Percentile(ds, 50).Round(time.Millisecond),
			cluster.Percentile(ds, 99).Round(time.Millisecond), cluster.Percentile(ds, 100).Round(time.Millisecond))
	}
	if len(res.Rounds) > 0 {
		report("kill -9 -> a new node says active", res.ElectionTimes())
		report("kill -9 -> first FIX report (new order)", res.FIXTimes())
		report("kill -9 -> every trader has prices again", res.TraderTimes())
	}
	if err != nil {
		fmt.Fprintf(stdout, "FAILED: %v\nnodes' data and logs: %s\n", err, o.Dir)
		return err
	}
	fmt.Fprintf(stdout, "every trader got every order event exactly once, in order; the FIX counterparty's view equals the book\n")
	if *keep {
		fmt.Fprintf(stdout, "nodes' data and logs: %s\n", o.Dir)
		return nil
	}
	return os.RemoveAll(filepath.Clean(o.Dir))
}

// ratio is a/b.
func ratio(a, b time.Duration) float64 { return float64(a) / max(float64(b), 1) }
