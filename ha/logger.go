package ha

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger returns an hclog.Logger (what raft wants) writing through
// log: hclog formats each line, slogWriter passes it on at its level.
func newRaftLogger(log *slog.Logger, level string) hclog.Logger {
	if level == "" {
		level = "warn"
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "raft",
		Level:           hclog.LevelFromString(level),
		Output:          slogWriter{log},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// slogWriter turns hclog's text lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	lvl := slog.LevelInfo
	switch {
	case bytes.HasPrefix(p, []byte("[ERROR]")):
		lvl = slog.LevelError
	case bytes.HasPrefix(p, []byte("[WARN]")):
		lvl = slog.LevelWarn
	case bytes.HasPrefix(p, []byte("[DEBUG]")), bytes.HasPrefix(p, []byte("[TRACE]")):
		lvl = slog.LevelDebug
	}
	w.log.Log(context.Background(), lvl, line)
	return len(p), nil
}
