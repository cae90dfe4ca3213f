package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"tickwire/tickfeed"
)

func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opt tickfeed.RecordOptions
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.StringVar(&opt.URL, "server", "ws://127.0.0.1:8080/ws", "server WebSocket `URL`")
	topics := fs.String("topics", "*", "comma-separated path.Match `PATTERNS` of the topics to record")
	out := fs.String("out", "", "write ticks to `FILE` (gzipped if it ends in .gz; - for stdout)")
	fs.DurationVar(&opt.Duration, "duration", 0, "stop after this long (0: until interrupted)")
	fs.IntVar(&opt.Count, "count", 0, "stop after writing this many ticks (0: no limit)")
	fs.DurationVar(&opt.Poll, "poll", time.Second, "how often to look for new topics matching a wildcard pattern")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	setUsage(fs, "record")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	u, err := tickfeed.ServerURL(opt.URL)
	if err != nil {
		return usageError{fmt.Errorf("--server: %w", err)}
	}
	opt.URL = u
	if opt.Token, opt.TLS, err = conn.resolve(); err != nil {
		return err
	}
	if *out == "" {
		return usageError{errors.New("--out FILE is required")}
	}
	if opt.Patterns, err = tickfeed.ParsePatterns(*topics); err != nil {
		return usageError{fmt.Errorf("--topics: %w", err)}
	}
	if len(opt.Patterns) == 0 {
		return usageError{errors.New("--topics: no pattern")}
	}
	if opt.Poll <= 0 || opt.Duration < 0 || opt.Count < 0 {
		return usageError{errors.New("--poll must be > 0, --duration and --count >= 0")}
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	summary := stdout
	if *out == "-" {
		summary = stderr // stdout is the data
	}
	opt.Logger = log
	return tickfeed.RecordFile(ctx, *out, stdout, summary, opt)
}
