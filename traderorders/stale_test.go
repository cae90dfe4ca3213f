package traderorders

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
	"tickwire/fix"
	"tickwire/protocol"
	"tickwire/tui"
)

// TestTraderOrdersStalePrice: orders from the dashboard's order path (the
// order service, as the entry form sends them after the trader confirmed
// the stale warning) do not fill on a price older than the venue's maximum
// age: rejected by default, held with StalePriceAction=hold until a fresh
// price, at which they fill.
func TestTraderOrdersStalePrice(t *testing.T) {
	for _, action := range []fix.StaleAction{fix.StaleReject, fix.StaleHold} {
		t.Run(string(action), func(t *testing.T) {
			r := newOrderRig(t, "ACC", func(c *fix.Config) {
				c.Auto = fix.AutoConfig{MaxPriceAge: 200 * time.Millisecond, StalePrice: action, PollInterval: 5 * time.Millisecond}
			})
			hub := r.srv.Hub()
			hub.SetPaused("EURUSD", true) // the rig's one price ages from here
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if _, age, _, _ := hub.LatestAge("EURUSD"); age > 300*time.Millisecond {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("EURUSD never aged")
				}
			}
			ctx := context.Background()
			if err := r.svc.Submit(ctx, tui.OrderRequest{ClOrdID: "ST-1", Symbol: "EURUSD", Side: tui.SideBuy, Type: tui.OrdTypeMarket,
				Qty: d("100"), TIF: tui.TIFDay, StaleAck: "EURUSD is STALE, price 0.3s old"}); err != nil {
				t.Fatal(err)
			}
			if action == fix.StaleReject {
				r.wait("ST-1 rejected", func(s *orderState) bool { return s.status("ST-1", tui.StatusRejected) })
				if o := r.state.rows["ST-1"]; !strings.Contains(o.Text, "price stale: EURUSD") || !o.CumQty.IsZero() {
					t.Fatalf("ST-1 %+v", o)
				}
				return
			}
			r.wait("ST-1 held", func(s *orderState) bool { return s.status("ST-1", tui.StatusNew) })
			hub.SetPaused("EURUSD", false)
			var q protocol.Quote
			q.Put(protocol.Bid, 1.2)
			q.Put(protocol.Ask, 1.2002)
			if err := hub.Publish("EURUSD", &q, time.Now().UnixNano(), 0); err != nil {
				t.Fatal(err)
			}
			r.wait("ST-1 filled", func(s *orderState) bool { return s.status("ST-1", tui.StatusFilled) })
			if len(r.state.fills) != 1 || !r.state.fills[0].Price.Equal(d("1.2002")) {
				t.Fatalf("fills %+v, want one at the fresh 1.2002", r.state.fills)
			}
		})
	}
}

// TestTraderDashboardStalePrice drives the dashboard with keys, as a trader
// would, against a real server and gateway: its board is fed by a real
// client subscribed to EURUSD, whose source is then paused. The order form
// shows the row's state beside the price it would trade at, enter does not
// send, only y does; the venue then rejects the order (by default) or holds
// it and fills it on the first fresh price, at that price.
func TestTraderDashboardStalePrice(t *testing.T) {
	for _, action := range []fix.StaleAction{fix.StaleReject, fix.StaleHold} {
		t.Run(string(action), func(t *testing.T) {
			r := newOrderRig(t, "ACC", func(c *fix.Config) {
				c.Auto = fix.AutoConfig{MaxPriceAge: 200 * time.Millisecond, StalePrice: action, PollInterval: 5 * time.Millisecond}
			})
			r.model = tui.New(tui.Config{Symbols: []string{"EURUSD"}, Orders: r.svc, ClOrdIDPrefix: "DS", StaleAfter: 200 * time.Millisecond})
			r.model.Update(tea.WindowSizeMsg{Width: 140, Height: 45})
			board := client.New(client.Options{URLs: []string{r.url}, Name: "board", Topics: []string{"EURUSD"}, Logger: slog.New(slog.DiscardHandler)})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = board.Run(ctx) }()
			// feed applies the board client's events to the model until
			// EURUSD's row says want (its state on the board).
			feed := func(want string) {
				t.Helper()
				deadline := time.After(10 * time.Second)
				for l := ""; ; l = r.viewLine("EURUSD") {
					if strings.Contains(l, want) {
						return
					}
					select {
					case ev := <-board.Events():
						r.model.Update(tui.EventsMsg{ev})
					case <-time.After(20 * time.Millisecond): // ages move with the clock alone
					case <-deadline:
						t.Fatalf("EURUSD's row never said %q:\n%s", want, r.model.View())
					}
				}
			}
			feed("1.1002")
			r.srv.Hub().SetPaused("EURUSD", true)
			feed("STALE")

			r.press("b", "100", "enter")
			if v := r.model.View(); !strings.Contains(v, "EURUSD is STALE") || !strings.Contains(v, "y sends anyway") ||
				!strings.Contains(r.viewLine("trades at"), "STALE") {
				t.Fatalf("no stale warning in the form:\n%s", v)
			}
			r.press("enter") // not a confirmation: the warning stays, nothing is sent
			if r.viewLine("y sends anyway") == "" || r.viewLine("DS-1") != "" {
				t.Fatalf("enter twice on a stale row:\n%s", r.model.View())
			}
			r.press("y")
			if action == fix.StaleReject {
				r.wait("DS-1 rejected", func(s *orderState) bool { return s.status("DS-1", tui.StatusRejected) })
				if o := r.state.rows["DS-1"]; !strings.Contains(o.Text, "price stale: EURUSD") || !o.CumQty.IsZero() {
					t.Fatalf("DS-1 %+v", o)
				}
				return
			}
			r.wait("DS-1 held", func(s *orderState) bool { return s.status("DS-1", tui.StatusNew) })
			r.srv.Hub().SetPaused("EURUSD", false)
			var q protocol.Quote
			// The form's limit is the stale ask, 1.1002: the fresh ask
			// below it crosses, and the fill is at the fresh price.
			q.Put(protocol.Bid, 1.0999)
			q.Put(protocol.Ask, 1.1001)
			if err := r.srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0); err != nil {
				t.Fatal(err)
			}
			r.wait("DS-1 filled", func(s *orderState) bool { return s.status("DS-1", tui.StatusFilled) })
			if len(r.state.fills) != 1 || !r.state.fills[0].Price.Equal(d("1.1001")) {
				t.Fatalf("fills %+v, want one at the fresh 1.1001", r.state.fills)
			}
		})
	}
}
