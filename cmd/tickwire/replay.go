package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"time"

	"tickwire/feedserver"
	"tickwire/node"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// replayDrainTimeout bounds the wait, when an embedded server stops, for its
// subscribers' queues to empty so they receive the last values.
const replayDrainTimeout = 2 * time.Second

// replayConfig is what the flags of 'tickwire replay' select.
type replayConfig struct {
	files    []string
	speed    float64
	loop     bool
	from, to string
	server   string
	token    string      // credential presented to --server
	tls      *tls.Config // for a wss:// --server (--ca)
	listen   string
	hold     bool
	skipBad  bool
	preserve bool
	bench    bool
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg replayConfig
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.Float64Var(&cfg.speed, "speed", 1, "replay speed: 1 is real time, 10 ten times faster, 0 as fast as possible")
	fs.BoolVar(&cfg.loop, "loop", false, "start again at the end, forever, with times moving forward")
	fs.StringVar(&cfg.from, "from", "", "replay ticks recorded at or after `T` (see above for the forms of T)")
	fs.StringVar(&cfg.to, "to", "", "replay ticks recorded before `T`")
	fs.StringVar(&cfg.server, "server", "", "publish into the running server at this WebSocket `URL` (ws://HOST:PORT/ws, or wss:// with TLS) instead of an embedded one")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "address of the embedded server (`HOST:PORT`, port 0 picks a free one); unused with --server")
	fs.BoolVar(&cfg.hold, "hold", false, "keep the embedded server serving after the replay ends, until interrupted")
	fs.BoolVar(&cfg.skipBad, "skip-bad", false, "skip and count malformed rows instead of stopping at the first")
	fs.BoolVar(&cfg.preserve, "preserve-time", true, "publish each value with its tick's recorded time; false stamps the time of publishing")
	fs.BoolVar(&cfg.bench, "bench-drift", false, "measure pacing lateness against a bare timer loop on the same schedule, and print it")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "replay")
	files, err := parseFlagsAndArgs(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	cfg.files = files
	if len(cfg.files) == 0 {
		return usageError{errors.New("no tick files given (FILE... or \"embedded\")")}
	}
	if cfg.speed < 0 || math.IsNaN(cfg.speed) || math.IsInf(cfg.speed, 0) {
		return usageError{fmt.Errorf("--speed %v: must be a finite number >= 0", cfg.speed)}
	}
	if cfg.bench && cfg.speed == 0 {
		return usageError{errors.New("--bench-drift needs a pace: --speed > 0")}
	}
	if cfg.server != "" {
		u, err := tickfeed.ServerURL(cfg.server)
		if err != nil {
			return usageError{fmt.Errorf("--server: %w", err)}
		}
		cfg.server = u
	}
	if cfg.token, cfg.tls, err = conn.resolve(); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	return replayMain(ctx, cfg, stdout, log)
}

// replayMain runs a checked configuration.
func replayMain(ctx context.Context, cfg replayConfig, stdout io.Writer, log *slog.Logger) error {
	in := &tickfeed.Files{Names: cfg.files, Options: ticks.Options{SkipBad: cfg.skipBad}}
	// Read the first tick now: a missing file, a bad header or a bad first
	// row fails here, and relative --from/--to need its day.
	first, err := in.First()
	if err != nil {
		return err
	}
	opt := ticks.ReplayOptions{Speed: cfg.speed, Loop: cfg.loop}
	if opt.From, opt.To, err = tickfeed.ParseWindow(cfg.from, cfg.to, first); err != nil {
		return usageError{err}
	}
	var drift tickfeed.Drift
	if cfg.bench {
		opt.Observe = drift.Observe
	}

	refused := &tickfeed.Refusals{}
	// replay publishes into pub and prints the summary; an interrupted
	// replay is no failure (the summary says how far it got).
	replay := func(ctx context.Context, pub tickfeed.Publisher) error {
		st, rerr := tickfeed.Replay(ctx, in.Open, opt, pub)
		tickfeed.WriteReplaySummary(stdout, st, cfg.speed, in.Skipped(), refused)
		if cfg.bench && st.Ticks > 0 && (rerr == nil || ctx.Err() != nil) {
			drift.WriteReport(stdout, cfg.speed)
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
	if cfg.server != "" {
		wp, err := tickfeed.DialPublisher(ctx, cfg.server, tickfeed.WSOptions{
			Token: cfg.token, TLS: cfg.tls, RecordedTime: cfg.preserve, Refused: refused, Logger: log})
		if err != nil {
			return err
		}
		defer wp.Close()
		fmt.Fprintf(stdout, "tickwire replay: publishing to %s\n", cfg.server)
		return replay(ctx, wp)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Stopping the server drains its subscribers' queues (within
	// DrainTimeout), so they receive the last values.
	srv := feedserver.New(feedserver.Config{Name: "tickwire-replay", Logger: log, DrainTimeout: replayDrainTimeout})
	pub := &tickfeed.HubPublisher{Hub: srv.Hub(), RecordedTime: cfg.preserve, Refused: refused}
	fmt.Fprintf(stdout, "tickwire replay: serving ws://%s/ws\n", ln.Addr())
	return node.Serve(ctx, node.Node{Server: srv, Listener: ln, Logger: log, StopAfterFeed: !cfg.hold,
		Feed: func(ctx context.Context) error {
			if err := replay(ctx, pub); err != nil || ctx.Err() != nil || !cfg.hold {
				return err
			}
			fmt.Fprintf(stdout, "tickwire replay: replay done; still serving (Ctrl-C stops)\n")
			return nil
		}})
}
