package feedserver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/protocol"
)

// TestRequestTopics: a PublishEvent on a request topic goes to its handler,
// in order, after the events published before it; the handler's error comes
// back as Error 1004 naming the topic; nothing is stored on the topic.
func TestRequestTopics(t *testing.T) {
	type call struct {
		from     ConnInfo
		topic    string
		data     string
		sawOrder bool
	}
	var (
		mu    sync.Mutex
		calls []call
		srv   *Server
	)
	handler := func(ctx context.Context, from ConnInfo, topic string, data []byte) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("request context without deadline")
		}
		saw := false
		for _, ti := range srv.Hub().Topics() {
			saw = saw || ti.Name == "orders.X"
		}
		mu.Lock()
		calls = append(calls, call{from, topic, string(data), saw})
		mu.Unlock()
		switch string(data) {
		case "ok":
			return nil
		case "long":
			return errors.New(strings.Repeat("é", 2*maxRequestReason))
		}
		return errors.New("refused: " + string(data))
	}
	srv, url := startServer(t, Config{Requests: map[string]RequestHandler{"requests.test": handler}})
	c := dial(t, url)
	ev := func(topic, data string) protocol.Frame {
		return &protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: []byte(data)}
	}
	if err := c.Send(ev("orders.X", "e1"), ev("requests.test", "ok"), ev("requests.test", "bad"),
		ev("requests.test", "long"), &protocol.Ping{Nonce: 42}); err != nil {
		t.Fatal(err)
	}
	var errs []*protocol.Error
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for pong := false; !pong; {
		if err := c.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Error:
				errs = append(errs, f)
			case *protocol.Pong:
				pong = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || calls[0].data != "ok" || calls[1].data != "bad" || calls[2].data != "long" {
		t.Fatalf("handler calls %+v", calls)
	}
	if c0 := calls[0]; c0.topic != "requests.test" || c0.from.ID == "" || c0.from.Remote == "" || c0.from.Session != c.Welcome.SessionID || !c0.sawOrder {
		t.Fatalf("first call %+v (session %q)", c0, c.Welcome.SessionID)
	}
	if len(errs) != 2 || errs[0].Code != protocol.CodeBadPublish || errs[0].Reason != "refused: bad" || errs[0].Topic != "requests.test" {
		t.Fatalf("errors before the pong: %+v", errs)
	}
	if r := errs[1].Reason; len(r) > maxRequestReason || !strings.HasPrefix(r, "éé") || strings.ContainsRune(r, '\uFFFD') {
		t.Fatalf("long reason: %d bytes %q...", len(r), r[:10])
	}
	for _, ti := range srv.Hub().Topics() {
		if ti.Name == "requests.test" {
			t.Fatalf("request topic stored: %+v", ti)
		}
	}
}
