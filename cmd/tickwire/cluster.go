package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"tickwire/cluster"
)

// runCluster is `tickwire cluster`: its subcommands run a local cluster of
// child processes (package cluster).
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, helpText("cluster"))
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
	fmt.Fprint(stderr, helpText("cluster"))
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
	setUsage(fs, "cluster-demo")
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
	d.Logger = log.With("component", "cluster")
	if !tf.given("accounts") {
		tf.accounts = cluster.DemoAccount
	}
	title := fmt.Sprintf("tickwire cluster demo · 3 nodes, the active one killed every %v", d.KillEvery)
	return d.Run(ctx, stdout, func(ctx context.Context, urls []string) error {
		return runDashboard(ctx, urls, tf, title, log.With("component", "trader"))
	})
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
		fs.IntVar(&bo.Capacity.Clients, "capacity-clients", 300, "price subscribers per setup for the delivered-message capacity (spread over the 3 nodes; all on the single node); 0 skips the capacity phase")
		fs.DurationVar(&bo.Capacity.Window, "capacity-window", 10*time.Second, "measuring time of each capacity setup")
		fs.IntVar(&bo.Capacity.Rate, "capacity-rate", 2000, "price updates published per second, the capacity phase's source (to the single node, to the active node)")
		fs.IntVar(&bo.Capacity.Topics, "capacity-topics", 20, "price topics of the capacity phase, every client subscribed to all")
	}
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "cluster-"+name)
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
	if name == "bench" {
		bo.SkipCapacity = bo.Capacity.Clients == 0
		if !bo.SkipCapacity && (bo.Capacity.Clients < 0 || bo.Capacity.Window <= 0 || bo.Capacity.Rate <= 0 || bo.Capacity.Topics <= 0) {
			return usageError{errors.New("--capacity-clients must be >= 0; --capacity-window, --capacity-rate and --capacity-topics > 0")}
		}
		return cluster.RunSoak(ctx, o, &bo, *keep)
	}
	return cluster.RunSoak(ctx, o, nil, *keep)
}
