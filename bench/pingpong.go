package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/client"
	"tickwire/protocol"
)

// PingPongResult compares RTT through tickwire with a raw WebSocket echo for
// one payload size.
type PingPongResult struct {
	Transport string  `json:"transport"` // ws, or wss: the feed over TLS (the echo is plain)
	Payload   int     `json:"payload_bytes"`
	Iter      int     `json:"iterations"`
	OursP50   Micros  `json:"ours_p50_us"`
	OursP99   Micros  `json:"ours_p99_us"`
	EchoP50   Micros  `json:"echo_p50_us"`
	EchoP99   Micros  `json:"echo_p99_us"`
	RatioP50  float64 `json:"ratio_p50"`
	RatioP99  float64 `json:"ratio_p99"`
	// CPU time each server process spent per recorded round trip: where
	// the difference comes from, apart from the clock's view.
	OursCPU Micros `json:"ours_server_cpu_us"`
	EchoCPU Micros `json:"echo_server_cpu_us"`
	// TLS rows: the feed over TLS against the plain feed of the same run.
	VsPlainP50 float64 `json:"vs_plain_p50"`
	VsPlainCPU float64 `json:"vs_plain_cpu"`
}

// PingPong measures, for each payload size, the RTT of an event published
// by a client through tickwire's server back to itself (publish -> hub ->
// queue -> writer), and the RTT of a raw gorilla echo of the same size, in
// alternating rounds so both see the same machine.
func PingPong(ctx context.Context, feed, echo *Child, payloads []int, iters int) ([]PingPongResult, error) {
	d := client.Dialer{TLSConfig: feed.TLS}
	ours, err := d.Dial(ctx, feed.URL(), protocol.Hello{Client: "bench-pingpong"})
	if err != nil {
		return nil, err
	}
	defer ours.Close()
	const topic = "bench.seq.pingpong"
	if err := ours.Send(&protocol.Subscribe{Topics: []string{topic}}); err != nil {
		return nil, err
	}
	raw, _, err := websocket.DefaultDialer.DialContext(ctx, echo.URL(), nil)
	if err != nil {
		return nil, fmt.Errorf("dial echo: %w", err)
	}
	defer raw.Close()

	var out []PingPongResult
	for _, size := range payloads {
		data := make([]byte, size)
		var h1, h2 Hist
		// Warm-up: warmRounds rounds of benchKeep round trips each, the
		// feed's and the echo's alternating (a round of one is a silence
		// of the other's connection, and the feed cuts a client silent for
		// its idle timeout, 3 s by default), past the topic's retention:
		// the measured round trips then see the server recycling memory,
		// as it does in service. The journal trims at twice benchKeep, and
		// after a larger payload size the heap grows for a while yet: with
		// 2x benchKeep the second size of a run (500 B after 125) measured
		// 1.5-1.7x the echo where a repeat of the same size measured
		// 1.25-1.3x, and with 4x the first 1000 B after 500 still
		// 1.31-1.44x against 1.19-1.29x. The echo warms up as long: a
		// fresh process faults in its heap's pages over its first
		// thousands of round trips, and measured then it looked slower
		// than it is.
		const warmRounds = 8
		for r := 0; r < warmRounds; r++ {
			// One read deadline per round, like the echo's none per round
			// trip: a timer moved per round trip is the bench client's
			// cost, not the server's.
			_ = ours.SetReadDeadline(time.Now().Add(10*time.Second + benchKeep*time.Millisecond))
			for range benchKeep {
				if _, err := oursRTT(ours, topic, data); err != nil {
					return nil, err
				}
			}
			for range benchKeep {
				if _, err := echoRTT(raw, data); err != nil {
					return nil, err
				}
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		// Measured: one round trip of each server in turn, which goes
		// first swapped every pair, so a burst of the shared machine's
		// other work lands on both alike (in rounds of hundreds of round
		// trips it landed on one: the same build's ratio moved by 0.2
		// between runs). The CPU each server spent is its process's total
		// over the pairs.
		c0, _ := TaskCPU(feed.Pid)
		e0, _ := TaskCPU(echo.Pid)
		for i := range iters {
			if i%1000 == 0 {
				_ = ours.SetReadDeadline(time.Now().Add(10*time.Second + time.Second))
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
			for k := range 2 {
				if (i+k)%2 == 0 {
					d, err := oursRTT(ours, topic, data)
					if err != nil {
						return nil, err
					}
					h1.Record(d)
				} else {
					d, err := echoRTT(raw, data)
					if err != nil {
						return nil, err
					}
					h2.Record(d)
				}
			}
		}
		c1, _ := TaskCPU(feed.Pid)
		e1, _ := TaskCPU(echo.Pid)
		per := max(iters, 1)
		cpu1, cpu2 := c1-c0, e1-e0
		res := PingPongResult{Transport: scheme(feed), Payload: size, Iter: per,
			OursP50: US(h1.Quantile(0.5)), OursP99: US(h1.Quantile(0.99)),
			EchoP50: US(h2.Quantile(0.5)), EchoP99: US(h2.Quantile(0.99))}
		res.OursCPU, res.EchoCPU = US(cpu1/time.Duration(per)), US(cpu2/time.Duration(per))
		res.RatioP50 = float64(res.OursP50) / float64(max(res.EchoP50, 0.001))
		res.RatioP99 = float64(res.OursP99) / float64(max(res.EchoP99, 0.001))
		out = append(out, res)
	}
	return out, nil
}

// scheme is the child's WebSocket URL scheme: ws or wss.
func scheme(c *Child) string {
	if c.TLS != nil {
		return "wss"
	}
	return "ws"
}

// PingPongVsPlain sets the TLS rows' ratios to the plain rows of the same
// payload size.
func PingPongVsPlain(plain, tls []PingPongResult) {
	for i := range tls {
		for _, p := range plain {
			if p.Payload == tls[i].Payload {
				tls[i].VsPlainP50 = float64(tls[i].OursP50) / float64(max(p.OursP50, 0.001))
				tls[i].VsPlainCPU = float64(tls[i].OursCPU) / float64(max(p.OursCPU, 0.001))
			}
		}
	}
}

// echoRTT sends data to the echo server and waits for it to come back.
func echoRTT(c *websocket.Conn, data []byte) (time.Duration, error) {
	start := time.Now()
	if err := c.WriteMessage(websocket.BinaryMessage, data); err != nil {
		return 0, err
	}
	if _, _, err := c.ReadMessage(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// oursRTT publishes data to topic and waits for it to come back. The
// caller has set the connection's read deadline.
func oursRTT(c *client.Conn, topic string, data []byte) (time.Duration, error) {
	start := time.Now()
	if err := c.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: data}); err != nil {
		return 0, err
	}
	for got := false; !got; {
		if err := c.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Event); ok && e.Topic == topic {
				got = true
			}
			if e, ok := f.(*protocol.Error); ok {
				return e
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
