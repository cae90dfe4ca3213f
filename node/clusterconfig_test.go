package node

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/recovery"
	"tickwire/sessions"
	"tickwire/ticks"
)

// TestClusterOptionsHAConfig: incomplete or contradictory options are
// refused naming the flag; --raft-sync auto syncs below 3 voters only;
// retention exempts the streams replayed from their first record.
func TestClusterOptionsHAConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := ClusterOptions{NodeID: "n1", RaftAddr: "127.0.0.1:0", Data: t.TempDir(), RaftSync: "auto"}
	for _, c := range []struct {
		edit func(*ClusterOptions)
		want string
	}{
		{func(o *ClusterOptions) { o.Data = "" }, "--cluster needs --data"},
		{func(o *ClusterOptions) { o.RaftAddr = "" }, "--cluster needs --node-id and --raft-addr"},
		{func(o *ClusterOptions) { o.Peers = []string{"n2=127.0.0.1:1"} }, "--peers does not list this node (--node-id n1)"},
		{func(o *ClusterOptions) { o.Peers = []string{"n1"} }, `--peers: peer "n1"`},
		{func(o *ClusterOptions) { o.Join, o.Peers = true, []string{"n1=127.0.0.1:1"} }, "--join and --peers"},
		{func(o *ClusterOptions) { o.RaftSync = "sometimes" }, `--raft-sync "sometimes": want auto, always or none`},
	} {
		o := ok
		c.edit(&o)
		if _, err := o.HAConfig(log); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", o, err, c.want)
		}
	}
	hc, err := ok.HAConfig(log)
	if err != nil || hc.NoSync || hc.DataDir != filepath.Join(ok.Data, "raft") || hc.RetentionExempt != nil {
		t.Fatalf("%+v, %v", hc, err)
	}
	three := ok
	three.Peers = []string{"n1=127.0.0.1:1", "n2=127.0.0.1:2", "n3=127.0.0.1:3"}
	three.Retention = recovery.Retention{MaxEntries: 10}
	if hc, err = three.HAConfig(log); err != nil || !hc.NoSync || len(hc.Peers) != 3 || hc.Retention.MaxEntries != 10 {
		t.Fatalf("three voters: %+v, %v", hc, err)
	}
	for stream, exempt := range map[string]bool{"fix.orders": true, "fix.store.S1": true, "orders.ACC": false} {
		if hc.RetentionExempt(stream) != exempt {
			t.Errorf("stream %s exempt from retention: %v, want %v", stream, !exempt, exempt)
		}
	}
}

// TestClusterOptionsFeedConfig: a node is named by its id unless named
// otherwise, and its session secret is made once in its data directory.
func TestClusterOptionsFeedConfig(t *testing.T) {
	o := ClusterOptions{NodeID: "n1", Data: filepath.Join(t.TempDir(), "data")}
	cfg := feedserver.Config{Name: "tickwire"}
	if err := o.FeedConfig(&cfg); err != nil || cfg.Name != "n1" || len(cfg.SessionSecret) == 0 {
		t.Fatalf("%v: name %q, secret %d bytes", err, cfg.Name, len(cfg.SessionSecret))
	}
	again := feedserver.Config{Name: "edge-a"}
	if err := o.FeedConfig(&again); err != nil || again.Name != "edge-a" || string(again.SessionSecret) != string(cfg.SessionSecret) {
		t.Fatalf("second start: %v, name %q, same secret %v", err, again.Name, string(again.SessionSecret) == string(cfg.SessionSecret))
	}
	bad := ClusterOptions{NodeID: "n1", Data: filepath.Join(o.Data, sessions.SecretFile, "x")}
	if err := bad.FeedConfig(&cfg); err == nil || !strings.HasPrefix(err.Error(), "--data: ") {
		t.Errorf("a data directory under a file: %v, want a --data error", err)
	}
}

// TestClusterGatewayChecksAtStart: a gateway configuration that does not
// build fails when the node starts, not at its first takeover; without
// sources there is no ingestion.
func TestClusterGatewayChecksAtStart(t *testing.T) {
	bad := errors.New("bad settings")
	calls := 0
	gw, err := ClusterGateway(func(fix.Prices, fix.OrderEvents) (fix.Config, error) { calls++; return fix.Config{}, bad }, "")
	if !errors.Is(err, bad) || gw != nil || calls != 1 {
		t.Errorf("got %v, gateway %v, %d builds; want the config's error at once", err, gw != nil, calls)
	}
	if in, err := ClusterReplay(nil, ticks.ReplayOptions{}, slog.Default()); in != nil || err != nil {
		t.Error("ClusterReplay without sources is not nil")
	}
}
