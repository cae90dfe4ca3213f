package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"tickwire/node"
	"tickwire/tickfeed"
)

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg node.FileReplay
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.Float64Var(&cfg.Speed, "speed", 1, "replay speed: 1 is real time, 10 ten times faster, 0 as fast as possible")
	fs.BoolVar(&cfg.Loop, "loop", false, "start again at the end, forever, with times moving forward")
	fs.StringVar(&cfg.From, "from", "", "replay ticks recorded at or after `T` (see above for the forms of T)")
	fs.StringVar(&cfg.To, "to", "", "replay ticks recorded before `T`")
	fs.StringVar(&cfg.Server, "server", "", "publish into the running server at this WebSocket `URL` (ws://HOST:PORT/ws, or wss:// with TLS) instead of an embedded one")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address of the embedded server (`HOST:PORT`, port 0 picks a free one); unused with --server")
	fs.BoolVar(&cfg.Hold, "hold", false, "keep the embedded server serving after the replay ends, until interrupted")
	fs.BoolVar(&cfg.SkipBad, "skip-bad", false, "skip and count malformed rows instead of stopping at the first")
	fs.BoolVar(&cfg.Preserve, "preserve-time", true, "publish each value with its tick's recorded time; false stamps the time of publishing")
	fs.BoolVar(&cfg.Bench, "bench-drift", false, "measure pacing lateness against a bare timer loop on the same schedule, and print it")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "replay")
	files, err := parseFlagsAndArgs(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	cfg.Files = files
	if len(cfg.Files) == 0 {
		return usageError{errors.New("no tick files given (FILE... or \"embedded\")")}
	}
	if cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) {
		return usageError{fmt.Errorf("--speed %v: must be a finite number >= 0", cfg.Speed)}
	}
	if cfg.Bench && cfg.Speed == 0 {
		return usageError{errors.New("--bench-drift needs a pace: --speed > 0")}
	}
	if cfg.Server != "" {
		u, err := tickfeed.ServerURL(cfg.Server)
		if err != nil {
			return usageError{fmt.Errorf("--server: %w", err)}
		}
		cfg.Server = u
	}
	if cfg.Token, cfg.TLS, err = conn.resolve(); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	err = cfg.Run(ctx, stdout, log)
	if errors.As(err, new(*node.ReplayWindowError)) {
		return usageError{err}
	}
	return err
}
