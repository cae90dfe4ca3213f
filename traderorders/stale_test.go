package traderorders

import (
	"context"
	"strings"
	"testing"
	"time"

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
