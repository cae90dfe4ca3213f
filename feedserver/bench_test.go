package feedserver

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
	"tickwire/tlsconf"
)

// The fan-out benchmarks publish into a real server whose clients are real
// loopback WebSockets. Each client sends its Hello and Subscribe, then drains
// its socket's raw bytes without parsing them, so the process's allocations
// (-benchmem) are the server's: hub, queues and writers.

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
	srv, url := startServer(b, Config{Heartbeat: time.Hour, Logger: quiet(), MaxPreHelloPerAddr: -1})
	for range n {
		rawSubscriber(b, url, topic)
	}
	waitFor(b, 30*time.Second, "subscribers", func() bool {
		subs := 0
		for _, c := range srv.Conns() {
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
// with n subscribers; each op is one update written to all n clients (the
// loop waits for the writers, so nothing conflates): allocs/op that do not
// grow with n are allocations per publish, not per client.
func BenchmarkFanoutConflated(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			const topic = "bench.EURUSD"
			srv := benchServer(b, n, topic)
			q := protocol.Quote{}
			q.Put(protocol.Bid, 1.1)
			q.Put(protocol.Ask, 1.2)
			sent := waitSent(srv)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				q.Put(protocol.Bid, 1.1+float64(i%100)*1e-5)
				if err := srv.hub.Publish(topic, &q, time.Now().UnixNano(), 0); err != nil {
					b.Fatal(err)
				}
				sent += uint64(n)
				awaitSent(b, srv, sent)
			}
			b.StopTimer()
			b.ReportMetric(float64(n), "frames/op")
		})
	}
}

// BenchmarkFanoutSequenced publishes 125-byte events to one sequenced topic
// with n subscribers; each op is one event written to all n clients, from
// the topic's ring of encoded frames.
func BenchmarkFanoutSequenced(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			const topic = "alerts.bench"
			srv := benchServer(b, n, topic)
			data := make([]byte, 125)
			sent := waitSent(srv)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				data[0] = byte(i)
				if _, _, err := srv.hub.PublishEvents(topic, EventIn{Data: data}); err != nil {
					b.Fatal(err)
				}
				sent += uint64(n)
				awaitSent(b, srv, sent)
			}
			b.StopTimer()
			b.ReportMetric(float64(n), "frames/op")
		})
	}
}

// awaitSent spins until the server has written target frames. It allocates
// nothing, so the loop's allocations are the server's.
func awaitSent(b *testing.B, srv *Server, target uint64) {
	for i := 0; srv.sentFrames.Load() < target; i++ {
		if i%1024 == 1023 {
			time.Sleep(10 * time.Microsecond)
		} else {
			runtime.Gosched()
		}
		if i > 50_000_000 {
			b.Fatalf("writers stuck at %d of %d frames", srv.sentFrames.Load(), target)
		}
	}
}

// BenchmarkTLSBatchWrite: over TLS the socket has no writev, so the writer
// copies a batch (64 frames of 125 B, WebSocket headers included) into one
// buffer and makes one TLS write of it (copy), against the alternative
// without the copy, one TLS write per frame (per-frame: a record and a
// system call each), and the copy alone. docs/BENCHMARKS.md has the figures.
func BenchmarkTLSBatchWrite(b *testing.B) {
	ss, err := tlsconf.EnsureSelfSigned(b.TempDir(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	srvConf, err := tlsconf.LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		b.Fatal(err)
	}
	cliConf, err := tlsconf.ClientConfig(ss.CertFile)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := tls.NewListener(ln, srvConf).Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	cliConf.ServerName = "127.0.0.1"
	nc, err := tls.Dial("tcp", ln.Addr().String(), cliConf)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = make([]byte, 125)
	}
	var gather sync.Pool
	gather.New = func() any { return new([]byte) }
	sw := &socketWriter{}
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(64 * 125)
		for b.Loop() {
			if _, err := sw.write(nc, frames, 64<<10, &gather); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("per-frame", func(b *testing.B) {
		b.SetBytes(64 * 125)
		for b.Loop() {
			for _, f := range frames {
				if _, err := nc.Write(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("copy-alone", func(b *testing.B) {
		b.SetBytes(64 * 125)
		buf := make([]byte, 0, 16<<10)
		for b.Loop() {
			buf = buf[:0]
			for _, f := range frames {
				buf = appendWSHeader(buf, wsOpBinary, len(f))
				buf = append(buf, f...)
			}
		}
	})
}

// BenchmarkPullConflated: n rate-limited subscribers (MinIntervalMs 5) of
// one conflated topic, served by pulls on the wheel's tick. Each op is one
// publish, then the wait until every client was written it (its next tick):
// allocs/delivery is the server's allocations per delivered value, which
// must be zero; the publish itself costs one (its shared delta).
func BenchmarkPullConflated(b *testing.B) {
	// Both ends of every connection are in this process: 10,000 clients
	// need 20,000 descriptors and a few more, past some machines' limit.
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	for _, n := range []int{1000, 10000} {
		if most := int(lim.Cur-256) / 2; n > most {
			n = most // named by the count run
		}
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			const topic = "bench.pull"
			srv, url := startServer(b, Config{Heartbeat: time.Hour, Logger: quiet(), MaxPreHelloPerAddr: -1, MaxConnectionsPerAddr: -1})
			for range n {
				rawSubscriberOpts(b, url, 5, topic)
			}
			waitFor(b, 60*time.Second, "subscribers", func() bool {
				subs := 0
				for _, c := range srv.Conns() {
					subs += c.Subscriptions
				}
				return subs == n
			})
			q := protocol.Quote{}
			q.Put(protocol.Bid, 1.1)
			if err := srv.hub.Publish(topic, &q, time.Now().UnixNano(), 0); err != nil {
				b.Fatal(err)
			}
			sent := waitSent(srv)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			pulled0 := srv.pulled()
			cpu0 := processCPU(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				q.Put(protocol.Bid, 1.1+float64(i%100)*1e-5)
				if err := srv.hub.Publish(topic, &q, time.Now().UnixNano(), 0); err != nil {
					b.Fatal(err)
				}
				sent += uint64(n)
				awaitSent(b, srv, sent)
			}
			b.StopTimer()
			cpu := processCPU(b) - cpu0
			runtime.ReadMemStats(&m1)
			deliveries := float64(b.N) * float64(n)
			b.ReportMetric(float64(n), "frames/op")
			// CPU time, not wall time: what a busy shared machine changes
			// least. Both ends are in this process (the readers discard).
			b.ReportMetric(float64(cpu.Microseconds())/deliveries, "cpu-us/delivery")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs-uint64(b.N))/deliveries, "allocs/delivery")
			b.ReportMetric(float64(srv.pulled()-pulled0)/deliveries, "pulls/delivery")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawSubscriberOpts is rawSubscriber asking for at most one update per
// minIntervalMs.
func rawSubscriberOpts(b *testing.B, url string, minIntervalMs uint32, topics ...string) {
	b.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.Close() })
	enc := protocol.NewEncoder()
	msg, err := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: "bench"})
	if err == nil {
		msg, err = enc.Append(msg, &protocol.Subscribe{Topics: topics, MinIntervalMs: minIntervalMs})
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		b.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ws.NetConn()) }()
}

// BenchmarkPingPong is `tickwire bench pingpong` in one process: a client
// publishes an event of n bytes to a sequenced topic it subscribes to and
// reads it back (publish -> journal -> hub -> queue -> writer -> writev),
// against a gorilla echo of the same bytes. Both clients send prebuilt
// messages and read raw ones, so the difference between the two is the
// server's; allocs/op of feed are the server's per round trip plus the
// client's one per read (gorilla's message reader). Run it pinned to
// mirror the bench:
//
//	taskset -c 0 go test -run '^$' -bench PingPong -benchmem ./feedserver/
func BenchmarkPingPong(b *testing.B) {
	for _, n := range []int{125, 500, 1000, 2000} {
		data := make([]byte, n)
		b.Run(fmt.Sprintf("feed/payload=%d", n), func(b *testing.B) {
			const topic = "bench.seq.pingpong"
			_, url := startServer(b, Config{
				Heartbeat: time.Hour, Logger: quiet(), MemoryRetention: 4096,
				Topics: []TopicRule{{Pattern: "bench.seq.*", Kind: Sequenced, Window: 4096}},
			})
			ws, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			enc := protocol.NewEncoder()
			hello, err := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: "bench"})
			if err == nil {
				hello, err = enc.Append(hello, &protocol.Subscribe{Topics: []string{topic}})
			}
			if err != nil {
				b.Fatal(err)
			}
			msg, err := enc.Append(nil, &protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: data})
			if err != nil {
				b.Fatal(err)
			}
			if err := ws.WriteMessage(websocket.BinaryMessage, hello); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			roundTrip := func() {
				if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
				// The Welcome, and the Subscribe's reply, come before the
				// first event: read until a message of the event's size.
				for {
					_, r, err := ws.NextReader()
					if err != nil {
						b.Fatal(err)
					}
					got, err := io.ReadFull(r, buf[:len(msg)])
					if err == nil || got >= len(data) {
						_, _ = io.Copy(io.Discard, r)
						return
					}
				}
			}
			pingPongRun(b, roundTrip)
		})
		b.Run(fmt.Sprintf("echo/payload=%d", n), func(b *testing.B) {
			up := websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 16 << 10, WriteBufferPool: &sync.Pool{}}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					for {
						mt, m, err := c.ReadMessage()
						if err != nil || c.WriteMessage(mt, m) != nil {
							return
						}
					}
				}()
			})}
			go func() { _ = hs.Serve(ln) }()
			defer hs.Close()
			ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			buf := make([]byte, 64<<10)
			pingPongRun(b, func() {
				if err := ws.WriteMessage(websocket.BinaryMessage, data); err != nil {
					b.Fatal(err)
				}
				_, r, err := ws.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, buf[:len(data)]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// pingPongRun warms up past the topic's retention, then times b.N round
// trips, reporting the process's CPU time per round trip beside the wall
// time (the machine may be shared: CPU time moves less with the load).
func pingPongRun(b *testing.B, roundTrip func()) {
	for range 4 * 4096 {
		roundTrip()
	}
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
