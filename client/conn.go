// Package client is tickwire's Go client: Conn speaks the protocol over one
// connection (a WebSocket, or HTTP streaming where a WebSocket cannot be
// opened); Client keeps a session alive across reconnects, resumes it, and
// delivers rebuilt prices, sequenced events exactly once, and connection-state
// events. The TUI, tests and tools use it.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// Transport names, as in StateEvent.Transport and Options.Transport.
const (
	TransportWebSocket = "websocket"
	TransportHTTP      = "http"
)

// transport is one connection's message pipe.
type transport interface {
	WriteMessage(msg []byte) error
	ReadMessage() ([]byte, error)
	SetReadDeadline(t time.Time) error
	Close() error // polite
	Abort()       // unblocks a pending ReadMessage, now
	Kind() string
	TLS() *tls.ConnectionState // nil when not encrypted
}

// Conn is one protocol connection: Dial has exchanged Hello and Welcome.
// Send may be called from any goroutine; Read from one goroutine at a time.
type Conn struct {
	t       transport
	Welcome protocol.Welcome
	// HandshakeRTT is how long the Welcome took to come after the Hello was
	// sent: with Welcome.ServerTime, the client's first estimate of the
	// server's clock.
	HandshakeRTT time.Duration

	wmu sync.Mutex
	enc *protocol.Encoder
	buf []byte
	dec *protocol.Decoder

	early []protocol.Frame // frames that came with the Welcome; Read delivers them first
}

// maxMessage bounds one message from the server, on either transport,
// before it is read: a server writes at most its MaxOutboundMessage (64 KiB
// by default) plus one frame per message, so 4 MiB is room to spare, and a
// hostile or broken server cannot make the client allocate what a length
// header declares.
const maxMessage = 4 << 20

// Time a server may take, so that one that stops answering cannot hold a
// client: to connect (TCP, TLS and the upgrade, or the stream's response
// header), to answer the Hello (unless the caller's context ends sooner),
// and to take one message.
const (
	dialTimeout    = 5 * time.Second
	welcomeTimeout = 10 * time.Second
	writeTimeout   = 5 * time.Second
)

// Dialer opens Conns. The zero value dials with the system's TLS roots.
type Dialer struct {
	// TLSConfig is used for wss:// and https:// URLs (nil: the defaults,
	// trusting the system roots). Build it with tlsconf.ClientConfig to
	// trust a private CA or a development certificate.
	TLSConfig *tls.Config
}

// Dial connects to a tickwire server with the zero Dialer: see Dialer.Dial.
func Dial(ctx context.Context, url string, hello protocol.Hello, extra ...protocol.Frame) (*Conn, error) {
	var d Dialer
	return d.Dial(ctx, url, hello, extra...)
}

// Dial connects to a tickwire server, sends hello (and the frames in extra,
// in the same message: the Go client subscribes with its positions there, so
// a resumed session is positioned before anything is delivered) and waits
// for the Welcome. The URL's scheme chooses the transport: ws:// and wss://
// a WebSocket (ws://host:port/ws), http:// and https:// HTTP streaming
// (http://host:port/stream); wss:// and https:// over TLS (d.TLSConfig). A
// server refusal comes back as a *protocol.Error; a refused WebSocket upgrade
// wraps ErrUpgradeRefused; a certificate the client does not trust, the
// x509 error (errors.As x509.UnknownAuthorityError, x509.HostnameError...).
func (d *Dialer) Dial(ctx context.Context, url string, hello protocol.Hello, extra ...protocol.Frame) (*Conn, error) {
	var t transport
	var err error
	switch {
	case strings.HasPrefix(url, "ws://"), strings.HasPrefix(url, "wss://"):
		t, err = dialWS(ctx, url, d.TLSConfig)
	case strings.HasPrefix(url, "http://"), strings.HasPrefix(url, "https://"):
		t, err = dialHTTP(ctx, url, d.TLSConfig)
	default:
		err = fmt.Errorf("dial %s: scheme must be ws, wss, http or https", url)
	}
	if err != nil {
		return nil, err
	}
	c := &Conn{t: t, enc: protocol.NewEncoder(), dec: protocol.NewDecoder()}
	if hello.Version == 0 {
		hello.Version = protocol.Version
	}
	sent := time.Now()
	if err := c.Send(append([]protocol.Frame{&hello}, extra...)...); err != nil {
		t.Abort()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = t.SetReadDeadline(dl)
	} else {
		_ = t.SetReadDeadline(time.Now().Add(welcomeTimeout))
	}
	var welcome *protocol.Welcome
	err = c.Read(func(f protocol.Frame) error {
		switch f := f.(type) {
		case *protocol.Welcome:
			if welcome == nil {
				welcome = f
				c.HandshakeRTT = time.Since(sent)
				return nil
			}
		case *protocol.Error:
			if welcome == nil || f.Code.Fatal() {
				return f
			}
		}
		if welcome != nil {
			c.early = append(c.early, f)
		}
		return nil
	})
	if err == nil && welcome == nil {
		err = errors.New("first message from server had no Welcome")
	}
	if err != nil {
		t.Abort()
		return nil, fmt.Errorf("handshake with %s: %w", url, err)
	}
	_ = t.SetReadDeadline(time.Time{})
	c.Welcome = *welcome
	return c, nil
}

// Transport returns "websocket" or "http".
func (c *Conn) Transport() string { return c.t.Kind() }

// TLS returns the connection's TLS state, or nil when it is not encrypted.
func (c *Conn) TLS() *tls.ConnectionState { return c.t.TLS() }

// Send writes frames as one message.
func (c *Conn) Send(frames ...protocol.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.buf = c.buf[:0]
	for _, f := range frames {
		var err error
		if c.buf, err = c.enc.Append(c.buf, f); err != nil {
			return err
		}
	}
	return c.t.WriteMessage(c.buf)
}

// SendRaw writes msg as one message, as is. Tests use it to send malformed
// input.
func (c *Conn) SendRaw(msg []byte) error {
	return c.t.WriteMessage(msg)
}

// Read reads the next message and calls fn for each frame in it, in order.
// Frames that arrived with the Welcome come first. An error from fn stops the
// walk and is returned.
func (c *Conn) Read(fn func(protocol.Frame) error) error {
	if len(c.early) > 0 {
		early := c.early
		c.early = nil
		for _, f := range early {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	}
	msg, err := c.t.ReadMessage()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	c.dec.Reset(msg)
	for c.dec.More() {
		f, err := c.dec.Next()
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// SetReadDeadline bounds the next Read.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.t.SetReadDeadline(t) }

// Close closes the connection politely.
func (c *Conn) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.t.Close()
}

// abort ends the connection now, unblocking Read.
func (c *Conn) abort() { c.t.Abort() }

// wsTransport is a WebSocket.
type wsTransport struct{ ws *websocket.Conn }

func dialWS(ctx context.Context, url string, tlsConf *tls.Config) (*wsTransport, error) {
	d := websocket.Dialer{HandshakeTimeout: dialTimeout, ReadBufferSize: 16 << 10, WriteBufferSize: 4 << 10, TLSClientConfig: tlsConf}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			// The body says why, e.g. a ws:// URL for a TLS server: "Client
			// sent an HTTP request to an HTTPS server."
			var why []byte
			if resp.Body != nil {
				why, _ = io.ReadAll(io.LimitReader(resp.Body, 256))
				_ = resp.Body.Close()
			}
			if why = bytes.TrimSpace(why); len(why) > 0 {
				return nil, fmt.Errorf("dial %s: %w: HTTP %s: %s", url, ErrUpgradeRefused, resp.Status, why)
			}
			return nil, fmt.Errorf("dial %s: %w: HTTP %s", url, ErrUpgradeRefused, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if resp != nil && resp.Body != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		_ = resp.Body.Close()
	}
	ws.SetReadLimit(maxMessage)
	return &wsTransport{ws: ws}, nil
}

func (t *wsTransport) WriteMessage(msg []byte) error {
	_ = t.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := t.ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func (t *wsTransport) ReadMessage() ([]byte, error) {
	_, msg, err := t.ws.ReadMessage()
	return msg, err
}

func (t *wsTransport) SetReadDeadline(d time.Time) error { return t.ws.SetReadDeadline(d) }

func (t *wsTransport) Close() error {
	_ = t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return t.ws.Close()
}

func (t *wsTransport) Abort()       { _ = t.ws.Close() }
func (t *wsTransport) Kind() string { return TransportWebSocket }

func (t *wsTransport) TLS() *tls.ConnectionState {
	if tc, ok := t.ws.NetConn().(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}
