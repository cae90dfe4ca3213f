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

// fanTarget is what a fan-out run publishes and counts.
type fanTarget struct {
	topic string
	raw   bool // the raw server: events forwarded as they are
	// merge: trades (Prices) to a conflated merge topic; a client's
	// progress is the latest Seq it saw, as values conflate in its queue.
	merge bool
}

// fanCounts is what a fan-out run measured.
type fanCounts struct {
	delivered, published float64 // per second
	jain                 float64
}

func fanoutRun(ctx context.Context, srv *Child, n, frame int, d time.Duration, raw bool) (rate, jain float64, err error) {
	r, err := fanRun(ctx, srv, n, frame, d, fanTarget{topic: fanTopic, raw: raw})
	return r.delivered, r.jain, err
}

// fanRun publishes to t as fast as the slowest of n clients keeps up (at
// most ahead events or values beyond it) for d after a warm-up, and counts
// what the clients decode.
func fanRun(ctx context.Context, srv *Child, n, frame int, d time.Duration, t fanTarget) (fanCounts, error) {
	var res fanCounts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counts := make([]atomic.Uint64, n)
	seen := make([]atomic.Uint64, n) // latest Seq (merge); counts otherwise
	var wg sync.WaitGroup
	errc := make(chan error, n+2)
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	// Each client reads from the moment it is connected: one that waited
	// for the others to dial would not answer the server's pings, and a
	// loaded machine dialing a thousand takes longer than its idle timeout.
	for i := range n {
		c, err := dialCounting(ctx, srv, t.raw, t.topic)
		if err != nil {
			return res, err
		}
		conns = append(conns, c)
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
					case *protocol.Price:
						if f.Flags&protocol.FlagBehaviourOff != 0 {
							errc <- fmt.Errorf("%s: the topic's behaviour was disabled during the run (the server's log says why)", f.Topic)
							return
						}
						k++
						seen[i].Store(f.Seq)
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
	if t.raw {
		pubURL = "ws://" + srv.Addr + "/pub"
	}
	pd := websocket.Dialer{TLSClientConfig: srv.TLS}
	pub, _, err := pd.DialContext(ctx, pubURL, nil)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	// The publisher's socket has two writers: the publishes and the pongs
	// (the publisher waits on slow clients longer than the idle timeout on
	// a loaded machine, sending nothing else).
	var pubMu sync.Mutex
	pubSend := func(b []byte) error {
		pubMu.Lock()
		defer pubMu.Unlock()
		return pub.WriteMessage(websocket.BinaryMessage, b)
	}
	if !t.raw {
		if err := sendFrames(pub, &protocol.Hello{Version: protocol.Version, Client: "bench-pub"}); err != nil {
			return res, err
		}
		go answerPings(pub, pubSend, errc)
	}
	data := make([]byte, max(frame-30, 1))
	enc := protocol.NewEncoder()
	var batch []byte
	var published uint64
	const ahead = 1024
	progress := counts
	if t.merge {
		progress = seen
	}
	minProgress := func() uint64 {
		m := progress[0].Load()
		for i := range progress {
			m = min(m, progress[i].Load())
		}
		return m
	}
	var start time.Time
	var startCounts []uint64
	var startPublished uint64
	warm := 500 * time.Millisecond
	t0 := time.Now()
	for {
		now := time.Now()
		if start.IsZero() && now.Sub(t0) >= warm {
			start, startPublished = now, published
			for i := range counts {
				startCounts = append(startCounts, counts[i].Load())
			}
		}
		if !start.IsZero() && now.Sub(start) >= d {
			break
		}
		select {
		case err := <-errc:
			return res, err
		default:
		}
		if published-minProgress() > ahead {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		batch = batch[:0]
		for range 64 {
			published++
			var f protocol.Frame
			switch {
			case t.merge:
				f = &protocol.Price{Type: protocol.TypePublish, Topic: t.topic, Quote: *benchTrade(published)}
			case t.raw:
				// The raw server forwards bytes as they are.
				f = &protocol.Event{Type: protocol.TypeEvent, Topic: t.topic, Seq: published, Data: data}
			default:
				f = &protocol.Event{Type: protocol.TypePublishEvent, Topic: t.topic, Seq: published, Data: data}
			}
			batch, _ = enc.Append(batch, f)
		}
		if err := pubSend(batch); err != nil {
			return res, err
		}
	}
	el := time.Since(start)
	per := make([]float64, n)
	var total float64
	for i := range counts {
		per[i] = float64(counts[i].Load() - startCounts[i])
		total += per[i]
	}
	res.delivered, res.published, res.jain = total/el.Seconds(), float64(published-startPublished)/el.Seconds(), Jain(per)
	return res, nil
}

// answerPings reads c until it closes, answering the server's pings
// through send, and reporting a server's Error on errc.
func answerPings(c *websocket.Conn, send func([]byte) error, errc chan<- error) {
	_ = readFrames(c, false, func(f protocol.Frame, _ time.Time) error {
		switch f := f.(type) {
		case *protocol.Ping:
			b, _ := protocol.NewEncoder().Append(nil, &protocol.Pong{Nonce: f.Nonce})
			_ = send(b)
		case *protocol.Error:
			select {
			case errc <- fmt.Errorf("publisher: %w", f):
			default:
			}
		}
		return nil
	})
}

// dialCounting connects a fan-out client: for tickwire with Hello and a
// subscription, for the raw server plainly.
func dialCounting(ctx context.Context, srv *Child, raw bool, topic string) (*websocket.Conn, error) {
	d := websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 1 << 10, TLSClientConfig: srv.TLS}
	c, _, err := d.DialContext(ctx, srv.URL(), nil)
	if err != nil {
		return nil, err
	}
	if raw {
		return c, nil
	}
	if err := sendFrames(c, &protocol.Hello{Version: protocol.Version, Client: "bench-fan"}, &protocol.Subscribe{Topics: []string{topic}}); err != nil {
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
