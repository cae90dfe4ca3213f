package cascade

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// Forwarder sends the requests a standby edge receives (an order on
// requests.orders) to the active node on behalf of their sender
// (feedserver.RequestForwarder): over a connection to the active node's
// feed that presents the sender's own credential, so the active node
// authenticates and authorizes the request as if the trader had connected
// to it, and the edge can do nothing the trader could not. The request's
// effects (order events) come back to the trader on its orders.ACCOUNT
// topic, which the edge follows from its replicated journal.
//
// One connection per credential (and active node), made on the first
// request and closed after IdleClose without one. Each request is sent with
// a Ping in the same message: the active node handles a message's frames
// in order, so its answer to the request (an Error, or nothing: accepted)
// is complete when the Pong comes.
type Forwarder struct {
	tls       *tls.Config
	idleClose time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	upstream string
	links    map[[32]byte]*link // by credential and upstream: see linkKey
	closed   bool
	stop     chan struct{}
	wg       sync.WaitGroup
}

// ForwarderConfig configures a Forwarder. Zero fields take the defaults in
// their comments.
type ForwarderConfig struct {
	// Upstream is the active node's feed (WebSocket URL or host:port); ""
	// while there is none.
	Upstream string
	// TLS configures wss:// (nil: the system roots).
	TLS *tls.Config
	// IdleClose closes a connection unused for this long. Default 1 minute.
	IdleClose time.Duration
	// Logger receives the forwarder's logs. Default slog.Default().
	Logger *slog.Logger
}

// NewForwarder returns a Forwarder; Close it when done.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	up, err := UpstreamURL(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	cfg.Upstream = up
	if cfg.IdleClose <= 0 {
		cfg.IdleClose = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Forwarder{tls: cfg.TLS, idleClose: cfg.IdleClose, log: cfg.Logger.With("component", "forwarder"),
		upstream: cfg.Upstream, links: make(map[[32]byte]*link), stop: make(chan struct{})}
	f.wg.Add(1)
	go f.janitor()
	return f, nil
}

// SetUpstream points the forwarder at another active node (a WebSocket URL
// or host:port, UpstreamURL; "" for none); connections to the old one are
// closed, failing the requests waiting on them with an error that says their
// outcome is unknown.
func (f *Forwarder) SetUpstream(addr string) error {
	rawURL, err := UpstreamURL(addr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.upstream = rawURL
	old := f.links
	f.links = make(map[[32]byte]*link)
	f.mu.Unlock()
	for _, l := range old {
		l.close()
	}
	return nil
}

// Close closes every connection; later requests are refused.
func (f *Forwarder) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	old := f.links
	f.links = nil
	close(f.stop)
	f.mu.Unlock()
	for _, l := range old {
		l.close()
	}
	f.wg.Wait()
}

// Forward implements feedserver.RequestForwarder.
func (f *Forwarder) Forward(ctx context.Context, credential, topic string, data []byte) error {
	for attempt := 0; ; attempt++ {
		l, up, err := f.link(ctx, credential)
		if err != nil {
			return err
		}
		sent, err := l.do(ctx, topic, data)
		if sent || attempt > 0 {
			switch {
			case err != nil && sent && errors.Is(err, errLinkLost):
				return fmt.Errorf("forwarded to the active node at %s, whose link dropped before it answered: the request may or may not have been taken; check before sending it again", up)
			case err != nil && sent && ctx.Err() != nil:
				return fmt.Errorf("forwarded to the active node at %s, which did not answer in time: the request may or may not have been taken; check before sending it again", up)
			}
			if err != nil && !sent {
				return fmt.Errorf("cannot forward to the active node at %s: %w", up, err)
			}
			return err
		}
		// A link that had died while idle: drop it and dial once more.
		f.drop(l)
	}
}

// errLinkLost: the link ended while a request waited for its answer.
var errLinkLost = errors.New("link to the active node lost")

// linkKey names a link: its upstream and credential, hashed so that the
// map holds no credential as a key.
func linkKey(upstream, credential string) [32]byte {
	return sha256.Sum256([]byte(upstream + "\x00" + credential))
}

// link returns the link of credential to the current upstream, dialling
// it if there is none.
func (f *Forwarder) link(ctx context.Context, credential string) (*link, string, error) {
	f.mu.Lock()
	up := f.upstream
	switch {
	case f.closed:
		f.mu.Unlock()
		return nil, up, errors.New("this node is a standby and its forwarder is closed: send requests to the active node")
	case up == "":
		f.mu.Unlock()
		return nil, up, errors.New("this node is a standby and there is no active node at the moment (failover under way): retry shortly")
	}
	key := linkKey(up, credential)
	if l := f.links[key]; l != nil {
		f.mu.Unlock()
		return l, up, nil
	}
	f.mu.Unlock()
	d := client.Dialer{TLSConfig: f.tls}
	conn, err := d.Dial(ctx, up, protocol.Hello{Client: "tickwire-edge-forwarder", Token: credential})
	if err != nil {
		var perr *protocol.Error
		if errors.As(err, &perr) {
			return nil, up, fmt.Errorf("the active node at %s refused the request's credential: %s", up, perr.Reason)
		}
		return nil, up, fmt.Errorf("cannot reach the active node at %s to forward the request: %w", up, err)
	}
	l := newLink(conn, f.log)
	f.mu.Lock()
	if f.closed || f.upstream != up {
		f.mu.Unlock()
		l.close()
		return nil, up, errors.New("the active node changed while the request was forwarded: retry")
	}
	if other := f.links[key]; other != nil {
		f.mu.Unlock()
		l.close() // a concurrent request dialled first
		return other, up, nil
	}
	f.links[key] = l
	f.mu.Unlock()
	return l, up, nil
}

// drop forgets l and closes it.
func (f *Forwarder) drop(l *link) {
	f.mu.Lock()
	for k, v := range f.links {
		if v == l {
			delete(f.links, k)
		}
	}
	f.mu.Unlock()
	l.close()
}

// janitor closes links idle for idleClose, and dead ones.
func (f *Forwarder) janitor() {
	defer f.wg.Done()
	t := time.NewTicker(max(f.idleClose/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		var idle []*link
		f.mu.Lock()
		for k, l := range f.links {
			if l.dead() || time.Since(time.Unix(0, l.used.Load())) > f.idleClose {
				delete(f.links, k)
				idle = append(idle, l)
			}
		}
		f.mu.Unlock()
		for _, l := range idle {
			l.close()
		}
	}
}

// link is one connection to the active node for one credential. Its reader
// goroutine answers the active node's pings and hands Errors and Pongs to
// the request waiting for them.
type link struct {
	conn    *client.Conn
	log     *slog.Logger
	mu      sync.Mutex          // one request at a time
	answers chan protocol.Frame // *protocol.Error, *protocol.Pong
	done    chan struct{}       // closed when the reader ends
	used    atomic.Int64        // Unix ns of the last request
	nonce   int64               // guarded by mu
}

func newLink(conn *client.Conn, log *slog.Logger) *link {
	l := &link{conn: conn, log: log, answers: make(chan protocol.Frame, 64), done: make(chan struct{})}
	l.used.Store(time.Now().UnixNano())
	go l.read()
	return l
}

func (l *link) read() {
	defer close(l.done)
	hb := time.Duration(l.conn.Welcome.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = time.Second
	}
	for {
		// The active node pings every heartbeat: silence for three means the link is dead.
		_ = l.conn.SetReadDeadline(time.Now().Add(3 * hb))
		err := l.conn.Read(func(fr protocol.Frame) error {
			switch fr := fr.(type) {
			case *protocol.Ping:
				return l.conn.Send(&protocol.Pong{Nonce: fr.Nonce})
			case *protocol.Error, *protocol.Pong:
				select {
				case l.answers <- fr:
				default: // nobody is waiting for this many: a misbehaving peer
				}
			}
			return nil
		})
		if err != nil {
			l.log.Debug("forward link ended", "err", err)
			return
		}
	}
}

func (l *link) dead() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *link) close() {
	_ = l.conn.Close()
	<-l.done
}

// do sends one request and waits for the active node's answer: its Error
// for the request's topic, if any, before the Pong that follows it. sent
// reports whether the request was written (if not, it was not taken).
func (l *link) do(ctx context.Context, topic string, data []byte) (sent bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead() {
		return false, errLinkLost
	}
	l.used.Store(time.Now().UnixNano())
	// Answers left over from an earlier request that gave up waiting.
	for len(l.answers) > 0 {
		<-l.answers
	}
	l.nonce++
	nonce := l.nonce
	if err := l.conn.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: data}, &protocol.Ping{Nonce: nonce}); err != nil {
		return false, err
	}
	var refusal error
	for {
		select {
		case fr := <-l.answers:
			switch fr := fr.(type) {
			case *protocol.Error:
				if fr.Topic == topic && refusal == nil {
					refusal = errors.New(fr.Reason) // verbatim: clients parse orderwire's refusals
				}
			case *protocol.Pong:
				if fr.Nonce == nonce {
					return true, refusal
				}
			}
		case <-l.done:
			if refusal != nil {
				return true, refusal
			}
			return true, errLinkLost
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}
