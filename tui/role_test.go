package tui

import (
	"strings"
	"testing"

	"tickwire/client"
)

// TestClusterRole: the status bar names the role the node says it has (a
// cluster node's Welcome), follows its changes (Pong), and a standby we are
// on that becomes active is shown as a failover, with an alert.
func TestClusterRole(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 120, 24)
	up := connected("ws://n2/ws", "n2")
	up.Role = "standby"
	update(m, EventsMsg{up})
	if st := line(plain(m), "● connected"); !strings.Contains(st, "node n2 (standby)") || strings.Contains(st, "FAILED OVER") {
		t.Fatalf("status %q: want node n2 (standby), no failover", st)
	}
	clk.add(1)
	update(m, EventsMsg{client.RoleEvent{Role: "active"}})
	v := plain(m)
	if st := line(v, "FAILED OVER"); !strings.Contains(st, "node n2 (active)") {
		t.Errorf("status %q: want FAILED OVER on node n2 (active)", st)
	}
	if l := line(v, "failed over: node n2 is now active (was standby)"); !strings.Contains(l, "WARN") {
		t.Errorf("alert line %q: want a WARN saying the node became active", l)
	}
	// A new connection starts afresh: its Welcome's role, no failover mark
	// from the switch before.
	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: "ws://n2/ws", Attempt: 1}})
	again := connected("ws://n2/ws", "n2")
	again.Role = "active"
	update(m, EventsMsg{again})
	if st := line(plain(m), "● connected"); !strings.Contains(st, "node n2 (active)") {
		t.Errorf("status %q after reconnecting to the same node: want connected, node n2 (active)", st)
	}
}
