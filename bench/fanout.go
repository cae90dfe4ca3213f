package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// FanoutResult compares delivered messages per second to many clients
// through tickwire with the raw batched-write server.
type FanoutResult struct {
	Transport string  `json:"transport"` // ws, or wss: the feed over TLS (the raw server is plain)
	Clients   int     `json:"clients"`
	FrameSize int     `json:"frame_bytes"`
	Seconds   float64 `json:"seconds"`
	Ours      float64 `json:"ours_msgs_per_sec"`
	Raw       float64 `json:"raw_msgs_per_sec"`
	Ratio     float64 `json:"ratio"`
	OursJain  float64 `json:"ours_jain"`
	RawJain   float64 `json:"raw_jain"`
	VsPlain   float64 `json:"vs_plain"` // TLS row: its msg/s over the plain feed's in the same run
}

// Fanout publishes ~frame-byte events as fast as the slowest client keeps up
// (at most ahead events in flight) to n clients for d, through tickwire and
// through the raw server, and counts what the clients decode.
func Fanout(ctx context.Context, feed, rawfan *Child, n, frame int, d time.Duration) (FanoutResult, error) {
	res := FanoutResult{Transport: scheme(feed), Clients: n, FrameSize: frame, Seconds: d.Seconds()}
	var err error
	if res.Ours, res.OursJain, err = fanoutRun(ctx, feed, n, frame, d, false); err != nil {
		return res, fmt.Errorf("tickwire fan-out: %w", err)
	}
	if res.Raw, res.RawJain, err = fanoutRun(ctx, rawfan, n, frame, d, true); err != nil {
		return res, fmt.Errorf("raw fan-out: %w", err)
	}
	res.Ratio = res.Ours / max(res.Raw, 1)
	return res, nil
}

const fanTopic = "bench.seq.fanout"

func fanoutRun(ctx context.Context, srv *Child, n, frame int, d time.Duration, raw bool) (rate, jain float64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counts := make([]atomic.Uint64, n)
	var wg sync.WaitGroup
	errc := make(chan error, n+1)
	conns := make([]*websocket.Conn, n)
	for i := range n {
		c, err := dialCounting(ctx, srv, raw)
		if err != nil {
			return 0, 0, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := protocol.NewDecoder()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					if ctx.Err() == nil {
						errc <- err
					}
					return
				}
				dec.Reset(msg)
				k := uint64(0)
				for dec.More() {
					f, err := dec.Next()
					if err != nil {
						errc <- err
						return
					}
					switch f := f.(type) {
					case *protocol.Event:
						k++
					case *protocol.Ping:
						// Answer, or the server drops us as idle.
						_ = sendFrames(c, &protocol.Pong{Nonce: f.Nonce})
					case *protocol.Error:
						errc <- f
						return
					}
				}
				counts[i].Add(k)
			}
		}()
	}
	// Publisher: 64 events per message, at most `ahead` events beyond the
	// slowest client so nobody falls out of the retained window.
	pubURL := srv.URL()
	if raw {
		pubURL = "ws://" + srv.Addr + "/pub"
	}
	pd := websocket.Dialer{TLSClientConfig: srv.TLS}
	pub, _, err := pd.DialContext(ctx, pubURL, nil)
	if err != nil {
		return 0, 0, err
	}
	defer pub.Close()
	if !raw {
		if err := sendFrames(pub, &protocol.Hello{Version: protocol.Version, Client: "bench-pub"}); err != nil {
			return 0, 0, err
		}
	}
	data := make([]byte, max(frame-30, 1))
	enc := protocol.NewEncoder()
	var batch []byte
	var published uint64
	const ahead = 1024
	minCount := func() uint64 {
		m := counts[0].Load()
		for i := range counts {
			m = min(m, counts[i].Load())
		}
		return m
	}
	var start time.Time
	var startCounts []uint64
	warm := 500 * time.Millisecond
	t0 := time.Now()
	for {
		now := time.Now()
		if start.IsZero() && now.Sub(t0) >= warm {
			start = now
			for i := range counts {
				startCounts = append(startCounts, counts[i].Load())
			}
		}
		if !start.IsZero() && now.Sub(start) >= d {
			break
		}
		select {
		case err := <-errc:
			return 0, 0, err
		default:
		}
		if published-minCount() > ahead {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		batch = batch[:0]
		for range 64 {
			typ := protocol.TypePublishEvent
			if raw {
				typ = protocol.TypeEvent // the raw server forwards bytes as they are
			}
			published++
			batch, _ = enc.Append(batch, &protocol.Event{Type: typ, Topic: fanTopic, Seq: published, Data: data})
		}
		if err := pub.WriteMessage(websocket.BinaryMessage, batch); err != nil {
			return 0, 0, err
		}
	}
	el := time.Since(start)
	per := make([]float64, n)
	var total float64
	for i := range counts {
		per[i] = float64(counts[i].Load() - startCounts[i])
		total += per[i]
	}
	return total / el.Seconds(), Jain(per), nil
}

// dialCounting connects a fan-out client: for tickwire with Hello and a
// subscription, for the raw server plainly.
func dialCounting(ctx context.Context, srv *Child, raw bool) (*websocket.Conn, error) {
	d := websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 1 << 10, TLSClientConfig: srv.TLS}
	c, _, err := d.DialContext(ctx, srv.URL(), nil)
	if err != nil {
		return nil, err
	}
	if raw {
		return c, nil
	}
	if err := sendFrames(c, &protocol.Hello{Version: protocol.Version, Client: "bench-fan"}, &protocol.Subscribe{Topics: []string{fanTopic}}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func sendFrames(c *websocket.Conn, frames ...protocol.Frame) error {
	var b []byte
	enc := protocol.NewEncoder()
	for _, f := range frames {
		var err error
		if b, err = enc.Append(b, f); err != nil {
			return err
		}
	}
	return c.WriteMessage(websocket.BinaryMessage, b)
}
