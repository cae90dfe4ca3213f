package feedserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// TestCoalesceWindow: with Config.CoalesceWindow, a writer that keeps up
// writes each event at once (no window: no added latency), while one that
// found itself behind (two publishes reached it before it ran) gathers the
// events published during its window into one write: fewer writes, every
// event, in order. After a window's batch it is judged afresh: the next
// event, which finds it keeping up, goes at once again.
func TestCoalesceWindow(t *testing.T) {
	// A window long enough to tell apart from scheduling delays under
	// -race; the Config caps it at MaxCoalesceWindow, so it is set past
	// the cap here, before the server runs.
	const window = time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Small socket buffers make the writer's write of 64 KiB stall until
	// the client reads.
	srv := New(Config{Logger: quiet(), SocketSendBuffer: 4 << 10})
	srv.cfg.CoalesceWindow = window
	serveServer(t, srv, ln)

	const topic = "orders.coalesce"
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = nc.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return nc, err
	}}
	ws, _, err := d.Dial("ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version, Client: t.Name()}, &protocol.Subscribe{Topics: []string{topic}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))

	var next uint64 = 1 // the next event's seq
	data := func(seq uint64) []byte {
		if seq == 4 || seq == 5 {
			return bytes.Repeat([]byte{byte(seq)}, protocol.MaxEventData)
		}
		return fmt.Appendf(nil, "event %d", seq)
	}
	publish := func() {
		t.Helper()
		if _, _, err := srv.Hub().PublishEvent(topic, data(next), 0); err != nil {
			t.Fatal(err)
		}
		next++
	}
	// read reads one WebSocket message and returns the seqs of its events,
	// checking each is the next expected, with its data.
	var want uint64 = 1
	read := func() []uint64 {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read, expecting event %d: %v", want, err)
		}
		var seqs []uint64
		dec := protocol.NewDecoder()
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				t.Fatal(err)
			}
			ev, ok := f.(*protocol.Event)
			if !ok {
				continue // the Welcome
			}
			if ev.Seq != want || !bytes.Equal(ev.Data, data(want)) {
				t.Fatalf("got event %d (%d bytes), want %d", ev.Seq, len(ev.Data), want)
			}
			seqs = append(seqs, ev.Seq)
			want++
		}
		return seqs
	}
	readThrough := func(seq uint64) {
		t.Helper()
		for want <= seq {
			read()
		}
	}
	// keepsUp publishes one event and checks it arrives well within the
	// window: a writer that keeps up does not wait.
	keepsUp := func() {
		t.Helper()
		seq, start := next, time.Now()
		publish()
		readThrough(seq)
		if took := time.Since(start); took > window/2 {
			t.Fatalf("event %d took %v: a writer keeping up waited (window %v)", seq, took, window)
		}
	}

	// Keeping up: events 1..3, each read before the next is published.
	for range 3 {
		keepsUp()
	}

	// Behind: the writer's write of events 4 and 5 (64 KiB) stalls on the
	// full socket while 6 and 7 are published: two publishes reach the
	// subscription before the writer can run.
	if _, _, err := srv.Hub().PublishEvents(topic, EventIn{Data: data(4)}, EventIn{Data: data(5)}); err != nil {
		t.Fatal(err)
	}
	next = 6
	waitFor(t, 5*time.Second, "the writer to take events 4 and 5", func() bool {
		for _, n := range cursors(srv, []string{topic}) {
			return n == 5
		}
		return false
	})
	publish()
	publish()
	readThrough(7) // 4..7: the writer, behind, now waits its window
	// Events published during the window, at a pace the writer would
	// otherwise keep up with (one write each), share one write.
	for range 5 {
		publish()
		time.Sleep(20 * time.Millisecond) // the publishing pace, not a wait for a condition
	}
	start := time.Now()
	if got := read(); len(got) != 5 {
		t.Fatalf("events published during the window came in a message of %v, want 8..12 together", got)
	}
	if took := time.Since(start); took > window {
		t.Errorf("the window's batch came %v after the last publish: longer than the window %v", took, window)
	}

	// After the window's batch, the next events find the writer keeping up.
	for range 2 {
		keepsUp()
	}
}

// TestCoalesceWindowBound: Config.CoalesceWindow is capped at
// MaxCoalesceWindow; a negative one is off.
func TestCoalesceWindowBound(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{0: 0, -time.Second: 0, 10 * time.Millisecond: 10 * time.Millisecond, time.Second: MaxCoalesceWindow} {
		if got := (Config{CoalesceWindow: in}).withDefaults().CoalesceWindow; got != want {
			t.Errorf("CoalesceWindow %v: %v, want %v", in, got, want)
		}
	}
}
