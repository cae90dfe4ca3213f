package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"tickwire/tickfeed"
)

// recordConfig is what the flags of 'tickwire record' select.
type recordConfig struct {
	opt      tickfeed.RecordOptions
	out      string
	duration time.Duration
}

func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg recordConfig
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.StringVar(&cfg.opt.URL, "server", "ws://127.0.0.1:8080/ws", "server WebSocket `URL`")
	topics := fs.String("topics", "*", "comma-separated path.Match `PATTERNS` of the topics to record")
	fs.StringVar(&cfg.out, "out", "", "write ticks to `FILE` (gzipped if it ends in .gz; - for stdout)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this long (0: until interrupted)")
	fs.IntVar(&cfg.opt.Count, "count", 0, "stop after writing this many ticks (0: no limit)")
	fs.DurationVar(&cfg.opt.Poll, "poll", time.Second, "how often to look for new topics matching a wildcard pattern")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "record")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	u, err := tickfeed.ServerURL(cfg.opt.URL)
	if err != nil {
		return usageError{fmt.Errorf("--server: %w", err)}
	}
	cfg.opt.URL = u
	if cfg.opt.Token, cfg.opt.TLS, err = conn.resolve(); err != nil {
		return err
	}
	if cfg.out == "" {
		return usageError{errors.New("--out FILE is required")}
	}
	if cfg.opt.Patterns, err = tickfeed.ParsePatterns(*topics); err != nil {
		return usageError{fmt.Errorf("--topics: %w", err)}
	}
	if len(cfg.opt.Patterns) == 0 {
		return usageError{errors.New("--topics: no pattern")}
	}
	if cfg.opt.Poll <= 0 || cfg.duration < 0 || cfg.opt.Count < 0 {
		return usageError{errors.New("--poll must be > 0, --duration and --count >= 0")}
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	summary := stdout
	if cfg.out == "-" {
		summary = stderr // stdout is the data
	}
	return recordMain(ctx, cfg, stdout, summary, log)
}

func recordMain(ctx context.Context, cfg recordConfig, stdout, summary io.Writer, log *slog.Logger) error {
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	cfg.opt.Logger = log
	return tickfeed.RecordFile(ctx, cfg.out, stdout, summary, cfg.opt)
}
