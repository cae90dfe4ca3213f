package tui

import (
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// TestAuthRefusedStatus: a server refusing the trader's credential shows in
// the status bar as what it is, not as a generic link failure.
func TestAuthRefusedStatus(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 80, 24)
	refusal := &protocol.Error{Code: protocol.CodeUnauthorized, Reason: "unauthorized: token expired"}
	update(m, EventsMsg{
		client.ErrorEvent{Err: refusal},
		client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 1, NextRetry: clk.t.Add(5 * time.Second),
			Err: refusal, AuthRefused: refusal.Reason},
	})
	st := line(plain(m), "reconnecting")
	if !strings.Contains(st, "auth refused: token expired") {
		t.Errorf("status %q: want \"auth refused: token expired\"", st)
	}
	checkFits(t, m, 80, 24)
}
