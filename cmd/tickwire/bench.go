package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"tickwire/bench"
)

// runBench is `tickwire bench NAME`. It stays one function on purpose: each
// benchmark's case registers its flags and the run that reads them side by
// side, so a reader sees a benchmark's knobs and their use in one place.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, helpText("bench"))
		if len(args) == 0 {
			return usageError{fmt.Errorf("which benchmark?")}
		}
		return nil
	}
	name, args := args[0], args[1:]
	if name == "serve" {
		return benchServe(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print a JSON summary instead of a table")
	svgDir := fs.String("svg", "", "write SVG charts into `DIR`")
	var srv bench.Servers
	fs.DurationVar(&srv.Flush, "flush", 0, "server FlushInterval (0: write as soon as data is queued)")
	fs.DurationVar(&srv.Heartbeat, "heartbeat", time.Second, "server ping interval (each is a write per client, and a pong to read)")
	fs.DurationVar(&srv.Coalesce, "coalesce-window", 0, "server CoalesceWindow: a client's writer found behind waits this long to gather more events per write (0: off; at most 50ms)")
	if name == "pingpong" || name == "fanout" {
		fs.BoolVar(&srv.TLS, "tls", false, "also measure a feed over TLS (self-signed), beside the plain one")
	}
	if name == "fanout" || name == "ramp" {
		fs.Var(&srv.Behaviour, "behaviour", "compare a merge topic of this WebAssembly behaviour, `FILE[:FUNC]`, with the same topic merged by built-in ops, in the same run (ramp: --style conflated)")
		fs.DurationVar(&srv.Behaviour.Budget, "behaviour-budget", 250*time.Millisecond, "the behaviour's budget per call (CPU time on Linux; the server's default is 5ms: docs/BENCHMARKS.md)")
	}
	var run func(context.Context) (any, []bench.Chart, error)
	switch name {
	case "pingpong":
		payloads := fs.String("payloads", "125,500,1000,2000", "payload sizes in bytes, comma-separated")
		iters := fs.Int("iters", 2000, "round trips per payload size and server")
		run = func(ctx context.Context) (any, []bench.Chart, error) {
			sizes, err := bench.ParseSizes(*payloads)
			if err != nil {
				return nil, nil, usageError{err}
			}
			return bench.RunPingPong(ctx, srv, sizes, *iters)
		}
	case "fanout":
		clients := fs.Int("clients", 1000, "clients")
		frame := fs.Int("frame", 125, "frame size in bytes")
		dur := fs.Duration("duration", 3*time.Second, "measuring time per server")
		run = func(ctx context.Context) (any, []bench.Chart, error) {
			return bench.RunFanout(ctx, srv, *clients, *frame, *dur)
		}
	case "idle":
		clients := fs.Int("clients", 2000, "idle clients")
		run = func(ctx context.Context) (any, []bench.Chart, error) { return bench.RunIdle(ctx, srv, *clients) }
	case "ramp":
		var cfg bench.RampConfig
		fs.StringVar(&cfg.Style, "style", "message", "message (every event, sequenced) or conflated")
		fs.IntVar(&cfg.Step, "step", 500, "clients added per step")
		fs.DurationVar(&cfg.Interval, "interval", 3*time.Second, "measuring time per step")
		fs.IntVar(&cfg.MaxClients, "max", 20000, "stop at this many clients")
		fs.IntVar(&cfg.Rate, "rate", 100, "messages per second per client")
		fs.IntVar(&cfg.Payload, "payload", 125, "event payload bytes (message style)")
		fs.DurationVar(&cfg.P99Limit, "p99", 0, "latency (data age) p99 above which a step is saturated (default 50ms for message style, 250ms for conflated)")
		fs.IntVar(&cfg.PastSat, "past", 2, "steps to run past saturation")
		fs.IntVar(&cfg.MaxRate, "max-rate", 0, "conflated style: updates per second each client asks for at most (0: no limit)")
		fs.StringVar(&cfg.Baseline, "baseline", "", "message style: \"raw\" runs the same ramp against a raw gorilla server writing one message per write, in the same run, and prints the server CPU per delivery ratio")
		run = func(ctx context.Context) (any, []bench.Chart, error) {
			if err := cfg.Check(); err != nil {
				return nil, nil, usageError{err}
			}
			return bench.RunRamp(ctx, srv, cfg)
		}
	default:
		fmt.Fprint(stderr, helpText("bench"))
		return usageError{fmt.Errorf("unknown benchmark %q", name)}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire bench %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := srv.Check(); err != nil {
		return usageError{err}
	}
	var err error
	if srv.Exe, err = os.Executable(); err != nil {
		return err
	}
	res, charts, err := run(ctx)
	if err != nil {
		return err
	}
	if *svgDir != "" {
		if err := bench.WriteCharts(*svgDir, charts, stderr); err != nil {
			return err
		}
	}
	if *asJSON {
		return bench.WriteJSON(stdout, name, res)
	}
	bench.PrintTable(stdout, res)
	return nil
}

func benchServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	mode := fs.String("mode", bench.ModeFeed, "feed, echo, rawfan or rawmsg")
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	flush := fs.Duration("flush", 0, "feed server FlushInterval")
	coalesce := fs.Duration("coalesce-window", 0, "feed server CoalesceWindow")
	heartbeat := fs.Duration("heartbeat", time.Second, "feed server ping interval")
	tlsDir := fs.String("tls-self-signed", "", "feed: serve TLS with the development certificate in `DIR`")
	var beh bench.Behaviour
	fs.Var(&beh, "behaviour", "feed: merge the bench.wasm.* topics by this behaviour, `FILE[:FUNC]`")
	fs.DurationVar(&beh.Budget, "behaviour-budget", 10*time.Millisecond, "feed: the behaviour's budget per call (CPU time on Linux)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	return bench.ServeChild(ctx, *mode, *listen, *tlsDir, *flush, *heartbeat, *coalesce, beh, stdout)
}
