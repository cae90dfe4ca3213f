package node

import (
	"testing"

	"tickwire/ticks"
)

// TestReplayNone: without tick files there is no feed (Serve runs none).
func TestReplayNone(t *testing.T) {
	if Replay(nil, nil, ticks.ReplayOptions{}, nil) != nil {
		t.Error("Replay without sources is a feed, want nil")
	}
}
