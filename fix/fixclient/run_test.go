package fixclient

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunNoLogon: Run against a port nobody listens on says where it
// connects and fails with the list of usual causes once ctx ends.
func TestRunNoLogon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	store := t.TempDir()
	if err := os.Chmod(store, 0o700); err != nil {
		t.Fatal(err)
	}
	opt := Options{Addrs: []string{addr}, SenderCompID: "RUNTEST", TargetCompID: "TICKWIRE", StoreDir: store}
	s, err := Settings(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	err = Run(ctx, s, opt, Flow{Orders: 1, Window: 1}, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "no logon: is the gateway up?") {
		t.Errorf("Run: %v, want a failed logon with its causes", err)
	}
	if want := "connecting to " + addr + " as RUNTEST -> TICKWIRE\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
