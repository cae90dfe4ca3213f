package feedserver

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// TestWriterFraming: the writer frames WebSocket messages itself. Messages
// whose lengths cross each header form (7-bit, 16-bit, 64-bit length) and
// frames bigger than the message cap arrive whole and in order at a gorilla
// client, which checks the framing as a browser would.
func TestWriterFraming(t *testing.T) {
	srv, url := startServer(t, Config{MaxOutboundMessage: 256 << 10}) // batches past 64 KiB: 64-bit lengths
	const topic = "alerts.framing"
	// Sizes of whole events (payload + frame overhead) that put message
	// lengths on both sides of 125/126 and 65535/65536, then events the
	// writer batches into messages near the 64 KiB cap.
	sizes := []int{1, 100, 110, 111, 112, 120, 65000 / 2, protocol.MaxEventData, protocol.MaxEventData - 20}
	for range 12 {
		sizes = append(sizes, 3000)
	}
	var want [][]byte
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		want = append(want, data)
		if _, _, err := srv.Hub().PublishEvents(topic, EventIn{Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// Subscribing after the publishes: the history comes in large batches.
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := 0
	for got < len(want) {
		if err := c.Read(func(f protocol.Frame) error {
			e, ok := f.(*protocol.Event)
			if !ok {
				return nil
			}
			if !bytes.Equal(e.Data, want[got]) {
				return fmt.Errorf("event %d: %d bytes, want %d", got+1, len(e.Data), len(want[got]))
			}
			got++
			return nil
		}); err != nil {
			t.Fatalf("after %d events: %v", got, err)
		}
	}
	// And live ones, one per batch, across the same boundaries.
	for i, n := range sizes[:7] {
		data := bytes.Repeat([]byte{byte('A' + i)}, n)
		if _, _, err := srv.Hub().PublishEvents(topic, EventIn{Data: data}); err != nil {
			t.Fatal(err)
		}
		readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
			e, ok := f.(*protocol.Event)
			if ok && !bytes.Equal(e.Data, data) {
				t.Fatalf("live event %d: %d bytes, want %d", i, len(e.Data), n)
			}
			return ok
		})
	}
}

// TestWebSocketPing: the server answers a WebSocket-level ping with a pong
// carrying its payload, through the writer (the one goroutine that writes),
// while data keeps flowing.
func TestWebSocketPing(t *testing.T) {
	srv, url := startServer(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	enc := protocol.NewEncoder()
	msg, _ := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: t.Name()})
	msg, _ = enc.Append(msg, &protocol.Subscribe{Topics: []string{"FRAMING"}})
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		t.Fatal(err)
	}
	pongs := make(chan string, 10)
	ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		q := protocol.Quote{}
		for i := 0; ctx.Err() == nil; i++ {
			q.Put(protocol.Bid, float64(i))
			_ = srv.Hub().Publish("FRAMING", &q, time.Now().UnixNano(), 0)
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		for ctx.Err() == nil { // reading runs the pong handler
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 20 {
		payload := fmt.Sprintf("ping-%d", i)
		if err := ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-pongs:
			if got != payload {
				t.Fatalf("pong %q, want %q", got, payload)
			}
		case <-ctx.Done():
			t.Fatalf("no pong for %q", payload)
		}
	}
}
