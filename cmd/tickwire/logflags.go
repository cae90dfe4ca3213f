package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"tickwire/internal/secfile"
)

// logFlags configure slog output. Programs that own the terminal (trader,
// demo) log to a file by default: logs never go to the screen.
type logFlags struct {
	file  string
	level string
}

func (l *logFlags) register(fs *flag.FlagSet, defaultFile string) {
	where := "stderr"
	if defaultFile != "" {
		where = defaultFile
	}
	fs.StringVar(&l.file, "log", defaultFile, "write JSON logs to `FILE` (default "+where+")")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
}

func (l *logFlags) logger(stderr io.Writer) (*slog.Logger, func(), error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, nil, usageError{fmt.Errorf("--log-level %q: %w", l.level, err)}
	}
	w, closeFn := stderr, func() {}
	if l.file != "" {
		f, err := secfile.OpenAppend(l.file)
		if err != nil {
			return nil, nil, fmt.Errorf("open log: %w", err)
		}
		w, closeFn = f, func() { _ = f.Close() }
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), closeFn, nil
}
