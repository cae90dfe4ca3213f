package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"tickwire/client"
	"tickwire/protocol"
)

func init() { lipgloss.SetColorProfile(termenv.Ascii) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func price(topic string, bid, ask float64, at time.Time, flags protocol.Flags) client.PriceEvent {
	var q protocol.Quote
	q.Put(protocol.Bid, bid)
	q.Put(protocol.Ask, ask)
	return client.PriceEvent{Topic: topic, Quote: q, Received: at, Flags: flags}
}

func update(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	nm, _ := m.Update(msg)
	return nm.(Model)
}

func line(view, prefix string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, prefix) {
			return l
		}
	}
	return ""
}

func TestBoardAgesStaleAndFrozen(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	m := New(Config{Symbols: []string{"EURUSD", "NZDUSD"}, StaleAfter: 5 * time.Second, Now: clk.now})
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(t, m, EventsMsg{
		client.StateEvent{State: client.Connected, URL: "ws://127.0.0.1:1/ws", Server: "demo"},
		price("EURUSD", 1.39231, 1.39244, clk.t, 0),
		price("NZDUSD", 0.86478, 0.86503, clk.t, 0),
		client.RTTEvent{RTT: 250 * time.Microsecond},
	})
	clk.t = clk.t.Add(time.Second)
	m = update(t, m, EventsMsg{price("EURUSD", 1.39233, 1.39245, clk.t, 0)})

	clk.t = clk.t.Add(1500 * time.Millisecond)
	v := m.View()
	eu, nz := line(v, "EURUSD"), line(v, "NZDUSD")
	for _, want := range []string{"1.39233", "1.39245", "0.00012", "▲", "1.5s"} {
		if !strings.Contains(eu, want) {
			t.Errorf("EURUSD row %q lacks %q", eu, want)
		}
	}
	if !strings.Contains(nz, "2.5s") || strings.Contains(nz, "STALE") {
		t.Errorf("NZDUSD row %q: want age 2.5s, not stale", nz)
	}
	if st := line(v, "connected"); !strings.Contains(st, "ws://127.0.0.1:1/ws") || !strings.Contains(st, "rtt 0.25ms") {
		t.Errorf("status line %q", st)
	}

	// Pings do not reset ages; past the threshold the row says STALE.
	clk.t = clk.t.Add(3 * time.Second)
	m = update(t, m, EventsMsg{client.RTTEvent{RTT: time.Millisecond}})
	v = m.View()
	if nz := line(v, "NZDUSD"); !strings.Contains(nz, "STALE") || !strings.Contains(nz, "5.5s") {
		t.Errorf("NZDUSD row %q: want STALE at 5.5s", nz)
	}
	if eu := line(v, "EURUSD"); strings.Contains(eu, "STALE") {
		t.Errorf("EURUSD row %q is 4.5s old, not stale", eu)
	}

	// The server says the feed is stale: told apart from age.
	m = update(t, m, EventsMsg{price("EURUSD", 1.39233, 1.39245, clk.t, protocol.FlagStale)})
	if eu := line(m.View(), "EURUSD"); !strings.Contains(eu, "STALE feed") {
		t.Errorf("EURUSD row %q: want STALE feed", eu)
	}

	// Our link drops: every row is frozen and the status shows the retry.
	m = update(t, m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: "ws://127.0.0.1:1/ws", Attempt: 3, NextRetry: clk.t.Add(1200 * time.Millisecond)}})
	v = m.View()
	for _, sym := range []string{"EURUSD", "NZDUSD"} {
		if l := line(v, sym); !strings.Contains(l, "FROZEN") {
			t.Errorf("%s row %q: want FROZEN while the link is down", sym, l)
		}
	}
	if st := line(v, "reconnecting"); !strings.Contains(st, "#3 in 1.2s") {
		t.Errorf("status %q: want attempt and countdown", st)
	}
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 80 {
			t.Errorf("line of %d cells at width 80: %q", w, l)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                  "0.0s",
		400 * time.Millisecond:        "0.4s",
		12 * time.Second:              "12s",
		3*time.Minute + 5*time.Second: "3m05s",
		2*time.Hour + 14*time.Minute:  "2h14m",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
