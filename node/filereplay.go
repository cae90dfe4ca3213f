package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"tickwire/feedserver"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// replayDrainTimeout bounds the wait, when an embedded server stops, for its
// subscribers' queues to empty so they receive the last values.
const replayDrainTimeout = 2 * time.Second

// FileReplay is what `tickwire replay` runs: tick files replayed into a
// running server (Server) or into an embedded one listening on Listen.
type FileReplay struct {
	Files    []string
	Speed    float64
	Loop     bool
	From, To string      // the --from/--to window (tickfeed.ParseWindow)
	Server   string      // a running server's WebSocket URL; "" embeds one
	Token    string      // credential presented to Server
	TLS      *tls.Config // for a wss:// Server
	Listen   string      // the embedded server's address
	Hold     bool        // keep the embedded server serving after the replay
	SkipBad  bool        // skip and count malformed rows
	Preserve bool        // publish with each tick's recorded time
	Bench    bool        // measure pacing lateness and print it
}

// ReplayWindowError is a bad From/To window: the caller's usage error.
type ReplayWindowError struct{ Err error }

func (e *ReplayWindowError) Error() string { return e.Err.Error() }
func (e *ReplayWindowError) Unwrap() error { return e.Err }

// Run replays r.Files, writing progress and the summary to stdout. An
// interrupted replay is no failure (the summary says how far it got).
func (r FileReplay) Run(ctx context.Context, stdout io.Writer, log *slog.Logger) error {
	in := &tickfeed.Files{Names: r.Files, Options: ticks.Options{SkipBad: r.SkipBad}}
	// Read the first tick now: a missing file, a bad header or a bad first
	// row fails here, and relative --from/--to need its day.
	first, err := in.First()
	if err != nil {
		return err
	}
	opt := ticks.ReplayOptions{Speed: r.Speed, Loop: r.Loop}
	if opt.From, opt.To, err = tickfeed.ParseWindow(r.From, r.To, first); err != nil {
		return &ReplayWindowError{err}
	}
	var drift tickfeed.Drift
	if r.Bench {
		opt.Observe = drift.Observe
	}

	refused := &tickfeed.Refusals{}
	// replay publishes into pub and prints the summary.
	replay := func(ctx context.Context, pub tickfeed.Publisher) error {
		st, rerr := tickfeed.Replay(ctx, in.Open, opt, pub)
		tickfeed.WriteReplaySummary(stdout, st, r.Speed, in.Skipped(), refused)
		if r.Bench && st.Ticks > 0 && (rerr == nil || ctx.Err() != nil) {
			drift.WriteReport(stdout, r.Speed)
		}
		if rerr == nil || ctx.Err() != nil {
			return nil
		}
		var perr *ticks.ParseError
		if errors.As(rerr, &perr) {
			return perr // "FILE:LINE: reason", without the wrapping
		}
		return rerr
	}
	if r.Server != "" {
		wp, err := tickfeed.DialPublisher(ctx, r.Server, tickfeed.WSOptions{
			Token: r.Token, TLS: r.TLS, RecordedTime: r.Preserve, Refused: refused, Logger: log})
		if err != nil {
			return err
		}
		defer wp.Close()
		fmt.Fprintf(stdout, "tickwire replay: publishing to %s\n", r.Server)
		return replay(ctx, wp)
	}
	ln, err := net.Listen("tcp", r.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Stopping the server drains its subscribers' queues (within
	// DrainTimeout), so they receive the last values.
	srv := feedserver.New(feedserver.Config{Name: "tickwire-replay", Logger: log, DrainTimeout: replayDrainTimeout})
	pub := &tickfeed.HubPublisher{Hub: srv.Hub(), RecordedTime: r.Preserve, Refused: refused}
	fmt.Fprintf(stdout, "tickwire replay: serving ws://%s/ws\n", ln.Addr())
	return Serve(ctx, Node{Server: srv, Listener: ln, Logger: log, StopAfterFeed: !r.Hold,
		Feed: func(ctx context.Context) error {
			if err := replay(ctx, pub); err != nil || ctx.Err() != nil || !r.Hold {
				return err
			}
			fmt.Fprintf(stdout, "tickwire replay: replay done; still serving (Ctrl-C stops)\n")
			return nil
		}})
}
