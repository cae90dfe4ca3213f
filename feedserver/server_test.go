package feedserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// startServer runs a Server on a random loopback port and returns it with its
// WebSocket URL. It stops when the test ends.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := serveOn(t, cfg, ln)
	return srv, "ws://" + ln.Addr().String() + "/ws"
}

// serveOn runs a Server on ln until the test ends; stop begins its graceful
// shutdown earlier.
func serveOn(t testing.TB, cfg Config, ln net.Listener) (srv *Server, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv = New(cfg)
	return srv, serveServer(t, srv, ln)
}

// serveServer runs srv on ln until the test ends; stop begins its graceful
// shutdown earlier.
func serveServer(t testing.TB, srv *Server, ln net.Listener) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return cancel
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dial(t testing.TB, url string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, protocol.Hello{Client: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMalformedFrame: a client sending garbage gets an Error frame with a
// reason and stays connected; another client keeps receiving updates.
func TestMalformedFrame(t *testing.T) {
	srv, url := startServer(t, Config{})
	good := dial(t, url)
	if err := good.Send(&protocol.Subscribe{Topics: []string{"EURUSD"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", func() bool {
		cs := srv.Conns()
		return len(cs) == 1 && cs[0].Subscriptions == 1
	})
	bad := dial(t, url)

	publish := func(bid float64) {
		var q protocol.Quote
		q.Put(protocol.Bid, bid)
		q.Put(protocol.Ask, bid+0.0001)
		srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0)
	}
	expectBid := func(c *client.Conn, bid float64) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			var seen bool
			if err := c.Read(func(f protocol.Frame) error {
				if p, ok := f.(*protocol.Price); ok && p.Quote.V[protocol.Bid] == bid {
					seen = true
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if seen {
				return
			}
		}
	}
	publish(1.1)
	expectBid(good, 1.1)

	for _, garbage := range [][]byte{{0xc1}, []byte("not msgpack at all"), {0x91, 0x63}} {
		if err := bad.SendRaw(garbage); err != nil {
			t.Fatal(err)
		}
		_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
		var gotErr *protocol.Error
		for gotErr == nil {
			if err := bad.Read(func(f protocol.Frame) error {
				if e, ok := f.(*protocol.Error); ok {
					gotErr = e
				}
				return nil
			}); err != nil {
				t.Fatalf("after garbage % x: %v", garbage, err)
			}
		}
		if gotErr.Code != protocol.CodeBadFrame || !strings.Contains(gotErr.Reason, "malformed") {
			t.Errorf("garbage % x: got %v, want CodeBadFrame with a reason", garbage, gotErr)
		}
	}
	// The bad client is still served...
	if err := bad.Send(&protocol.Ping{Nonce: 77}); err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	for pong := false; !pong; {
		if err := bad.Read(func(f protocol.Frame) error {
			if p, ok := f.(*protocol.Pong); ok && p.Nonce == 77 {
				pong = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// ...and so is everyone else.
	publish(1.2)
	expectBid(good, 1.2)
}

// TestTooManyBadFrames: a client that keeps sending garbage is cut off with a
// fatal error naming the reason.
func TestTooManyBadFrames(t *testing.T) {
	_, url := startServer(t, Config{MaxBadFrames: 2})
	c := dial(t, url)
	for range 3 {
		if err := c.SendRaw([]byte{0xc1}); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var fatal *protocol.Error
		err := c.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Error); ok && e.Code.Fatal() {
				fatal = e
			}
			return nil
		})
		if fatal != nil {
			if fatal.Code != protocol.CodeTooManyErrors {
				t.Fatalf("got %v", fatal)
			}
			return
		}
		if err != nil {
			t.Fatalf("connection ended without a fatal error frame: %v", err)
		}
	}
}

func TestHandshakeRefusals(t *testing.T) {
	_, url := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := client.Dial(ctx, url, protocol.Hello{Version: 99})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeBadVersion {
		t.Errorf("version 99: got %v, want CodeBadVersion", err)
	}
}

func TestConnectionCap(t *testing.T) {
	_, url := startServer(t, Config{MaxConnections: 1})
	dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, url, protocol.Hello{})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeServerFull {
		t.Fatalf("second connection: got %v, want CodeServerFull", err)
	}
}

// TestConflationDepth: a client that does not read holds at most one pending
// value per topic, and when it reads it gets the latest value.
func TestConflationDepth(t *testing.T) {
	srv, url := startServer(t, Config{})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"A", "B"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		cs := srv.Conns()
		return len(cs) == 1 && cs[0].Subscriptions == 2
	})
	var q protocol.Quote
	for i := range 20000 {
		q.Put(protocol.Bid, float64(i))
		srv.Hub().Publish("A", &q, int64(i), 0)
		srv.Hub().Publish("B", &q, int64(i), 0)
		if st := srv.Conns()[0]; i%1000 == 0 && st.Pending > 2 {
			t.Fatalf("pending %d entries for 2 topics", st.Pending)
		}
	}
	last := map[string]float64{}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rebuilt := map[string]protocol.Quote{}
	for last["A"] != 19999 || last["B"] != 19999 {
		if err := c.Read(func(f protocol.Frame) error {
			if p, ok := f.(*protocol.Price); ok {
				v := rebuilt[p.Topic]
				v.Apply(&p.Quote)
				rebuilt[p.Topic] = v
				last[p.Topic] = v.V[protocol.Bid]
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if st := srv.Conns()[0]; st.Conflated == 0 {
		t.Errorf("expected conflation with a non-reading client, stats %+v", st)
	}
}

func TestRESTTopics(t *testing.T) {
	srv, url := startServer(t, Config{})
	var q protocol.Quote
	q.Put(protocol.Bid, 1.5)
	srv.Hub().Publish("EURUSD", &q, 1, 0)
	base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	resp, err := http.Get(base + "/topics/EURUSD")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Topic  string
		Fields map[string]float64
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.Topic != "EURUSD" || snap.Fields["bid"] != 1.5 {
		t.Fatalf("got %+v", snap)
	}
	resp2, err := http.Get(base + "/topics/NOPE")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown topic: HTTP %d", resp2.StatusCode)
	}
}
