// Package client is tickwire's Go client: Conn speaks the protocol over one
// WebSocket; Client keeps a session alive across reconnects and delivers
// rebuilt prices and connection-state events. The TUI, tests and tools use it.
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// Conn is one protocol connection: Dial has exchanged Hello and Welcome.
// Send may be called from any goroutine; Read from one goroutine at a time.
type Conn struct {
	ws      *websocket.Conn
	Welcome protocol.Welcome

	wmu sync.Mutex
	enc *protocol.Encoder
	buf []byte
	dec *protocol.Decoder
}

// Dial connects to a tickwire server's WebSocket URL (ws://host:port/ws),
// sends hello and waits for the Welcome. A server refusal comes back as a
// *protocol.Error.
func Dial(ctx context.Context, url string, hello protocol.Hello) (*Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 16 << 10, WriteBufferSize: 4 << 10}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if resp != nil && resp.Body != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		_ = resp.Body.Close()
	}
	c := &Conn{ws: ws, enc: protocol.NewEncoder(), dec: protocol.NewDecoder()}
	if hello.Version == 0 {
		hello.Version = protocol.Version
	}
	if err := c.Send(&hello); err != nil {
		_ = ws.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	} else {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	var welcome *protocol.Welcome
	err = c.Read(func(f protocol.Frame) error {
		switch f := f.(type) {
		case *protocol.Welcome:
			welcome = f
		case *protocol.Error:
			return f
		}
		return nil
	})
	if err == nil && welcome == nil {
		err = errors.New("first message from server had no Welcome")
	}
	if err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("handshake with %s: %w", url, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	c.Welcome = *welcome
	return c, nil
}

// Send writes frames as one WebSocket message.
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
	return c.SendRaw(c.buf)
}

// SendRaw writes msg as one binary WebSocket message, as is. Tests use it to
// send malformed input.
func (c *Conn) SendRaw(msg []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// Read reads the next WebSocket message and calls fn for each frame in it, in
// order. An error from fn stops the walk and is returned.
func (c *Conn) Read(fn func(protocol.Frame) error) error {
	_, msg, err := c.ws.ReadMessage()
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
func (c *Conn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// Close closes the connection politely.
func (c *Conn) Close() error {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	return c.ws.Close()
}
