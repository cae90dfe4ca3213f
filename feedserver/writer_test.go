package feedserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// liveHeap is the heap in use after a full collection (twice: pooled
// objects survive one in the pools' victim caches).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// seqSubscriber dials url with a small socket receive buffer, says Hello and
// subscribes to topics. It reads nothing unless drain is set, in which case
// it discards everything it receives.
func seqSubscriber(t *testing.T, url string, drain bool, topics []string) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil && !drain {
			// Stalls the server's write after a few KiB: what the
			// server holds then is what it gathered for the write.
			err = nc.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return nc, err
	}}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	msg := encodeFrames(t, &protocol.Hello{Version: protocol.Version, Client: t.Name()}, &protocol.Subscribe{Topics: topics})
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		t.Fatal(err)
	}
	if drain {
		go func() { _, _ = io.Copy(io.Discard, ws.NetConn()) }()
	}
}

// cursors returns how many events each subscriber of topics has been
// given (gathered for a write), in total.
func cursors(srv *Server, topics []string) map[*Conn]uint64 {
	m := make(map[*Conn]uint64)
	for _, name := range topics {
		s := srv.hub.shard(name)
		s.mu.Lock() // the writers move cursors under the read lock
		if tp := s.topics[name]; tp != nil {
			for c, sb := range tp.subs {
				m[c] += sb.next - 1
			}
		}
		s.mu.Unlock()
	}
	return m
}

// TestCatchUpMemory: clients catching up on many sequenced topics of large
// events hold at most about one write batch each, whether they read nothing
// (their writes stall) or read everything and go idle.
func TestCatchUpMemory(t *testing.T) {
	const (
		ntopics  = 64
		perTopic = 8
		clients  = 4
	)
	for _, drain := range []bool{false, true} {
		t.Run(fmt.Sprintf("drain=%v", drain), func(t *testing.T) {
			// Pings an hour apart: a client that reads nothing sends no Pong
			// and must not be cut for it while the heap is measured.
			cfg := Config{Heartbeat: time.Hour, WriteTimeout: time.Minute, Logger: quiet()}
			if !drain {
				cfg.SocketSendBuffer = 4 << 10 // with the client's small receive buffer: stalls early
			}
			srv, url := startServer(t, cfg)
			topics := make([]string, ntopics)
			data := make([]byte, protocol.MaxEventData)
			for i := range topics {
				topics[i] = fmt.Sprintf("alerts.mem%02d", i)
				for range perTopic {
					if _, _, err := srv.hub.PublishEvents(topics[i], EventIn{Data: data}); err != nil {
						t.Fatal(err)
					}
				}
			}
			base := liveHeap()
			for range clients {
				seqSubscriber(t, url, drain, topics)
			}
			// Wait until every client's writer is done: idle after having
			// written everything, or stalled on its socket (its cursors stop).
			last := map[*Conn]uint64{}
			waitFor(t, 30*time.Second, "writers done or stalled", func() bool {
				now := cursors(srv, topics)
				done := len(now) == clients
				for c, n := range now {
					switch {
					case drain:
						done = done && n == ntopics*perTopic && !c.queue.running.Load()
					default:
						done = done && n > 0 && n == last[c]
					}
				}
				last = now
				if !drain {
					time.Sleep(50 * time.Millisecond) // a stall is a cursor that stays put
				}
				return done
			})
			held := int64(liveHeap()) - int64(base)
			// Each client's connection, 64 subscriptions and gorilla's test
			// side cost well under 128 KiB. A stalled writer holds at most
			// one batch (MaxWriteBatch) of arena, plus the arrays the arena
			// grew out of (no more than it again), plus one event frame
			// past the budget; an idle one holds none of it.
			perClient := int64(128 << 10)
			if !drain {
				perClient += 2*defaultWriteBatch + protocol.MaxEventData + 1<<10
			}
			t.Logf("base %d KiB; %d clients hold %d KiB (bound %d KiB)", base>>10, clients, held>>10, clients*perClient>>10)
			if held > clients*perClient {
				t.Fatalf("%d clients hold %d KiB of heap: more than %d KiB", clients, held>>10, clients*perClient>>10)
			}
		})
	}
}
