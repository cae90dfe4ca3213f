package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"
)

// SoakOptions configure Soak.
type SoakOptions struct {
	Bin, Dir string
	// Rounds of kill -9 of the Active. Default 20.
	Rounds int
	// Traders, TraderRate and FIXRate: the flow (LoadOptions). Defaults 3,
	// 10/s and 20/s.
	Traders    int
	TraderRate float64
	FIXRate    float64
	// Between is the order flow between two rounds, at least. Default 2 s.
	Between time.Duration
	Logger  *slog.Logger
	// Progress receives a line per round (may be nil).
	Progress io.Writer
}

// SoakResult is a soak's rounds and its failover times.
type SoakResult struct {
	Rounds                []Round
	TraderOrders, FIXOrds int
}

// FIXTimes are the rounds' times to the first FIX report on the new Active.
func (r SoakResult) FIXTimes() []time.Duration {
	var out []time.Duration
	for _, x := range r.Rounds {
		out = append(out, x.FIX)
	}
	return out
}

// TraderTimes are, per round, the time until the last trader got prices again.
func (r SoakResult) TraderTimes() []time.Duration {
	var out []time.Duration
	for _, x := range r.Rounds {
		var m time.Duration
		for _, d := range x.Prices {
			m = max(m, d)
		}
		out = append(out, m)
	}
	return out
}

// ElectionTimes are the rounds' times until a new node said it was active.
func (r SoakResult) ElectionTimes() []time.Duration {
	var out []time.Duration
	for _, x := range r.Rounds {
		out = append(out, x.Took)
	}
	return out
}

// Soak runs a 3-node cluster with order flow from traders and a FIX
// counterparty, kills the Active with SIGKILL Rounds times (restarting it
// each time), and then checks every client's view (Load.Check): the
// soak of `tickwire cluster soak` and the failover benchmark.
func Soak(ctx context.Context, o SoakOptions) (SoakResult, error) {
	if o.Rounds <= 0 {
		o.Rounds = 20
	}
	if o.Between <= 0 {
		o.Between = 2 * time.Second
	}
	if o.TraderRate <= 0 {
		o.TraderRate = 10
	}
	if o.FIXRate <= 0 {
		o.FIXRate = 20
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var res SoakResult
	l, err := New(Options{Bin: o.Bin, Dir: o.Dir, FIX: true,
		Args: []string{"--replay", "embedded", "--speed", "10", "--stale-after", "0"}})
	if err != nil {
		return res, err
	}
	defer l.Close()
	if err := l.Start(); err != nil {
		return res, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = l.WaitActive(wctx, 2)
	cancel()
	if err != nil {
		return res, err
	}
	ld, err := StartLoad(ctx, l, LoadOptions{Traders: o.Traders, TraderRate: o.TraderRate, FIXRate: o.FIXRate,
		FIXStore: filepath.Join(o.Dir, "fixclient"), Logger: o.Logger})
	if err != nil {
		return res, err
	}
	defer ld.Stop()
	for i := range o.Rounds {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(o.Between):
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		r, err := KillActive(rctx, l, ld, o.Logger)
		cancel()
		if err != nil {
			return res, fmt.Errorf("round %d: %w", i+1, err)
		}
		res.Rounds = append(res.Rounds, r)
		fmt.Fprintf(o.Progress, "round %d/%d: %s\n", i+1, o.Rounds, r)
	}
	ld.Pause(true)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	active, err := l.WaitActive(cctx, 2)
	if err != nil {
		return res, err
	}
	res.TraderOrders, res.FIXOrds = ld.Sent()
	if err := ld.Check(cctx, active); err != nil {
		return res, fmt.Errorf("after %d rounds: %w", len(res.Rounds), err)
	}
	return res, nil
}

// Write reports r's rounds: their count and the failover times' p50, p99
// and max.
func (r SoakResult) Write(w io.Writer) {
	fmt.Fprintf(w, "%d rounds; %d trader orders, %d FIX orders\n", len(r.Rounds), r.TraderOrders, r.FIXOrds)
	if len(r.Rounds) == 0 {
		return
	}
	line := func(what string, ds []time.Duration) {
		fmt.Fprintf(w, "%-40s p50 %-8v p99 %-8v max %v\n", what, Percentile(ds, 50).Round(time.Millisecond),
			Percentile(ds, 99).Round(time.Millisecond), Percentile(ds, 100).Round(time.Millisecond))
	}
	line("kill -9 -> a new node says active", r.ElectionTimes())
	line("kill -9 -> first FIX report (new order)", r.FIXTimes())
	line("kill -9 -> every trader has prices again", r.TraderTimes())
}
