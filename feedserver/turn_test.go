package feedserver

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// TestTurnNeverWaits: pulled values are written on the wheel's goroutine
// without waiting (turn.go). A rate-limited client that stops reading fills
// its socket; its writes then go to a writer goroutine of its own, and
// another rate-limited client keeps getting its values on time meanwhile
// (a write that waited on the wheel would hold it up for WriteTimeout).
// When the stalled client reads again, every message it gets decodes (a
// batch left half-written by a turn is finished whole), no topic's value
// goes back, and it ends with the latest value of every topic.
func TestTurnNeverWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	const (
		topics   = 200
		interval = 20 * time.Millisecond
	)
	srv, url := startServer(t, Config{SocketSendBuffer: 4096, WriteTimeout: time.Minute, IdleTimeout: time.Minute, Heartbeat: time.Minute})
	name := func(i int) string { return fmt.Sprintf("turn.%03d.%s", i, "padding-to-make-the-frames-larger") }

	var q protocol.Quote
	var bid float64
	publishAll := func() {
		bid++
		q.Put(protocol.Bid, bid)
		for i := range topics {
			if err := srv.Hub().Publish(name(i), &q, time.Now().UnixNano(), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishAll()

	// The stalled client: small receive buffer, every topic, not reading.
	stalled := dialSmallReadBuffer(t, url)
	sub := &protocol.Subscribe{MinIntervalMs: uint32(interval / time.Millisecond)}
	for i := range topics {
		sub.Topics = append(sub.Topics, name(i))
	}
	if err := stalled.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version}, sub)); err != nil {
		t.Fatal(err)
	}

	// The punctual client: one topic, reading.
	punctual := dial(t, url)
	if err := punctual.Send(&protocol.Subscribe{Topics: []string{name(0)}, MinIntervalMs: uint32(interval / time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the stalled subscriptions", subscribed(srv, topics))
	waitFor(t, 5*time.Second, "the punctual subscription", subscribed(srv, 1))

	// Publish every topic each few milliseconds until the stalled client's
	// turns have been handed off, and for a while after.
	type got struct {
		bid float64
		at  time.Time
	}
	arrivals := make(chan got, 1024)
	go func() {
		defer close(arrivals)
		for {
			err := punctual.Read(func(f protocol.Frame) error {
				if p, ok := f.(*protocol.Price); ok {
					b, _ := p.Quote.Get(protocol.Bid)
					arrivals <- got{b, time.Now()}
				}
				return nil
			})
			if err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	var stallSince time.Time
	var gaps []time.Duration
	last := time.Now()
	for {
		publishAll()
		if stallSince.IsZero() && srv.handedOff() > 0 {
			stallSince = time.Now()
		}
		if !stallSince.IsZero() && time.Since(stallSince) > time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled client's socket never filled (handed off %d)", srv.handedOff())
		}
	drain:
		for {
			select {
			case a, ok := <-arrivals:
				if !ok {
					t.Fatal("the punctual client was cut")
				}
				if !stallSince.IsZero() {
					gaps = append(gaps, a.at.Sub(last))
				}
				last = a.at
			default:
				break drain
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	// While the stalled client's writer waited, the punctual one got about
	// one value per interval. A median, so that a scheduler's hiccup on a
	// loaded machine is not taken for a wheel held up.
	if len(gaps) < 10 {
		t.Fatalf("the punctual client got %d values in the second after the stall began: want about %d", len(gaps), time.Second/interval)
	}
	if med := median(gaps); med > 5*interval {
		t.Fatalf("the punctual client's median gap %v during the stall (interval %v)", med, interval)
	}

	// The stalled client reads: every message decodes, no value goes
	// back, and each topic ends at the last bid.
	final := bid
	latest := make(map[string]float64, topics)
	dec := protocol.NewDecoder()
	done := 0
	_ = stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	for done < topics {
		_, msg, err := stalled.ReadMessage()
		if err != nil {
			t.Fatalf("stalled client: %v (%d of %d topics at the last value)", err, done, topics)
		}
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				t.Fatalf("undecodable frame after the stall: %v", err)
			}
			p, ok := f.(*protocol.Price)
			if !ok {
				continue
			}
			b, has := p.Quote.Get(protocol.Bid)
			if !has {
				continue
			}
			if b < latest[p.Topic] {
				t.Fatalf("%s went back from %v to %v", p.Topic, latest[p.Topic], b)
			}
			if b == final && latest[p.Topic] != final {
				done++
			}
			latest[p.Topic] = b
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// dialSmallReadBuffer dials a raw WebSocket whose socket takes little
// before the client reads: a client that stops reading fills the server's
// side soon. It is closed when the test ends.
func dialSmallReadBuffer(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	small := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	c, _, err := small.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestPublishTurnNeverWaits: a publisher of sequenced events to a topic of
// a few subscribers writes their events itself when their writers are idle
// (queue.markNow), without ever waiting on a socket. One subscriber stops
// reading and fills its socket; the publisher's publishes keep returning at
// once (a turn that waited would hold one for WriteTimeout), and the other subscriber gets every event, in order, as it comes.
// When the stalled subscriber reads again, it gets every event exactly once,
// in order: a batch a turn left half-written is finished by its writer.
func TestPublishTurnNeverWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	const topic = "orders.turn"
	srv, url := startServer(t, Config{SocketSendBuffer: 4096, WriteTimeout: 15 * time.Second, IdleTimeout: time.Minute, Heartbeat: time.Minute})

	// Not dialSmallReadBuffer: a receive window smaller than loopback's
	// segment, under 2 KiB events, stalls the sender's TCP itself (its
	// persist timer's probes did not move it for 30 s).
	stalled, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stalled.Close() })
	if err := stalled.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version}, &protocol.Subscribe{Topics: []string{topic}})); err != nil {
		t.Fatal(err)
	}
	punctual := dial(t, url)
	if err := punctual.Send(&protocol.Subscribe{Topics: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both subscriptions", func() bool {
		n := 0
		for _, c := range srv.Conns() {
			if c.Subscriptions == 1 {
				n++
			}
		}
		return n == 2
	})

	seqs := make(chan uint64, 1<<16)
	go func() {
		defer close(seqs)
		for {
			err := punctual.Read(func(f protocol.Frame) error {
				if e, ok := f.(*protocol.Event); ok && e.Topic == topic {
					seqs <- e.Seq
				}
				return nil
			})
			if err != nil {
				return
			}
		}
	}()
	var want uint64 // the punctual subscriber's next seq
	take := func() {
		for {
			select {
			case s, ok := <-seqs:
				if !ok {
					t.Fatal("the punctual subscriber was cut")
				}
				if s != want+1 {
					t.Fatalf("punctual subscriber: seq %d after %d", s, want)
				}
				want = s
			default:
				return
			}
		}
	}

	data := make([]byte, 2048)
	var last uint64
	var slowest time.Duration
	publish := func() {
		start := time.Now()
		_, seq, err := srv.Hub().PublishEvent(topic, data, 0)
		if err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
		last = seq
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.handedOff() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled subscriber's socket never filled (%d published)", last)
		}
		publish()
		take()
		time.Sleep(time.Millisecond)
	}
	stallSince, before := time.Now(), last
	for time.Since(stallSince) < time.Second {
		publish()
		take()
		time.Sleep(time.Millisecond)
	}
	// A turn that waited would hold a publish for the write timeout.
	if slowest > 5*time.Second {
		t.Fatalf("a publish took %v", slowest)
	}
	if n := last - before; n < 100 {
		t.Fatalf("%d publishes in the second after the stall began (the slowest took %v): want hundreds", n, slowest)
	}
	if turns := srv.Stats().PublishTurns; turns == 0 {
		t.Fatal("no publish took a turn: the events all went through writer goroutines")
	}
	waitFor(t, 10*time.Second, "the punctual subscriber's last event", func() bool {
		take()
		return want == last
	})

	// The stalled subscriber reads: every event once, in order.
	dec := protocol.NewDecoder()
	var got uint64
	_ = stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	for got < last {
		_, msg, err := stalled.ReadMessage()
		if err != nil {
			t.Fatalf("stalled subscriber: %v (at seq %d of %d)", err, got, last)
		}
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				t.Fatalf("undecodable frame after the stall: %v", err)
			}
			if e, ok := f.(*protocol.Event); ok && e.Topic == topic {
				if e.Seq != got+1 {
					t.Fatalf("stalled subscriber: seq %d after %d", e.Seq, got)
				}
				got = e.Seq
			}
		}
	}
}
