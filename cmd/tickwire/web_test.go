package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tickwire/feedserver"
)

// TestOpenFIXNeedsInsecureOpen: `tickwire server --fix-config` without
// authentication refuses to start, naming the risk and --insecure-open;
// with --insecure-open it starts and its log names the risk.
func TestOpenFIXNeedsInsecureOpen(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "fix.cfg")
	if err := os.WriteFile(cfg, []byte("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\nHeartBtInt=30\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TWOPEN\nTargetCompID=CLOPEN\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb rrBuffer
	// Bounded: a server that does start runs until the context ends.
	refusedCtx, refusedCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer refusedCancel()
	err := runServer(refusedCtx, []string{"--listen", "127.0.0.1:0", "--fix-config", cfg, "--fix-data", t.TempDir()}, &out, &errb)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "real orders") || !strings.Contains(err.Error(), "--insecure-open") {
		t.Fatalf("--fix-config in open mode: %v, want a usage error naming the risk and --insecure-open", err)
	}
	if strings.Contains(out.String(), "listening") {
		t.Fatalf("the server started: %s", out.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, []string{"--listen", "127.0.0.1:0", "--fix-config", cfg, "--fix-data", t.TempDir(), "--insecure-open", "--log-level", "warn"}, &out, &errb)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	for end := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "FIX gateway listening"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not listening after 30s:\n%s\n%s", out.String(), errb.String())
		}
	}
	if !strings.Contains(errb.String(), "--insecure-open: authentication is off and the FIX gateway is on: anyone who can reach this server places real orders") {
		t.Fatalf("no warning naming the risk in the log:\n%s", errb.String())
	}
}

// TestWebFlags: --allow-origin takes origins only, --allow-host names only,
// and a --listen name is allowed as a host.
func TestWebFlags(t *testing.T) {
	var cfg feedserver.Config
	w := webFlags{origins: "https://dash.example.com/, http://127.0.0.1:3000", hosts: "feed.internal"}
	if err := w.apply(&cfg, "feedhost:8080"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.AllowedOrigins, []string{"https://dash.example.com", "http://127.0.0.1:3000"}) || !slices.Equal(cfg.AllowedHosts, []string{"feed.internal", "feedhost"}) {
		t.Fatalf("origins %q, hosts %q", cfg.AllowedOrigins, cfg.AllowedHosts)
	}
	for _, bad := range []webFlags{{origins: "dash.example.com"}, {origins: "https://dash.example.com/app"}, {origins: "*"}, {hosts: "feed.internal:8080"}, {hosts: "http://feed"}} {
		var ue usageError
		if err := bad.apply(&feedserver.Config{}, "127.0.0.1:8080"); !errors.As(err, &ue) {
			t.Errorf("%+v: %v, want a usage error", bad, err)
		}
	}
	cfg = feedserver.Config{}
	if err := (&webFlags{}).apply(&cfg, "127.0.0.1:8080"); err != nil || cfg.AllowedHosts != nil {
		t.Fatalf("an address as --listen: %v %q", err, cfg.AllowedHosts)
	}
}
