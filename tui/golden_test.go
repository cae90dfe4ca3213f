package tui

import (
	"errors"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"tickwire/client"
	"tickwire/protocol"
)

// TestGolden runs the dashboard as a bubbletea program (teatest) through
// each state a trader must be able to tell apart, and compares the final
// screen, ANSI-stripped, with testdata/TestGolden/<state>.golden. The clock
// is fixed (the program never sees it move), the window is 80x24 and the
// colour profile Ascii, so the screens are exact. `go test ./tui/ -run
// TestGolden -update` rewrites them.
func TestGolden(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	fresh := EventsMsg{
		connected(testURL, "demo"),
		price("EURUSD", 1.39231, 1.39244, at(-3*time.Second), 0),
		price("NZDUSD", 0.86478, 0.86503, at(-2500*time.Millisecond), 0),
		price("EURUSD", 1.39233, 1.39245, at(-1200*time.Millisecond), 0),
		price("NZDUSD", 0.86475, 0.86501, at(-400*time.Millisecond), 0),
		client.RTTEvent{RTT: 180 * time.Microsecond},
	}
	type step = []tea.Msg
	for _, tc := range []struct {
		name  string
		svc   OrderService
		steps step
	}{
		{"connecting", nil, step{
			EventsMsg{client.StateEvent{State: client.Connecting, URL: testURL}},
		}},
		{"fresh", nil, step{fresh}},
		{"feed_stale", nil, step{fresh,
			EventsMsg{price("NZDUSD", 0.86475, 0.86501, at(-100*time.Millisecond), protocol.FlagStale)},
		}},
		{"age_stale", nil, step{fresh,
			// EURUSD's last price is 5.2s old against its 5s threshold.
			EventsMsg{price("EURUSD", 1.39233, 1.39245, at(-5200*time.Millisecond), 0)},
			tickMsg(t0),
		}},
		{"reconnecting", nil, step{fresh,
			EventsMsg{price("NZDUSD", 0.86475, 0.86501, at(-100*time.Millisecond), protocol.FlagStale)},
			EventsMsg{client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 3,
				NextRetry: at(1700 * time.Millisecond), Err: errors.New("read tcp: connection reset by peer")}},
		}},
		{"failed_over", nil, step{fresh,
			EventsMsg{client.StateEvent{State: client.Reconnecting, URL: "ws://127.0.0.1:8081/ws", Attempt: 1, NextRetry: t0}},
			EventsMsg{client.StateEvent{State: client.Connected, URL: "ws://127.0.0.1:8081/ws", Server: "backup-1", SessionID: "c7", FailedOver: true},
				gapPrice("EURUSD", 1.39240, 1.39252, t0), gapPrice("NZDUSD", 0.86470, 0.86497, t0)},
		}},
		{"blotter_partial_fill", &fakeOrders{}, step{fresh, partialFill(t0), keyMsg("tab")}},
		{"order_entry_error", &fakeOrders{}, step{fresh, keyMsg("b"), keyMsg("1"), keyMsg("0"), keyMsg("k"),
			keyMsg("tab"), keyMsg("tab"), keyMsg("ctrl+u"), keyMsg("enter")}},
		{"order_entry_stale_confirm", &fakeOrders{}, step{fresh,
			EventsMsg{price("NZDUSD", 0.86475, 0.86501, at(-100*time.Millisecond), protocol.FlagStale)},
			keyMsg("j"), keyMsg("s"), keyMsg("5"), keyMsg("0"), keyMsg("0"), keyMsg("0"), keyMsg("0"), keyMsg("enter")}},
		{"help", nil, step{fresh, keyMsg("?")}},
		// A care order awaiting the desk, selected: the desk keys it offers.
		{"blotter_care_awaiting_desk", &fakeOrders{}, step{fresh, partialFill(t0),
			careOrder("T-3", StatusPendingNew, "0", t0), keyMsg("tab")}},
		// The fill form on a working care order, refusing more than the leaves.
		{"desk_fill_form", &fakeOrders{}, step{fresh, partialFill(t0),
			careOrder("T-3", StatusPartiallyFilled, "30000", t0), keyMsg("tab"), keyMsg("e"), keyMsg("ctrl+u"),
			keyMsg("8"), keyMsg("0"), keyMsg("0"), keyMsg("0"), keyMsg("0"), keyMsg("enter")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			m := New(Config{Title: "tickwire trader", Symbols: []string{"EURUSD", "NZDUSD"}, Now: clk.now,
				Orders: tc.svc, ClOrdIDPrefix: "T", Roles: map[string]string{testURL: "primary", "ws://127.0.0.1:8081/ws": "backup"}})
			tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
			for _, msg := range tc.steps {
				tm.Send(msg)
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
			// The screen as the next frame draws it (data alone waits for frameEvery).
			golden.RequireEqual(t, []byte(ansi.Strip(fm.render())))
		})
	}
}
