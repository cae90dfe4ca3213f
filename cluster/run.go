package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Run is `tickwire cluster demo`: it starts d (in a fresh TempDir unless
// d.Dir is set), runs dashboard on the nodes' URLs until it returns, then
// stops the cluster. It tells out where the nodes' data and logs are.
func (d Demo) Run(ctx context.Context, out io.Writer, dashboard func(ctx context.Context, urls []string) error) error {
	if d.Dir == "" {
		var err error
		if d.Dir, err = TempDir("tickwire-cluster-demo"); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintf(out, "starting 3 nodes (data and logs in %s)...\n", d.Dir)
	l, err := d.Start(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	err = dashboard(ctx, d.URLs(ctx, l))
	cancel() // the counterparty and the killer stop before the nodes
	fmt.Fprintf(out, "nodes' data and logs: %s\n", d.Dir)
	return err
}

// RunSoak is `tickwire cluster soak` and, with bench, `tickwire cluster
// bench` (Bench, then the soak's rounds): it runs in a new directory under
// the system's temporary directory unless o.Dir is set, writes its reports
// and verdict to o.Progress, and removes the nodes' data and logs after a
// success unless keep (a failure keeps them and says where).
func RunSoak(ctx context.Context, o SoakOptions, bench *BenchOptions, keep bool) error {
	name := "soak"
	if bench != nil {
		name = "bench"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	out := o.Progress
	if o.Dir == "" {
		var err error
		// A directory of its own: two runs at once (a soak and a bench, two
		// benches) must not empty each other's.
		if o.Dir, err = os.MkdirTemp("", "tickwire-cluster-"+name+"-"); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
	}
	if bench != nil {
		bo := *bench
		bo.Bin, bo.Dir, bo.Logger = o.Bin, o.Dir, o.Logger
		b, err := Bench(ctx, bo)
		if err != nil {
			return fmt.Errorf("bench: %w (data and logs: %s)", err, o.Dir)
		}
		b.Write(out)
	}
	res, err := Soak(ctx, o)
	res.Write(out)
	if err != nil {
		fmt.Fprintf(out, "FAILED: %v\nnodes' data and logs: %s\n", err, o.Dir)
		return err
	}
	fmt.Fprintf(out, "every trader got every order event exactly once, in order; the FIX counterparty's view equals the book\n")
	if keep {
		fmt.Fprintf(out, "nodes' data and logs: %s\n", o.Dir)
		return nil
	}
	return os.RemoveAll(filepath.Clean(o.Dir))
}
