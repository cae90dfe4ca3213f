package client

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// fakeServer speaks just enough of the protocol to script what a client
// receives. script runs after the handshake with a send function and the
// channel of frames the client sends.
func fakeServer(t *testing.T, script func(send func(...protocol.Frame), recv <-chan protocol.Frame)) string {
	t.Helper()
	return fakeServerGated(t, nil, script)
}

// fakeServerGated is fakeServer calling gate (if not nil) between the Hello
// and the Welcome.
func fakeServerGated(t *testing.T, gate func(), script func(send func(...protocol.Frame), recv <-chan protocol.Frame)) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		enc, dec := protocol.NewEncoder(), protocol.NewDecoder()
		send := func(fs ...protocol.Frame) {
			var b []byte
			for _, f := range fs {
				b, _ = enc.Append(b, f)
			}
			_ = ws.WriteMessage(websocket.BinaryMessage, b)
		}
		recv := make(chan protocol.Frame, 64)
		go func() {
			defer close(recv)
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				dec.Reset(msg)
				for dec.More() {
					f, err := dec.Next()
					if err != nil {
						return
					}
					recv <- f
				}
			}
		}()
		if _, ok := (<-recv).(*protocol.Hello); !ok {
			t.Error("first frame is not a Hello")
			return
		}
		if gate != nil {
			gate()
		}
		send(&protocol.Welcome{Version: 1, SessionID: "s", Server: "fake", HeartbeatMs: 60000, ResumeToken: "tok"})
		script(send, recv)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func ev(seq uint64, data string, flags protocol.EventFlags) *protocol.Event {
	return &protocol.Event{Type: protocol.TypeEvent, Topic: "orders.Q", Epoch: "e", Seq: seq, Data: []byte(data), Flags: flags}
}

// TestSequencedDefences: the client delivers each event once and in order
// whatever a server sends: it drops duplicates, and on a gap drops what is
// past it and subscribes again from its position. History-lost markers reset
// the position.
func TestSequencedDefences(t *testing.T) {
	resubscribed := make(chan *protocol.Subscribe, 1)
	url := fakeServer(t, func(send func(...protocol.Frame), recv <-chan protocol.Frame) {
		for f := range recv {
			if s, ok := f.(*protocol.Subscribe); ok { // the Subscribe of the Hello's message
				if len(s.Topics) != 1 || s.Topics[0] != "orders.Q" || len(s.Positions) != 0 {
					t.Errorf("first subscribe %+v", s)
				}
				break
			}
		}
		send(ev(1, "a", 0), ev(2, "b", 0), ev(2, "b", 0), ev(1, "a", 0), ev(4, "d", 0), ev(5, "e", 0))
		for f := range recv {
			if s, ok := f.(*protocol.Subscribe); ok {
				resubscribed <- s
				break
			}
		}
		send(ev(3, "c", 0), ev(4, "d", 0), ev(5, "e", 0), ev(9, "state", protocol.EventHistoryLost|protocol.EventSnapshot), ev(10, "j", 0))
		for range recv {
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := New(Options{URLs: []string{url}, Topics: []string{"orders.Q"}, TelemetryEvery: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	go func() { _ = cl.Run(ctx) }()
	want := []string{"1a", "2b", "3c", "4d", "5e", "9state!", "10j"}
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case e := <-cl.Events():
			if se, ok := e.(SequencedEvent); ok {
				s := string(rune('0'+se.Seq%10)) + string(se.Data)
				if se.Seq == 10 {
					s = "10" + string(se.Data)
				}
				if se.HistoryLost && se.Snapshot {
					s += "!"
				}
				got = append(got, s)
			}
		case <-timeout:
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	s := <-resubscribed
	if len(s.Positions) != 1 || s.Positions[0] != (protocol.StreamPosition{Topic: "orders.Q", Seq: 2, Epoch: "e"}) {
		t.Fatalf("resubscribe after the gap: %+v, want from 2@e", s)
	}
	st := cl.Stats()
	if st.Duplicates != 2 || st.Gaps != 2 || st.HistoryLost != 1 || st.StateResyncs != 1 {
		t.Fatalf("stats %+v", st)
	}
	if p := cl.Positions(); len(p) != 1 || p[0].Seq != 10 || cl.ResumeToken() != "tok" {
		t.Fatalf("positions %+v, token %q", p, cl.ResumeToken())
	}
}

func TestStreamURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h:1/ws":       "http://h:1/stream",
		"wss://h/feed/ws":   "https://h/feed/stream",
		"ws://127.0.0.1:80": "http://127.0.0.1:80/stream",
	} {
		if got := StreamURL(in); got != want {
			t.Errorf("StreamURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSubscribeDuringHandshake: topics added while the client is connecting
// (after its Hello and Subscribe went out, before the Welcome) are sent once
// the connection is up.
func TestSubscribeDuringHandshake(t *testing.T) {
	helloSeen, release := make(chan struct{}), make(chan struct{})
	got := make(chan []string, 4)
	gate := func() {
		close(helloSeen)
		<-release
	}
	url := fakeServerGated(t, gate, func(send func(...protocol.Frame), recv <-chan protocol.Frame) {
		for f := range recv {
			if s, ok := f.(*protocol.Subscribe); ok {
				got <- s.Topics
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := New(Options{URLs: []string{url}, Topics: []string{"A"}, TelemetryEvery: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	go func() { _ = cl.Run(ctx) }()
	go func() {
		for range cl.Events() {
		}
	}()
	<-helloSeen // the client is waiting for the Welcome, which the gate holds back
	if err := cl.Subscribe("B"); err != nil {
		t.Fatal(err)
	}
	close(release)
	var all []string
	timeout := time.After(5 * time.Second)
	for len(all) < 2 {
		select {
		case ts := <-got:
			all = append(all, strings.Join(ts, ","))
		case <-timeout:
			t.Fatalf("subscribes %v, want [A B]", all)
		}
	}
	if strings.Join(all, " ") != "A B" {
		t.Fatalf("subscribes %v, want [A B]", all)
	}
}

// TestServerMessageBounded: a server announcing a message over maxMessage
// gets an error before the client allocates it, on both transports.
func TestServerMessageBounded(t *testing.T) {
	const huge = 64 << 20
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream/s1" { // the Hello
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path == "/stream" {
			w.Header().Set("Content-Type", streamType)
			w.Header().Set(streamIDHeader, "s1")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte{huge >> 24, 0, 0, 0}) // a length prefix, then nothing
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // the Hello
			return
		}
		// A binary frame header declaring 64 MiB (127: 8-byte length), and
		// only a few bytes of it.
		nc := ws.NetConn()
		_, _ = nc.Write([]byte{0x82, 127, 0, 0, 0, 0, huge >> 24, 0, 0, 0, 'x', 'y'})
		_, _, _ = ws.ReadMessage() // until the client goes
	}))
	t.Cleanup(srv.Close)
	for _, url := range []string{"ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", srv.URL + "/stream"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Dial(ctx, url, protocol.Hello{})
		runtime.ReadMemStats(&after)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "limit") && !strings.Contains(err.Error(), "max") {
			t.Errorf("%s: a 64 MiB message: %v, want a refusal naming the limit", url, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > maxMessage {
			t.Errorf("%s: allocated %d bytes for a message it refused (limit %d)", url, grew, maxMessage)
		}
	}
}
