package tui

import (
	"strings"
	"testing"
)

// TestStatusShowsTLS: an encrypted link shows its TLS version beside the URL;
// a plain one shows none.
func TestStatusShowsTLS(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 120, 24)
	ev := connected("wss://127.0.0.1:8443/ws", "demo")
	ev.TLS = "TLS 1.3"
	update(m, EventsMsg{ev})
	if st := line(plain(m), "● connected"); !strings.Contains(st, "wss://127.0.0.1:8443/ws  TLS 1.3  node demo") {
		t.Errorf("status line %q lacks the TLS version", st)
	}

	plainModel := newModel(t, clk, nil, 120, 24)
	update(plainModel, EventsMsg{connected(testURL, "demo")})
	if st := line(plain(plainModel), "● connected"); strings.Contains(st, "TLS") {
		t.Errorf("plain link shows TLS: %q", st)
	}
}
