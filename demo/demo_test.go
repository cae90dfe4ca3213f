package demo

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

func TestTitle(t *testing.T) {
	for _, c := range []struct {
		files string
		speed float64
		want  string
	}{
		{"embedded", 1, "tickwire demo · real OANDA ticks, 2014-05-08, replayed ×1"},
		{"a.csv,b.csv", 2.5, "tickwire demo · replay of a.csv,b.csv ×2.5"},
	} {
		if got := Title(c.files, c.speed); got != c.want {
			t.Errorf("Title(%q, %v) = %q, want %q", c.files, c.speed, got, c.want)
		}
	}
}

// TestNewServer: the demo's server checks credentials, and the dashboard's
// token is accepted and entitled to account DEMO's orders.
func TestNewServer(t *testing.T) {
	srv, bridge, token, err := NewServer(time.Second, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil || srv == nil || bridge == nil {
		t.Fatalf("NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	url := "ws://" + ln.Addr().String() + "/ws"
	for _, c := range []struct {
		token string
		ok    bool
	}{{token, true}, {"not-a-token", false}} {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := client.Dial(cctx, url, protocol.Hello{Client: t.Name(), Token: c.token})
		ccancel()
		if (err == nil) != c.ok {
			t.Errorf("token %q: dial error %v, want ok %v", c.token[:min(len(c.token), 12)], err, c.ok)
		}
		if conn != nil {
			conn.Close()
		}
	}
}
