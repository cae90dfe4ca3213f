package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/feedserver"
	"tickwire/protocol"
)

// The behaviour benchmarks put a trades topic merged by a WebAssembly
// behaviour (vwap.wasm, the whole record) beside the same topic merged by
// the built-in trade ops, in the same run, on a real server with real
// loopback WebSocket clients that drain their sockets unparsed
// (docs/BENCHMARKS.md, "Behaviours in the server").

// benchRules: builtin.trades merges by protocol.OpsTrade, wasm.trades by
// vwap.wasm.
func benchRules(b *testing.B) []feedserver.TopicRule {
	b.Helper()
	rules, bs, err := TopicRules(context.Background(), []feedserver.TopicRuleSpec{
		{Pattern: "wasm.trades", Kind: "merge", Merge: map[string]string{"*": "wasm(" + wasm["vwap"] + ", vwap)"}},
		{Pattern: "builtin.trades", Kind: "merge", Merge: map[string]string{"volume": "sum", "high": "max", "low": "min"}},
	}, testBounds)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bs.Close(context.Background()) })
	return rules
}

// benchServe runs a server of rules with n raw subscribers of topic.
func benchServe(b *testing.B, rules []feedserver.TopicRule, n int, topic string) *feedserver.Server {
	b.Helper()
	srv := feedserver.New(feedserver.Config{Topics: rules, Heartbeat: time.Hour, Logger: quiet(), MaxPreHelloPerAddr: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done })
	enc := protocol.NewEncoder()
	msg, _ := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: "bench"})
	msg, _ = enc.Append(msg, &protocol.Subscribe{Topics: []string{topic}})
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = ws.Close() })
		if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			b.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, ws.NetConn()) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for subscriptions(srv) != n {
		if time.Now().After(deadline) {
			b.Fatal("subscribers")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return srv
}

func awaitSent(b *testing.B, srv *feedserver.Server, target uint64) {
	for i := 0; srv.Stats().SentFrames < target; i++ {
		if i%1024 == 1023 {
			time.Sleep(10 * time.Microsecond)
		} else {
			runtime.Gosched()
		}
		if i > 50_000_000 {
			b.Fatalf("writers stuck at %d of %d frames", srv.Stats().SentFrames, target)
		}
	}
}

// BenchmarkBehaviourFanout: each op is one trade merged and written to all
// n clients (the loop waits for the writers, so nothing conflates).
func BenchmarkBehaviourFanout(b *testing.B) {
	needModules(b)
	rules := benchRules(b)
	for _, n := range []int{100, 1000} {
		for _, op := range []string{"builtin", "wasm"} {
			b.Run(fmt.Sprintf("merge=%s/clients=%d", op, n), func(b *testing.B) {
				topic := op + ".trades"
				srv := benchServe(b, rules, n, topic)
				if err := srv.Hub().Publish(topic, trade(100, 1), time.Now().UnixNano(), 0); err != nil {
					b.Fatal(err)
				}
				sent := uint64(n)
				awaitSent(b, srv, sent)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := srv.Hub().Publish(topic, trade(100+float64(i%50), 1), time.Now().UnixNano(), 0); err != nil {
						b.Fatal(err)
					}
					sent += uint64(n)
					awaitSent(b, srv, sent)
				}
			})
		}
	}
}

// BenchmarkBehaviourConflated: trades published as fast as the hub takes
// them to a topic with n clients, which cannot keep up: values conflate in
// their queues (replaced, for a behaviour topic; folded, for a built-in
// merge). ns/op is a publish: the merge, the encoding, n offers.
func BenchmarkBehaviourConflated(b *testing.B) {
	needModules(b)
	rules := benchRules(b)
	for _, n := range []int{100, 1000} {
		for _, op := range []string{"builtin", "wasm"} {
			b.Run(fmt.Sprintf("merge=%s/clients=%d", op, n), func(b *testing.B) {
				topic := op + ".trades"
				srv := benchServe(b, rules, n, topic)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := srv.Hub().Publish(topic, trade(100+float64(i%50), 1), time.Now().UnixNano(), 0); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				st := srv.Stats()
				b.ReportMetric(float64(st.SentFrames)/float64(b.N*n), "written/offered")
			})
		}
	}
}
