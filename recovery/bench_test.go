package recovery_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tickwire/recovery"
)

// BenchmarkAppend measures durable appends with concurrent appenders, one
// record of ~200 B per Append (an order event), on one stream. events/s is
// the throughput over all appenders; events/commit the group commit size;
// ns/op is per event (b.N counts events across all appenders).
//
//	go test -run '^$' -bench BenchmarkAppend -benchmem ./recovery/
func BenchmarkAppend(b *testing.B) {
	const payload = 200
	for _, sync := range []recovery.SyncPolicy{recovery.SyncAlways, recovery.SyncNone} {
		for _, n := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("sync=%s/appenders=%d/payload=%dB", sync, n, payload), func(b *testing.B) {
				j := openBolt(b, filepath.Join(b.TempDir(), "journal.db"), recovery.BoltOptions{Sync: sync})
				defer j.Close()
				benchAppend(b, j, n, payload)
				st := j.Stats()
				b.ReportMetric(float64(st.Records)/float64(st.Commits), "events/commit")
			})
		}
	}
	b.Run(fmt.Sprintf("mem/appenders=64/payload=%dB", payload), func(b *testing.B) {
		benchAppend(b, recovery.NewMem(), 64, payload)
	})
	// A server's default journal (feedserver.Config.MemoryRetention),
	// past its retention: trimming in the steady state.
	b.Run(fmt.Sprintf("mem-retaining=4096/appenders=1/payload=%dB", payload), func(b *testing.B) {
		benchAppend(b, recovery.NewMemRetaining(4096, 0), 1, payload)
	})
}

func benchAppend(b *testing.B, j recovery.Journal, appenders, payload int) {
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	b.SetBytes(int64(payload))
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range appenders {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := j.Append(ctx, "orders", recovery.Record{Data: data}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkReadFrom measures history reads of 1000 entries of ~200 B.
func BenchmarkReadFrom(b *testing.B) {
	j := openBolt(b, filepath.Join(b.TempDir(), "journal.db"), recovery.BoltOptions{Sync: recovery.SyncNone})
	defer j.Close()
	recs := make([]recovery.Record, 1000)
	for i := range recs {
		recs[i].Data = make([]byte, 200)
	}
	var p recovery.Position
	for range 10 {
		var err error
		if p, err = j.Append(context.Background(), "orders", recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1000 * 200)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		after := recovery.Position{Seq: uint64(i%9) * 1000, Epoch: p.Epoch}
		es, err := j.ReadFrom(context.Background(), "orders", after, 1000)
		if err != nil || len(es) != 1000 {
			b.Fatal(len(es), err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}
