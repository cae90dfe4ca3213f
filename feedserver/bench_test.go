package feedserver

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// The fan-out benchmarks publish into a real server whose clients are real
// loopback WebSockets. Each client sends its Hello and Subscribe, then drains
// its socket's raw bytes without parsing them, so the process's allocations
// (-benchmem) are the server's: hub, queues and writers. allocs/op is per
// publish; allocs/frame divides them by the frames written to all clients:
// the per-message-per-client cost, which must stay near zero.

// rawSubscriber dials url, subscribes to topics and drains the socket until
// the benchmark ends.
func rawSubscriber(b *testing.B, url string, topics ...string) {
	b.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.Close() })
	enc := protocol.NewEncoder()
	msg, err := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: "bench"})
	if err == nil {
		msg, err = enc.Append(msg, &protocol.Subscribe{Topics: topics})
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		b.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ws.NetConn()) }()
}

// benchServer starts a server for the fan-out benchmarks with n subscribers
// of topic. Pings are off (an hour apart) so only publishes are measured.
func benchServer(b *testing.B, n int, topic string) *Server {
	b.Helper()
	srv, url := startServer(b, Config{Heartbeat: time.Hour, Logger: quiet()})
	for range n {
		rawSubscriber(b, url, topic)
	}
	waitFor(b, 30*time.Second, "subscribers", func() bool {
		subs := 0
		for _, c := range srv.Clients() {
			subs += c.Subscriptions
		}
		return subs == n
	})
	return srv
}

// waitSent waits until the server's frame count stops moving: the writers
// have flushed what the loop published.
func waitSent(srv *Server) uint64 {
	last := srv.Stats().SentFrames
	for {
		time.Sleep(20 * time.Millisecond)
		now := srv.Stats().SentFrames
		if now == last {
			return now
		}
		last = now
	}
}

// BenchmarkFanoutConflated publishes quote updates to one conflated topic
// with n subscribers: each client's queue holds at most one pending value,
// written by its writer with the shared encoded version.
func BenchmarkFanoutConflated(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			const topic = "bench.EURUSD"
			srv := benchServer(b, n, topic)
			q := protocol.Quote{}
			q.Put(protocol.Bid, 1.1)
			q.Put(protocol.Ask, 1.2)
			before := waitSent(srv)
			m0 := mallocs()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				q.Put(protocol.Bid, 1.1+float64(i%100)*1e-5)
				if err := srv.hub.Publish(topic, &q, time.Now().UnixNano(), 0); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			sent := waitSent(srv) - before
			reportPerFrame(b, sent, mallocs()-m0)
		})
	}
}

// BenchmarkFanoutSequenced publishes 125-byte events to one sequenced topic
// with n subscribers: every client gets every event, from the topic's ring
// of encoded frames.
func BenchmarkFanoutSequenced(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			const topic = "alerts.bench"
			srv := benchServer(b, n, topic)
			data := make([]byte, 125)
			before := waitSent(srv)
			m0 := mallocs()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				data[0] = byte(i)
				if _, _, err := srv.hub.PublishEvents(topic, EventIn{Data: data}); err != nil {
					b.Fatal(err)
				}
				if i%256 == 255 {
					// Let the writers keep up: a client past its sequenced
					// bound is disconnected, by design.
					pace(srv)
				}
			}
			b.StopTimer()
			sent := waitSent(srv) - before
			reportPerFrame(b, sent, mallocs()-m0)
		})
	}
}

// pace waits until every subscriber's queue has nothing pending.
func pace(srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		pending := 0
		srv.mu.Lock()
		for c := range srv.clients {
			pending += c.queue.stats().pending
		}
		srv.mu.Unlock()
		if pending == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// mallocs returns the process's heap allocations so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// reportPerFrame reports the frames written per publish and the allocations
// per frame written (allocs counts the whole loop, waits included): the
// per-message-per-client cost.
func reportPerFrame(b *testing.B, sent, allocs uint64) {
	b.Helper()
	if sent == 0 {
		b.Fatal("no frames written")
	}
	b.ReportMetric(float64(sent)/float64(b.N), "frames/op")
	b.ReportMetric(float64(allocs)/float64(sent), "allocs/frame")
}
