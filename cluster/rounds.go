package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"syscall"
	"time"
)

// Round is one failover: which node was the Active, how it was taken
// down, which node took over, and when each side got data again.
type Round struct {
	Old, New int
	How      string // "kill -9", "SIGSTOP", "SIGTERM"
	Took     time.Duration
	Recovery
}

// String is one line for a log or a report.
func (r Round) String() string {
	return fmt.Sprintf("%s of n%d: n%d active in %v; first FIX report %v, traders' prices %v", r.How, r.Old+1, r.New+1,
		r.Took.Round(time.Millisecond), r.FIX.Round(time.Millisecond), roundAll(r.Prices))
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// KillActive kills the Active with SIGKILL while ld's flow runs, waits for
// another node to take over and every client to get data again, then
// restarts the killed node and waits for it to be a standby again.
func KillActive(ctx context.Context, l *Local, ld *Load, log *slog.Logger) (Round, error) {
	return takeDown(ctx, l, ld, "kill -9", log)
}

// takeDown fails the Active over with how ("kill -9", "SIGTERM").
func takeDown(ctx context.Context, l *Local, ld *Load, how string, log *slog.Logger) (Round, error) {
	standbys := len(l.Nodes) - 1
	old, err := l.WaitActive(ctx, standbys)
	if err != nil {
		return Round{}, err
	}
	r := Round{Old: old, How: how}
	at := time.Now()
	sig := syscall.SIGKILL
	if how == "SIGTERM" {
		sig = syscall.SIGTERM
	}
	if err := l.Signal(old, sig); err != nil {
		return r, err
	}
	if r.New, err = l.WaitActive(ctx, standbys-1, old); err != nil {
		return r, err
	}
	r.Took = time.Since(at)
	if ld != nil {
		if r.Recovery, err = ld.WaitRecovered(ctx, at, at.Add(r.Took)); err != nil {
			return r, err
		}
	}
	log.Info("failover", "round", r.String())
	if err := l.StartNode(old); err != nil {
		return r, err
	}
	_, err = l.WaitActive(ctx, standbys)
	return r, err
}

// Freeze stops the Active with SIGSTOP (isolated: alive, silent), waits for
// another node to take over and every client to get data again, then
// resumes it with SIGCONT and waits until it is a standby.
func Freeze(ctx context.Context, l *Local, ld *Load, log *slog.Logger) (Round, error) {
	standbys := len(l.Nodes) - 1
	old, err := l.WaitActive(ctx, standbys)
	if err != nil {
		return Round{}, err
	}
	r := Round{Old: old, How: "SIGSTOP"}
	at := time.Now()
	if err := l.Signal(old, syscall.SIGSTOP); err != nil {
		return r, err
	}
	if r.New, err = l.WaitActive(ctx, standbys-1, old); err != nil {
		_ = l.Signal(old, syscall.SIGCONT)
		return r, err
	}
	r.Took = time.Since(at)
	if ld != nil {
		if r.Recovery, err = ld.WaitRecovered(ctx, at, at.Add(r.Took)); err != nil {
			_ = l.Signal(old, syscall.SIGCONT)
			return r, err
		}
	}
	if err := l.Signal(old, syscall.SIGCONT); err != nil {
		return r, err
	}
	log.Info("failover", "round", r.String())
	// The old Active wakes up believing it leads: its next contact with the
	// others deposes it, and it must come back as a standby.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		states := l.States(ctx)
		if states[old] == "standby" {
			active := 0
			for _, s := range states {
				if s == "active" {
					active++
				}
			}
			if active == 1 {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("n%d after SIGCONT: states %q, want it standby: %w", old+1, states, ctx.Err())
		case <-tick.C:
		}
	}
}

// RollingRestart restarts every node in turn with SIGTERM, the standbys
// first and the Active last (its graceful stop hands leadership over),
// waiting after each for the cluster to be whole again.
func RollingRestart(ctx context.Context, l *Local, ld *Load, log *slog.Logger) ([]Round, error) {
	standbys := len(l.Nodes) - 1
	active, err := l.WaitActive(ctx, standbys)
	if err != nil {
		return nil, err
	}
	var rounds []Round
	for i := range l.Nodes {
		if i == active {
			continue
		}
		if err := l.Signal(i, syscall.SIGTERM); err != nil {
			return rounds, err
		}
		if err := l.StartNode(i); err != nil {
			return rounds, err
		}
		if _, err := l.WaitActive(ctx, standbys); err != nil {
			return rounds, err
		}
		log.Info("rolling restart: standby back", "node", l.Nodes[i].ID)
	}
	r, err := takeDown(ctx, l, ld, "SIGTERM", log)
	return append(rounds, r), err
}

// Percentile returns the p-th percentile (0..100) of ds, nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(k, 0), len(s)-1)]
}
