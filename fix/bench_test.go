package fix_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"tickwire/fix"
	"tickwire/fix/fixclient"
)

// BenchmarkOrderRoundTrip measures the gateway over a real FIX session on
// loopback, with the durable journal on (bbolt, fsync before each append
// returns) and, by store:
//
//   - store=file: quickfix's FileStore written without fsync
//     (FileStoreSync=N), the single-node default;
//   - store=journal: the journal message store (fix.store.* streams of the
//     same bbolt journal, durable before a byte is sent: a second group
//     commit per batch, shared with the next batch's order append).
//
// The counterparty is a minimal FIX client (rawClient);
// the orders are limits far from the market, acknowledged by the auto
// venue at zero latency and left resting.
//
//   - mode=roundtrip: one order at a time, D -> ExecutionReport(New):
//     p50/p99 latency;
//
//   - mode=pipelined: orders sent without waiting, at most window
//     outstanding: orders/s sustained until the last ER(New).
//
//     go test -run '^$' -bench BenchmarkOrderRoundTrip -benchtime 5000x ./fix/
func BenchmarkOrderRoundTrip(b *testing.B) {
	for _, store := range []string{fix.StoreFile, fix.StoreJournal} {
		b.Run("store="+store, func(b *testing.B) { benchOrderRoundTrip(b, store) })
	}
}

func benchOrderRoundTrip(b *testing.B, store string) {
	benchOrders(b, func(b *testing.B) *rawClient { return benchRig(b, store) })
}

// benchOrders runs the round-trip and pipelined modes against the gateways
// rig starts, one per mode.
func benchOrders(b *testing.B, rig func(*testing.B) *rawClient) {
	b.Run("mode=roundtrip", func(b *testing.B) {
		c := rig(b)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			cl := fmt.Sprintf("B%d", i)
			start := time.Now()
			if err := c.send(fixclient.NewOrderSingle(benchOrder(cl))); err != nil {
				b.Fatal(err)
			}
			if err := c.flush(); err != nil {
				b.Fatal(err)
			}
			waitNew(b, c, cl)
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
		b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	})
	for _, window := range []int{100, 1000} {
		b.Run(fmt.Sprintf("mode=pipelined/window=%d", window), func(b *testing.B) {
			c := rig(b)
			b.ResetTimer()
			start := time.Now()
			sent, acked := 0, 0
			for acked < b.N {
				for sent < b.N && sent-acked < window {
					if err := c.send(fixclient.NewOrderSingle(benchOrder(fmt.Sprintf("P%d", sent)))); err != nil {
						b.Fatal(err)
					}
					sent++
				}
				if err := c.flush(); err != nil {
					b.Fatal(err)
				}
				m, err := c.read()
				if err != nil {
					b.Fatal(err)
				}
				if m[35] != "8" || m[150] != "0" {
					b.Fatalf("unexpected %v", m)
				}
				acked++
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "orders/s")
		})
	}
}

func benchRig(b *testing.B, store string) *rawClient {
	r := newRig(b, withoutClient(), func(r *rig) { r.cfg.MessageStore = store })
	c, err := dialRaw(r.gw.Addr(), r.clID, r.gwID)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	return c
}

func benchOrder(cl string) fixclient.Order {
	return fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "0.5", Qty: "100"}
}

func waitNew(b *testing.B, c *rawClient, cl string) {
	for {
		m, err := c.read()
		if err != nil {
			b.Fatal(err)
		}
		if m[35] == "8" && m[11] == cl && m[150] == "0" {
			return
		}
		if m[35] != "8" {
			b.Fatalf("unexpected %v", m)
		}
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
