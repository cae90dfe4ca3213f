package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"tickwire/internal/soak"
	"tickwire/recovery"
)

// runSoak is `tickwire soak`: the precise-recovery soak test at full size
// (internal/soak), reporting each client's stream against the published one.
func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var o soak.Options
	fs.IntVar(&o.Events, "events", 100000, "order events to publish")
	fs.IntVar(&o.Cuts, "cuts", 1000, "connection cuts, at least")
	fs.IntVar(&o.Clients, "clients", 3, "clients over WebSocket")
	fs.IntVar(&o.HTTPClients, "http-clients", 1, "clients over HTTP streaming (-1: none)")
	fs.IntVar(&o.Topics, "topics", 2, "sequenced topics, published in parallel")
	fs.IntVar(&o.Batch, "batch", 50, "events per publish call (one journal append)")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long publishing takes (it is paced)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up after")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the cut schedule (0: random)")
	data := fs.String("data", "", "directory for the bbolt journal (default: a temporary one, removed after)")
	mem := fs.Bool("mem", false, "use an in-memory journal instead of bbolt")
	sync := fs.String("sync", "always", "journal fsync policy: always, interval, none")
	withAuth := fs.Bool("auth", false, "run the server with authentication on (an ephemeral key pair; each client presents a token for the soak's accounts), so every resume is also checked against its subject")
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "soak")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	var err error
	if o.Sync, err = recovery.ParseSyncPolicy(*sync); err != nil {
		return usageError{fmt.Errorf("--sync %q: %w", *sync, err)}
	}
	if lf.file != "" {
		log, closeLog, err := lf.logger(stderr)
		if err != nil {
			return err
		}
		defer closeLog()
		o.Logger = log
	} else {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !*mem {
		o.JournalDir = *data
		if o.JournalDir == "" {
			dir, err := os.MkdirTemp("", "tickwire-soak-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			o.JournalDir = dir
		}
	}
	if *withAuth {
		if err := o.WithAuth(); err != nil {
			return err
		}
	}
	o.Progress = stderr
	return soak.RunReport(ctx, o, stdout)
}
