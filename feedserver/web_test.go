package feedserver

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/auth"
	"tickwire/protocol"
)

// Tests of the browser boundaries (web.go): what a page in a browser
// beside the server can and cannot make it do. Real sockets on 127.0.0.1,
// with the headers a browser sends.

// upgrade opens a WebSocket to url with header and, if it opens, says Hello
// and waits for the Welcome. It returns the HTTP status of the upgrade (101
// when it opened) and whether a Welcome came.
func upgrade(t *testing.T, url string, header http.Header) (status int, welcomed bool) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode, false
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version})); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	dec := protocol.NewDecoder()
	dec.Reset(msg)
	f, err := dec.Next()
	return resp.StatusCode, err == nil && f.FrameType() == protocol.TypeWelcome
}

// request sends method path to the server at base with the Host and headers
// given (key, value pairs) and body, and returns the status.
func request(t *testing.T, method, base, path, host, body string, kv ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCrossOriginUpgrade: a page of another origin cannot open a WebSocket
// (403), a page of the server's own origin can, a client sending no Origin
// (not a browser) can, and so can an origin the operator allowed.
func TestCrossOriginUpgrade(t *testing.T) {
	_, url := startServer(t, Config{AllowedOrigins: []string{"https://dash.example.com"}})
	host := wsURLHost(url)
	for _, c := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://localhost:" + strings.Split(host, ":")[1], http.StatusForbidden}, // another origin, though the same machine
		{"https://dash.example.com.evil.example", http.StatusForbidden},
		{"http://" + host, http.StatusSwitchingProtocols},
		{"https://dash.example.com", http.StatusSwitchingProtocols},
		{"", http.StatusSwitchingProtocols},
	} {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		status, welcomed := upgrade(t, url, h)
		if status != c.want || welcomed != (c.want == http.StatusSwitchingProtocols) {
			t.Errorf("Origin %q: status %d, welcomed %v; want %d", c.origin, status, welcomed, c.want)
		}
	}
}

// TestPostNeedsJSON: a POST whose body is not declared JSON (the
// text/plain a page may send cross-site without asking) is refused 415
// and takes no effect; JSON works; a JSON POST from another origin is
// refused too.
func TestPostNeedsJSON(t *testing.T) {
	srv, url := startServer(t, Config{})
	base := baseURL(url)
	body := `{"fields":{"bid":2}}`
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		if code := request(t, "POST", base, "/publish/EURUSD", "", body, "Content-Type", ct); code != http.StatusUnsupportedMediaType {
			t.Errorf("publish as %q: %d, want 415", ct, code)
		}
		if code := request(t, "POST", base, "/sources/pause/EURUSD", "", "", "Content-Type", ct); code != http.StatusUnsupportedMediaType {
			t.Errorf("pause as %q: %d, want 415", ct, code)
		}
		if code := request(t, "POST", base, "/stream/0123", "", "", "Content-Type", ct); code != http.StatusUnsupportedMediaType {
			t.Errorf("stream post as %q: %d, want 415", ct, code)
		}
	}
	if _, ok := srv.Hub().Latest("EURUSD"); ok {
		t.Fatal("a refused publish took effect")
	}
	if code := request(t, "POST", base, "/publish/EURUSD", "", body, "Content-Type", "application/json", "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("JSON publish from another origin: %d, want 403", code)
	}
	if code := request(t, "POST", base, "/publish/EURUSD", "", body, "Content-Type", "application/json; charset=utf-8", "Origin", base); code != http.StatusNoContent {
		t.Fatalf("same-origin JSON publish: %d, want 204", code)
	}
	if p, ok := srv.Hub().Latest("EURUSD"); !ok || p.Quote.V[protocol.Bid] != 2 {
		t.Fatalf("the JSON publish did not take: %+v %v", p, ok)
	}
	if code := request(t, "POST", base, "/sources/pause/EURUSD", "", "", "Content-Type", "application/json"); code != http.StatusNoContent {
		t.Fatalf("JSON pause: %d, want 204", code)
	}
}

// TestHostInOpenMode: without authentication the server answers only to
// IP addresses, localhost and the names it is given, so a DNS-rebinding
// page (same-origin under its own name) is refused; with authentication
// the Host is not its concern.
func TestHostInOpenMode(t *testing.T) {
	_, url := startServer(t, Config{AllowedHosts: []string{"feed.internal"}})
	base := baseURL(url)
	port := strings.Split(wsURLHost(url), ":")[1]
	for host, want := range map[string]int{
		"rebind.example:" + port:     http.StatusForbidden,
		"rebind.example":             http.StatusForbidden,
		"localhost.evil.example":     http.StatusForbidden,
		"127.0.0.1:" + port:          http.StatusOK,
		"localhost:" + port:          http.StatusOK,
		"LocalHost.:" + port:         http.StatusOK,
		"[::1]:" + port:              http.StatusOK,
		"10.1.2.3":                   http.StatusOK,
		"feed.internal:" + port:      http.StatusOK,
		"FEED.internal":              http.StatusOK,
		"feed.internal.evil:" + port: http.StatusForbidden,
	} {
		if code := request(t, "GET", base, "/topics", host, ""); code != want {
			t.Errorf("Host %q: %d, want %d", host, code, want)
		}
	}
	// A rebinding page's WebSocket: same-origin, under the attacker's name.
	rebound := http.Header{"Origin": {"http://rebind.example:" + port}, "Host": {"rebind.example:" + port}}
	if status, _ := upgrade(t, url, rebound); status != http.StatusForbidden {
		t.Errorf("a rebinding page's WebSocket: %d, want 403", status)
	}

	pub, _, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	_, aurl := startServer(t, Config{Authenticator: v})
	if code := request(t, "GET", baseURL(aurl), "/healthz", "feed.example.com", ""); code != http.StatusOK {
		t.Errorf("with authentication, Host feed.example.com: %d, want 200", code)
	}
}
