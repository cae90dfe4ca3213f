package ha_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
)

// BenchmarkAppend measures Append (one 200-byte order event per call, as
// the FIX gateway does) through 1 and 3 voters on loopback, with the raft
// log fsynced per batch and with NoSync ("the quorum is the disk"), one
// caller at a time (latency) and 16 concurrent callers (throughput: raft
// batches them).
func BenchmarkAppend(b *testing.B) {
	for _, voters := range []int{1, 3} {
		for _, nosync := range []bool{false, true} {
			for _, callers := range []int{1, 16} {
				name := fmt.Sprintf("voters=%d/nosync=%v/callers=%d", voters, nosync, callers)
				b.Run(name, func(b *testing.B) {
					c := newCluster(b, voters, func(cfg *ha.Config) { cfg.NoSync = nosync })
					j := c.nodes[c.leader(10*time.Second)].Journal()
					defer j.Close()
					rec := recovery.Record{Data: make([]byte, 200)}
					b.ReportAllocs()
					b.SetBytes(int64(len(rec.Data)))
					lat := make([]time.Duration, 0, b.N)
					var mu sync.Mutex
					b.ResetTimer()
					var wg sync.WaitGroup
					per := (b.N + callers - 1) / callers
					for w := range callers {
						wg.Go(func() {
							mine := make([]time.Duration, 0, per)
							for i := w; i < b.N; i += callers {
								t0 := time.Now()
								if _, err := j.Append(context.Background(), "orders", rec); err != nil {
									b.Error(err)
									return
								}
								mine = append(mine, time.Since(t0))
							}
							mu.Lock()
							lat = append(lat, mine...)
							mu.Unlock()
						})
					}
					wg.Wait()
					b.StopTimer()
					slices.Sort(lat)
					if len(lat) > 0 {
						b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
						b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
					}
				})
			}
		}
	}
}

// BenchmarkFailover kills (closes) the leader of 3 voters b.N times and
// measures the time until a new leader has applied a barrier (it could
// serve: its journal is complete) and until it acknowledges an Append. The
// killed node is reopened on its data directory each round so the cluster
// is back to 3 voters. Default timeouts (ha.DefaultTimeouts).
func BenchmarkFailover(b *testing.B) {
	c := newCluster(b, 3, nil)
	var ready, appended []time.Duration
	for i := 0; i < b.N; i++ {
		l := c.leader(20 * time.Second)
		j := c.nodes[c.follower(l)].Journal()
		appendRetry(b, c, "orders", fmt.Sprint("r", i))
		t0 := time.Now()
		c.stop(l)
		nl := c.leader(20 * time.Second)
		ready = append(ready, time.Since(t0))
		nj := c.nodes[nl].Journal()
		for {
			if _, err := nj.Append(context.Background(), "orders", recovery.Record{Data: []byte("x")}); err == nil {
				break
			}
			if time.Since(t0) > 20*time.Second {
				b.Fatal("no append within 20s of the kill")
			}
			time.Sleep(time.Millisecond)
		}
		appended = append(appended, time.Since(t0))
		_ = nj.Close()
		_ = j.Close()
		c.start(l)
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Milliseconds()), name+"-p50-ms")
		b.ReportMetric(float64(d[len(d)*99/100].Milliseconds()), name+"-p99-ms")
		b.ReportMetric(float64(d[len(d)-1].Milliseconds()), name+"-max-ms")
	}
	report("leader", ready)
	report("append", appended)
}
