package bench

import (
	"context"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// IdleResult is the server memory per idle connected client, for tickwire
// (after Hello and one subscription) and for the raw gorilla server.
type IdleResult struct {
	Clients          int     `json:"clients"`
	OursPerClientKiB float64 `json:"ours_per_client_kib"`
	OursHeapKiB      float64 `json:"ours_heap_per_client_kib"`
	OursStackKiB     float64 `json:"ours_stack_per_client_kib"`
	RawPerClientKiB  float64 `json:"raw_per_client_kib"`
	RawHeapKiB       float64 `json:"raw_heap_per_client_kib"`
	RawStackKiB      float64 `json:"raw_stack_per_client_kib"`
	OursGoroutines   int     `json:"ours_goroutines_per_client"`
	Ratio            float64 `json:"ratio"`
}

// Idle connects n idle clients to each server and reads the growth of its RSS.
func Idle(ctx context.Context, feed, echo *Child, n int) (IdleResult, error) {
	res := IdleResult{Clients: n}
	var err error
	if res.OursPerClientKiB, res.OursHeapKiB, res.OursStackKiB, err = idleRun(ctx, feed, n, true); err != nil {
		return res, err
	}
	if res.RawPerClientKiB, res.RawHeapKiB, res.RawStackKiB, err = idleRun(ctx, echo, n, false); err != nil {
		return res, err
	}
	res.Ratio = res.OursPerClientKiB / max(res.RawPerClientKiB, 0.001)
	return res, nil
}

func idleRun(ctx context.Context, srv *Child, n int, proto bool) (rss, heap, stack float64, err error) {
	if err := srv.GC(); err != nil {
		return 0, 0, 0, err
	}
	before, err := ReadProc(srv.Pid)
	if err != nil {
		return 0, 0, 0, err
	}
	m0, err := srv.Mem()
	if err != nil {
		return 0, 0, 0, err
	}
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	d := websocket.Dialer{ReadBufferSize: 1 << 10, WriteBufferSize: 1 << 10}
	for range n {
		c, _, err := d.DialContext(ctx, srv.URL(), nil)
		if err != nil {
			return 0, 0, 0, err
		}
		conns = append(conns, c)
		if proto {
			if err := sendFrames(c, &protocol.Hello{Version: protocol.Version, Client: "bench-idle"}, &protocol.Subscribe{Topics: []string{"bench.idle"}}); err != nil {
				return 0, 0, 0, err
			}
			// Answer pings so the server keeps us; otherwise stay silent.
			go func() {
				_ = readFrames(c, false, func(f protocol.Frame, _ time.Time) error {
					if p, ok := f.(*protocol.Ping); ok {
						_ = sendFrames(c, &protocol.Pong{Nonce: p.Nonce})
					}
					return nil
				})
			}()
		}
	}
	time.Sleep(1500 * time.Millisecond) // past a heartbeat: idle connections at rest
	if err := srv.GC(); err != nil {
		return 0, 0, 0, err
	}
	after, err := ReadProc(srv.Pid)
	if err != nil {
		return 0, 0, 0, err
	}
	m1, err := srv.Mem()
	if err != nil {
		return 0, 0, 0, err
	}
	kib := func(a, b uint64) float64 { return (float64(b) - float64(a)) / 1024 / float64(n) }
	return float64(after.RSSKiB-before.RSSKiB) / float64(n), kib(m0.HeapInuse, m1.HeapInuse), kib(m0.StackInuse, m1.StackInuse), nil
}
