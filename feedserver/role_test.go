package feedserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"tickwire/client"
)

// TestRoleAnnounced: a cluster node (Cluster) says its state in the
// Welcome and, after a switch, in its Pongs, so a client on a standby
// learns within a heartbeat that it became the active node; /readyz is 200
// for active and standby only, naming the state.
func TestRoleAnnounced(t *testing.T) {
	srv, url := startServer(t, Config{Cluster: true, Heartbeat: 50 * time.Millisecond})
	srv.SetNodeState(NodeStandby)
	base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	ready := func(want int, body string) {
		t.Helper()
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want || !strings.Contains(string(b), body) {
			t.Errorf("/readyz: %d %q, want %d with %q", resp.StatusCode, b, want, body)
		}
	}
	ready(http.StatusOK, "ready: standby")
	col := runClient(t, client.Options{URLs: []string{url}})
	up := col.next(5*time.Second, "connected", isState(client.Connected)).(client.StateEvent)
	if up.Role != "standby" {
		t.Fatalf("Welcome role %q, want standby", up.Role)
	}
	srv.SetNodeState(NodeSwitching)
	ready(http.StatusServiceUnavailable, "not ready: node switching")
	srv.SetNodeState(NodeActive)
	ready(http.StatusOK, "ready: active")
	ev := col.next(5*time.Second, "a role event", func(ev client.Event) bool {
		r, ok := ev.(client.RoleEvent)
		return ok && r.Role == "active"
	})
	if ev.(client.RoleEvent).Role != "active" {
		t.Fatalf("got %#v", ev)
	}
}

// TestRoleNotAnnounced: a single node's Welcome says nothing of a role (its
// frames are as before).
func TestRoleNotAnnounced(t *testing.T) {
	_, url := startServer(t, Config{})
	col := runClient(t, client.Options{URLs: []string{url}})
	if up := col.next(5*time.Second, "connected", isState(client.Connected)).(client.StateEvent); up.Role != "" {
		t.Fatalf("Welcome role %q from a single node, want none", up.Role)
	}
}
