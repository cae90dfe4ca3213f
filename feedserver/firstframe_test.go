package feedserver

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/auth"
	"tickwire/protocol"
)

// TestFirstFrameDecodedOnlyAsHello: before a client has a principal, the
// server decodes nothing but a Hello. A first frame of another type is
// refused by its type (2001) with its body unread, so even a body that is
// not msgpack gets 2001 and a close, not the 1000 of a decoded frame; the
// frames after a refused Hello are not decoded either. A Hello followed by
// other frames in the same message is served.
func TestFirstFrameDecodedOnlyAsHello(t *testing.T) {
	r := newAuthRig(t, Config{}, auth.Config{})
	cases := []struct {
		name string
		msg  []byte
		code protocol.ErrorCode
		want string // in the reason
	}{
		{"PublishEvent, body not msgpack", []byte{0x92, 0x0d, 0xc1}, protocol.CodeHelloRequired, "got PublishEvent"},
		{"PublishEvent of 4 GiB", []byte{0x96, 0x0d, 0xa1, 0x74, 0xa0, 0x00, 0x00, 0xc6, 0xff, 0xff, 0xff, 0xff}, protocol.CodeHelloRequired, "got PublishEvent"},
		{"Subscribe past the message", []byte{0x92, 0x03, 0xdc, 0x04, 0x00}, protocol.CodeHelloRequired, "got Subscribe"},
		{"refused Hello, then garbage", append(encodeFrames(t, &protocol.Hello{Version: protocol.Version, Token: "nope"}), 0x92, 0x0d, 0xc1),
			protocol.CodeUnauthorized, ""},
	}
	for _, c := range cases {
		ws := rawWS(t, r.url)
		if err := ws.WriteMessage(websocket.BinaryMessage, c.msg); err != nil {
			t.Fatal(err)
		}
		errs, end := readWSErrors(ws, 10*time.Second)
		if len(errs) != 1 || errs[0].Code != c.code || !strings.Contains(errs[0].Reason, c.want) {
			t.Errorf("%s: got %v, want only Error %d %q", c.name, errs, c.code, c.want)
		}
		if closeCode(end) < 0 {
			t.Errorf("%s: connection ended with %v, want a close", c.name, end)
		}
	}
	// A Hello with frames after it in one message: they are decoded once
	// the Hello has made a principal.
	tok := r.token(t, auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}, Accounts: []string{"A"}})
	ws := rawWS(t, r.url)
	msg := encodeFrames(t, &protocol.Hello{Version: protocol.Version, Token: tok}, &protocol.Ping{Nonce: 7})
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	dec := protocol.NewDecoder()
	for pong := false; !pong; {
		_, m, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("Hello and Ping in one message: %v before the Pong", err)
		}
		dec.Reset(m)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := f.(*protocol.Pong); ok && p.Nonce == 7 {
				pong = true
			}
		}
	}
}
