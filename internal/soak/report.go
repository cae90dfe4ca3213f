package soak

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// RunReport is `tickwire soak` once its flags are checked: it says on w
// what runs where, runs the soak (Run) and writes its result; a soak whose
// streams did not match is an error.
func RunReport(ctx context.Context, o Options, w io.Writer) error {
	journal := "memory"
	if o.JournalDir != "" {
		journal = "bbolt"
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "tickwire soak: %d events, >= %d cuts, %d+%d clients, journal %s (sync %s), %s/%s, %d CPUs, host %s, %s\n",
		o.Events, o.Cuts, o.Clients, max(o.HTTPClients, 0), journal, o.Sync,
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), host, time.Now().UTC().Format(time.RFC3339))
	res, err := Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "seed %d\n%s", res.Options.Seed, res)
	if !res.OK() {
		return fmt.Errorf("soak failed: %d problems", len(res.Problems))
	}
	return nil
}
