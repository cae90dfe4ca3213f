package feedserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/tlsconf"
)

// listenFor returns a loopback listener, plain or TLS with a development
// self-signed certificate, the WebSocket URL it serves and the TLS
// configuration a client trusts it with (nil when plain).
func listenFor(t *testing.T, useTLS bool) (net.Listener, string, *tls.Config) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !useTLS {
		return ln, "ws://" + ln.Addr().String() + "/ws", nil
	}
	ss, err := tlsconf.EnsureSelfSigned(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srvConf, err := tlsconf.LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cliConf, err := tlsconf.ClientConfig(ss.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return tls.NewListener(ln, srvConf), "wss://" + ln.Addr().String() + "/ws", cliConf
}

// tapConn records what is read from the connection (after TLS): the
// server's bytes exactly as the peer received them.
type tapConn struct {
	net.Conn
	in []byte
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in = append(c.in, p[:n]...)
	return n, err
}

// dialTapped opens a gorilla WebSocket whose connection records what it reads.
func dialTapped(t *testing.T, url string, tlsConf *tls.Config) (*websocket.Conn, *tapConn) {
	t.Helper()
	var tap *tapConn
	dialTCP := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tlsConf != nil {
			conf := tlsConf.Clone()
			conf.ServerName, _, _ = net.SplitHostPort(addr)
			tc := tls.Client(c, conf)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc
		}
		tap = &tapConn{Conn: c}
		return tap, nil
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: dialTCP}
	if tlsConf != nil {
		d.NetDialTLSContext = dialTCP
	}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	// This side closes first: it must not answer the server's reply
	// (gorilla's default handler would).
	ws.SetCloseHandler(func(int, string) error { return nil })
	return ws, tap
}

// wsFrame is one frame the server sent.
type wsFrame struct {
	op      byte
	payload []byte
}

// serverFrames parses the frames after the upgrade response in b: unmasked
// and final, as the server writes them.
func serverFrames(b []byte) ([]wsFrame, error) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return nil, errors.New("no upgrade response")
	}
	b = b[i+4:]
	var out []wsFrame
	for len(b) > 0 {
		if len(b) < 2 {
			return out, fmt.Errorf("truncated header after %d frames", len(out))
		}
		op, n, h := b[0]&0x0F, uint64(b[1]&0x7F), 2
		if b[0]&0x80 == 0 || b[1]&0x80 != 0 {
			return out, fmt.Errorf("frame %d: not final or masked: %#x %#x", len(out), b[0], b[1])
		}
		switch n {
		case 126:
			if len(b) < 4 {
				return out, errors.New("truncated length")
			}
			n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return out, errors.New("truncated length")
			}
			n, h = binary.BigEndian.Uint64(b[2:]), 10
		}
		if uint64(len(b)-h) < n {
			return out, fmt.Errorf("frame %d truncated: %d of %d bytes", len(out), len(b)-h, n)
		}
		out = append(out, wsFrame{op: op, payload: b[h : h+int(n)]})
		b = b[h+int(n):]
	}
	return out, nil
}

// TestCloseHandshake: a client that sends a WebSocket Close gets the
// server's Close back promptly, echoing its status code (RFC 6455 §5.5.1),
// as the last frame on the connection, and then the end of the connection:
// idle, with no status code, while a catch-up batch is being written, and
// while the server is shutting down (whose own Close, 1001, may cross the
// client's: then that is the one, still last). Plain and TLS.
func TestCloseHandshake(t *testing.T) {
	const topic = "alerts.close"
	cases := []struct {
		name     string
		code     int  // sent by the client; CloseNoStatusReceived: an empty Close
		busy     bool // a catch-up is being written when the Close comes
		shutdown bool // the server shuts down as the Close comes
	}{
		{name: "idle", code: 4000},
		{name: "no status", code: websocket.CloseNoStatusReceived},
		{name: "mid-batch", code: websocket.CloseNormalClosure, busy: true},
		{name: "mid-shutdown", code: 4001, busy: true, shutdown: true},
	}
	for _, useTLS := range []bool{false, true} {
		for _, tc := range cases {
			name := tc.name + "/plain"
			if useTLS {
				name = tc.name + "/tls"
			}
			t.Run(name, func(t *testing.T) {
				ln, url, cliConf := listenFor(t, useTLS)
				srv, stop := serveOn(t, Config{}, ln)
				if tc.busy {
					data := bytes.Repeat([]byte("x"), 16<<10)
					for range 64 { // 1 MiB of history: several write batches
						if _, _, err := srv.Hub().PublishEvents(topic, EventIn{Data: data}); err != nil {
							t.Fatal(err)
						}
					}
				}
				ws, tap := dialTapped(t, url, cliConf)
				enc := protocol.NewEncoder()
				msg, _ := enc.Append(nil, &protocol.Hello{Version: protocol.Version, Client: t.Name()})
				msg, _ = enc.Append(msg, &protocol.Subscribe{Topics: []string{topic}})
				if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					t.Fatal(err)
				}
				_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
				if !tc.busy {
					if _, _, err := ws.ReadMessage(); err != nil { // the Welcome
						t.Fatal(err)
					}
				}
				var payload []byte
				if tc.code != websocket.CloseNoStatusReceived {
					payload = websocket.FormatCloseMessage(tc.code, "bye")
				}
				start := time.Now()
				if err := ws.WriteControl(websocket.CloseMessage, payload, time.Now().Add(time.Second)); err != nil {
					t.Fatal(err)
				}
				if tc.shutdown {
					stop()
				}
				var err error
				for err == nil {
					_, _, err = ws.ReadMessage()
				}
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("read: %v, want the server's Close", err)
				}
				want := []int{tc.code}
				if tc.shutdown {
					want = append(want, websocket.CloseGoingAway)
				}
				if !slices.Contains(want, ce.Code) {
					t.Fatalf("server's Close %d (%q), want one of %v", ce.Code, ce.Text, want)
				}
				// Then the server ends the connection: EOF, nothing after.
				_ = tap.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.Copy(io.Discard, tap); err != nil {
					t.Fatalf("after the Close: %v, want EOF", err)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Fatalf("close handshake took %s", took)
				}
				frames, err := serverFrames(tap.in)
				if err != nil {
					t.Fatal(err)
				}
				for i, f := range frames {
					if f.op == 0x8 && i != len(frames)-1 {
						t.Fatalf("frame %d of %d is a Close (%x): frames follow it", i+1, len(frames), f.payload)
					}
				}
				last := frames[len(frames)-1]
				if last.op != 0x8 {
					t.Fatalf("last frame: opcode %#x, want Close", last.op)
				}
				if tc.code == websocket.CloseNoStatusReceived && len(last.payload) != 0 {
					t.Fatalf("Close without a status answered with %x, want an empty Close", last.payload)
				}
			})
		}
	}
}

// TestClientCloseIsPrompt: the Go client's Close returns at once and the
// server lets go of the connection promptly, plain and TLS.
func TestClientCloseIsPrompt(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", useTLS), func(t *testing.T) {
			ln, url, cliConf := listenFor(t, useTLS)
			srv, _ := serveOn(t, Config{}, ln)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d := client.Dialer{TLSConfig: cliConf}
			c, err := d.Dial(ctx, url, protocol.Hello{Client: t.Name()})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the connection", func() bool { return srv.Stats().Connections == 1 })
			start := time.Now()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("Close took %s", took)
			}
			waitFor(t, time.Second, "the server to release the connection", func() bool { return srv.Stats().Connections == 0 })
		})
	}
}
