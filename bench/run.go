package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"tickwire/feedserver"
	"tickwire/tlsconf"
)

// Servers says how `tickwire bench` runs the servers under test and the
// baselines: as children of Exe (`tickwire bench serve`), the feed server
// with these knobs.
type Servers struct {
	Exe       string
	Flush     time.Duration // the feed server's FlushInterval
	Heartbeat time.Duration // the feed server's ping interval
	Coalesce  time.Duration // the feed server's CoalesceWindow
	// TLS also measures a feed over TLS (the server's self-signed mode)
	// after the plain one, with its ratio to it (PingPong and Fanout).
	TLS bool
	// Behaviour, when set, makes fanout and ramp (conflated) compare a
	// merge topic of this WebAssembly behaviour with the same topic merged
	// by built-in ops, in the same run (merge.go).
	Behaviour Behaviour
}

// Check checks the feed server's knobs as `tickwire bench` takes them.
func (s Servers) Check() error {
	if s.Coalesce < 0 || s.Coalesce > feedserver.MaxCoalesceWindow {
		return fmt.Errorf("--coalesce-window %v: 0 (off) to %v", s.Coalesce, feedserver.MaxCoalesceWindow)
	}
	return nil
}

// feed starts the feed server under test, with extra arguments.
func (s Servers) feed(ctx context.Context, extra ...string) (*Child, error) {
	args := append([]string{"--flush", s.Flush.String(), "--heartbeat", s.Heartbeat.String(), "--coalesce-window", s.Coalesce.String()}, s.Behaviour.args()...)
	args = append(args, extra...)
	return StartChild(ctx, s.Exe, ModeFeed, args...)
}

// pair starts the feed server and the baseline.
func (s Servers) pair(ctx context.Context, baseline string) (*Child, *Child, error) {
	RaiseFDLimit()
	feed, err := s.feed(ctx)
	if err != nil {
		return nil, nil, err
	}
	base, err := StartChild(ctx, s.Exe, baseline)
	if err != nil {
		feed.Stop()
		return nil, nil, err
	}
	return feed, base, nil
}

// tlsFeed starts a feed server over TLS with a development self-signed
// certificate in a temporary directory (made here, reused by the child),
// and trusts it. stop ends the child and removes the certificate.
func (s Servers) tlsFeed(ctx context.Context) (feed *Child, stop func(), err error) {
	dev, err := tlsconf.NewDev("tickwire-bench-tls-", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	if feed, err = s.feed(ctx, "--tls-self-signed", dev.Dir); err != nil {
		_ = dev.Close()
		return nil, nil, err
	}
	feed.TLS = dev.Client
	return feed, func() { feed.Stop(); _ = dev.Close() }, nil
}

// RunPingPong is `tickwire bench pingpong`: PingPong against the echo
// baseline, then over TLS with s.TLS. The result is a []PingPongResult.
func RunPingPong(ctx context.Context, s Servers, sizes []int, iters int) (any, []Chart, error) {
	feed, echo, err := s.pair(ctx, ModeEcho)
	if err != nil {
		return nil, nil, err
	}
	defer feed.Stop()
	defer echo.Stop()
	res, err := PingPong(ctx, feed, echo, sizes, iters)
	if err != nil || !s.TLS {
		return res, PingPongCharts(res), err
	}
	tlsFeed, stop, err := s.tlsFeed(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	overTLS, err := PingPong(ctx, tlsFeed, echo, sizes, iters)
	PingPongVsPlain(res, overTLS)
	return append(res, overTLS...), PingPongCharts(res), err
}

// RunFanout is `tickwire bench fanout`: Fanout against the raw fan-out
// baseline. The result is a FanoutResult, or with s.TLS a []FanoutResult
// of the plain feed and the feed over TLS; with s.Behaviour, a
// []FanoutMergeResult of a built-in and a WASM merge topic instead.
func RunFanout(ctx context.Context, s Servers, clients, frame int, d time.Duration) (any, []Chart, error) {
	if s.Behaviour.On() {
		if s.TLS {
			return nil, nil, fmt.Errorf("--behaviour and --tls: one comparison at a time")
		}
		res, err := fanoutMerge(ctx, s, clients, d)
		return res, nil, err
	}
	feed, raw, err := s.pair(ctx, ModeRawFan)
	if err != nil {
		return nil, nil, err
	}
	defer feed.Stop()
	defer raw.Stop()
	res, err := Fanout(ctx, feed, raw, clients, frame, d)
	if err != nil || !s.TLS {
		return res, nil, err
	}
	tlsFeed, stop, err := s.tlsFeed(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	overTLS, err := Fanout(ctx, tlsFeed, raw, clients, frame, d)
	overTLS.VsPlain = overTLS.Ours / max(res.Ours, 1)
	return []FanoutResult{res, overTLS}, nil, err
}

// RunIdle is `tickwire bench idle`: Idle against the echo baseline.
func RunIdle(ctx context.Context, s Servers, clients int) (any, []Chart, error) {
	feed, echo, err := s.pair(ctx, ModeEcho)
	if err != nil {
		return nil, nil, err
	}
	defer feed.Stop()
	defer echo.Stop()
	res, err := Idle(ctx, feed, echo, clients)
	return res, nil, err
}

// RunRamp is `tickwire bench ramp`: Ramp on a feed server; with
// s.Behaviour, a RampMergeResult of a built-in and a WASM merge topic. With
// cfg.Baseline, the same steps then run against the raw
// one-write-per-message server, each on a fresh child (a ramp's clients
// accumulate: the two cannot interleave step by step).
func RunRamp(ctx context.Context, s Servers, cfg RampConfig) (any, []Chart, error) {
	RaiseFDLimit()
	if err := CheckClientFDs(cfg.MaxClients); err != nil {
		return nil, nil, fmt.Errorf("--max: %w", err)
	}
	if s.Behaviour.On() {
		if cfg.Baseline != "" {
			return nil, nil, fmt.Errorf("--behaviour and --baseline: one comparison at a time")
		}
		res, err := rampMerge(ctx, s, cfg)
		return res, nil, err
	}
	feed, err := s.feed(ctx)
	if err != nil {
		return nil, nil, err
	}
	res, err := Ramp(ctx, feed, cfg)
	feed.Stop()
	if err != nil || cfg.Baseline == "" {
		return res, RampCharts(res), err
	}
	raw, err := StartChild(ctx, s.Exe, ModeRawMsg)
	if err != nil {
		return nil, nil, err
	}
	defer raw.Stop()
	base, err := Ramp(ctx, raw, baselineConfig(cfg, res))
	if err != nil {
		return nil, nil, fmt.Errorf("raw baseline ramp: %w", err)
	}
	res = withBaseline(res, base)
	return res, RampCharts(res), nil
}
