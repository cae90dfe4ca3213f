package tickfeed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/ticks"
)

// WSOptions configures DialPublisher.
type WSOptions struct {
	Name  string      // in the Hello; default "tickwire-replay"
	Token string      // the publisher's credential ("" for none)
	TLS   *tls.Config // for wss:// (nil: the system roots)
	// RecordedTime gives each value its tick's recorded time. Without it
	// values go without a time, and the server stamps them on arrival.
	RecordedTime bool
	// Refused counts the publishes the server refuses (Error frames it
	// answers with); the first for each topic is logged. Nil: a new one,
	// see WSPublisher.Refused.
	Refused *Refusals
	Logger  *slog.Logger // default slog.Default()
}

// dialTimeout bounds connecting and the Hello exchange.
const dialTimeout = 10 * time.Second

// WSPublisher publishes ticks to a server over its WebSocket, as a publisher
// client: the ticks of a batch go as Publish frames in one message. A reader
// goroutine answers the server's pings, counts refusals (Error frames that
// are not fatal) and ends the replay on a fatal error or a dead link.
// Publish and Sync are for one goroutine.
type WSPublisher struct {
	conn     *client.Conn
	log      *slog.Logger
	hb       time.Duration
	recorded bool
	prices   []protocol.Price
	frames   []protocol.Frame
	refused  *Refusals

	pongs   chan int64
	dead    chan struct{}
	deadErr error // set before dead is closed
	nonce   int64
}

// DialPublisher connects to the server at url (ws:// or wss://) as a
// publisher. Close it when done.
func DialPublisher(ctx context.Context, url string, opt WSOptions) (*WSPublisher, error) {
	if opt.Name == "" {
		opt.Name = "tickwire-replay"
	}
	if opt.Refused == nil {
		opt.Refused = &Refusals{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	d := client.Dialer{TLSConfig: opt.TLS}
	conn, err := d.Dial(dctx, url, protocol.Hello{Client: opt.Name, Token: opt.Token})
	if err != nil {
		return nil, err
	}
	hb := time.Duration(conn.Welcome.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = time.Second
	}
	p := &WSPublisher{
		conn: conn, log: opt.Logger, hb: hb, recorded: opt.RecordedTime, refused: opt.Refused,
		prices: make([]protocol.Price, 0, MaxBatch), frames: make([]protocol.Frame, 0, MaxBatch),
		pongs: make(chan int64, 4), dead: make(chan struct{}),
	}
	go p.read()
	return p, nil
}

// Refused returns the publishes the server refused so far.
func (p *WSPublisher) Refused() *Refusals { return p.refused }

func (p *WSPublisher) read() {
	var err error
	for err == nil {
		_ = p.conn.SetReadDeadline(time.Now().Add(3 * p.hb))
		err = p.conn.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Ping:
				return p.conn.Send(&protocol.Pong{Nonce: f.Nonce})
			case *protocol.Pong:
				select {
				case p.pongs <- f.Nonce:
				default:
				}
			case *protocol.Error:
				if f.Code.Fatal() {
					return f
				}
				if p.refused.Add(f.Topic, fmt.Sprintf("%d %s", f.Code, f.Reason)) {
					p.log.Warn("publish refused", "topic", f.Topic, "code", f.Code, "reason", f.Reason)
				}
			}
			return nil
		})
	}
	p.deadErr = fmt.Errorf("connection to server lost: %w", err)
	close(p.dead)
}

// Publish implements Publisher: the ticks go as one message.
func (p *WSPublisher) Publish(ts []ticks.Tick) error {
	select {
	case <-p.dead:
		return p.deadErr
	default:
	}
	if len(ts) > MaxBatch {
		return fmt.Errorf("tickfeed: publish of %d ticks (max %d)", len(ts), MaxBatch)
	}
	p.prices, p.frames = p.prices[:0], p.frames[:0]
	for i := range ts {
		topic, q, err := publishedValue(&ts[i])
		if err != nil {
			return err
		}
		var at int64 // 0: the server stamps the time of arrival
		if p.recorded {
			at = ts[i].Time.UnixNano()
		}
		p.prices = append(p.prices, protocol.Price{Type: protocol.TypePublish, Topic: topic, Time: at, Quote: q})
	}
	for i := range p.prices {
		p.frames = append(p.frames, &p.prices[i])
	}
	return p.conn.Send(p.frames...)
}

// Sync implements Publisher: it sends a Ping and waits for its Pong. The
// server handles a connection's frames in order, so by then every publish
// was applied or refused (and the refusal received).
func (p *WSPublisher) Sync(ctx context.Context) error {
	p.nonce++
	nonce := p.nonce
	if err := p.conn.Send(&protocol.Ping{Nonce: nonce}); err != nil {
		return err
	}
	timeout := time.NewTimer(max(5*time.Second, 3*p.hb))
	defer timeout.Stop()
	for {
		select {
		case n := <-p.pongs:
			if n == nonce {
				return nil
			}
		case <-p.dead:
			return p.deadErr
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return errors.New("server did not confirm the last publishes (no Pong in time)")
		}
	}
}

// Close closes the connection.
func (p *WSPublisher) Close() error { return p.conn.Close() }
