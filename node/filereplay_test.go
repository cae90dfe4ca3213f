package node

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileReplayWindowError: a bad --from/--to window is a
// *ReplayWindowError (the command's usage error); a missing file is not.
func TestFileReplayWindowError(t *testing.T) {
	csv := filepath.Join("..", "tickfeed", "testdata", "two_symbols.csv")
	var out bytes.Buffer
	err := FileReplay{Files: []string{csv}, From: "yesterday", Listen: "127.0.0.1:0"}.Run(context.Background(), &out, nil)
	if !errors.As(err, new(*ReplayWindowError)) {
		t.Errorf("--from yesterday: got %v, want a *ReplayWindowError", err)
	}
	err = FileReplay{Files: []string{filepath.Join(t.TempDir(), "missing.csv")}, Listen: "127.0.0.1:0"}.Run(context.Background(), &out, nil)
	if err == nil || errors.As(err, new(*ReplayWindowError)) {
		t.Errorf("missing file: got %v, want an error that is no window error", err)
	}
}

// TestFileReplayEmbedded: an embedded replay at full speed serves, replays
// every tick and stops by itself, printing its summary.
func TestFileReplayEmbedded(t *testing.T) {
	csv := filepath.Join("..", "tickfeed", "testdata", "two_symbols.csv")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := (FileReplay{Files: []string{csv}, Listen: "127.0.0.1:0", Preserve: true}).Run(ctx, &out, nil); err != nil {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "tickwire replay: serving ws://127.0.0.1:") || !strings.Contains(s, "60 ticks, 1 loop") {
		t.Errorf("output %q: want the serving line and 60 ticks in one loop", s)
	}
	if ctx.Err() != nil {
		t.Error("the replay did not stop by itself")
	}
	t.Log(out.String())
}
