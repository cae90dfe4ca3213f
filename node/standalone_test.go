package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
)

// lockedWriter is a bytes.Buffer the test reads while Serve writes.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestStandaloneServe: a standalone server says where it listens, serves
// HTTP there with the order service attached, and stops when ctx ends; a
// gateway that fails to start fails Serve with its error.
func TestStandaloneServe(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var out lockedWriter
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Standalone{Config: feedserver.Config{Name: "standalone-test", Logger: log}, Listen: "127.0.0.1:0"}.Serve(ctx, &out, log)
	}()
	const prefix = "tickwire server listening on ws://"
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s, ok := strings.CutPrefix(out.String(), prefix); ok {
			addr, _, _ = strings.Cut(s, "/ws\n")
		}
	}
	if addr == "" {
		t.Fatalf("no listening line: %q", out.String())
	}
	resp, err := http.Get("http://" + addr + "/topics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /topics: %s", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not stop after cancel")
	}

	bad := errors.New("gateway refused to start")
	err = Standalone{Config: feedserver.Config{Logger: log}, Listen: "127.0.0.1:0",
		Gateway: func(fix.Prices, fix.OrderEvents) (*fix.Gateway, error) { return nil, bad }}.Serve(context.Background(), &out, log)
	if !errors.Is(err, bad) {
		t.Errorf("Serve with a failing gateway: %v, want %v", err, bad)
	}
}
