package feedserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/protocol"
)

// authRig is a server with authentication on: a key pair, an API key for a
// publisher, and the server's logs in a buffer.
type authRig struct {
	srv    *Server
	url    string
	base   string // http://host:port
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey
	apiKey string // publisher, topics EUR*
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newAuthRig(t *testing.T, cfg Config, vcfg auth.Config) *authRig {
	t.Helper()
	r := &authRig{logs: &syncBuffer{}}
	var err error
	if r.pub, r.priv, err = auth.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	if r.apiKey, err = auth.NewAPIKey(); err != nil {
		t.Fatal(err)
	}
	vcfg.PublicKeys = append(vcfg.PublicKeys, r.pub)
	vcfg.APIKeys = append(vcfg.APIKeys, auth.APIKey{Name: "feed", SHA256: auth.HashAPIKey(r.apiKey), Roles: []string{auth.RolePublisher}, Topics: []string{"EUR*"}})
	v, err := auth.NewVerifier(vcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Authenticator = v
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 10 * time.Second // raw conns here answer no pings: no idle close mid-test
	}
	cfg.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r.srv, r.url = startServer(t, cfg)
	r.base = "http://" + strings.TrimSuffix(strings.TrimPrefix(r.url, "ws://"), "/ws")
	return r
}

func (r *authRig) token(t *testing.T, o auth.MintOptions) string {
	t.Helper()
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	s, err := auth.Mint(r.priv, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dialAs connects with credential; it fails the test if refused.
func (r *authRig) dialAs(t *testing.T, credential string, extra ...protocol.Frame) *client.Conn {
	t.Helper()
	c, err := r.tryDial(credential, "", extra...)
	if err != nil {
		t.Fatalf("dial with %.20q: %v", credential, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (r *authRig) tryDial(credential, resume string, extra ...protocol.Frame) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Dial(ctx, r.url, protocol.Hello{Client: "auth-test", Token: credential, ResumeToken: resume}, extra...)
}

// refusal returns the server's Error of a refused handshake.
func refusal(t *testing.T, err error) *protocol.Error {
	t.Helper()
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		t.Fatalf("handshake error %v: want a server Error frame", err)
	}
	return perr
}

// TestHelloRefusals: every kind of bad credential is refused at the Hello
// with 2009 and a reason saying what is wrong with it, over WebSocket and
// HTTP streaming; good tokens and API keys get a Welcome.
func TestHelloRefusals(t *testing.T) {
	r := newAuthRig(t, Config{}, auth.Config{})
	otherPub, otherPriv, _ := auth.GenerateKey()
	_ = otherPub
	good := r.token(t, auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}})
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	// Another base64url character: still well formed, another signature.
	// (Flipping a bit could leave the alphabet: '@' for 'A'.)
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	claims := auth.Claims{Roles: []string{auth.RoleAdmin}, RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.Issuer, Subject: "mallory",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
	forge := func(m jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = auth.KeyID(r.pub)
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	wrongKey, _ := auth.NewAPIKey()
	cases := []struct {
		name, cred, reason string
	}{
		{"no credential", "", "unauthorized: " + auth.ErrMissing.Error()},
		{"garbage", "garbage", "unauthorized: malformed token"},
		{"bad signature", parts[0] + "." + parts[1] + "." + string(sig), "unauthorized: bad token signature"},
		{"other key", func() string {
			s, _ := auth.Mint(otherPriv, auth.MintOptions{Subject: "ann", TTL: time.Hour})
			return s
		}(), "unauthorized: token signed by an unknown key"},
		{"expired", r.token(t, auth.MintOptions{Subject: "ann", Now: time.Now().Add(-3 * time.Hour), TTL: time.Hour}), "unauthorized: token expired"},
		{"alg none", forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), "unauthorized: bad token signature"},
		{"HS256 with the public key", forge(jwt.SigningMethodHS256, []byte(r.pub)), "unauthorized: bad token signature"},
		{"wrong API key", wrongKey, "unauthorized: unknown API key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.tryDial(c.cred, "")
			perr := refusal(t, err)
			if perr.Code != protocol.CodeUnauthorized || perr.Reason != c.reason {
				t.Fatalf("refusal %d %q, want 2009 %q", perr.Code, perr.Reason, c.reason)
			}
		})
	}
	// The same Hello over HTTP streaming.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, client.StreamURL(r.url), protocol.Hello{Client: "http-test"})
	if perr := refusal(t, err); perr.Code != protocol.CodeUnauthorized {
		t.Fatalf("HTTP streaming without a credential: %v", perr)
	}
	hc, err := client.Dial(ctx, client.StreamURL(r.url), protocol.Hello{Client: "http-test", Token: good})
	if err != nil {
		t.Fatalf("HTTP streaming with a good token: %v", err)
	}
	_ = hc.Close()

	// Good credentials.
	r.dialAs(t, good)
	r.dialAs(t, r.apiKey)
	waitFor(t, 10*time.Second, "both principals listed", func() bool {
		subjects := map[string]bool{}
		for _, c := range r.srv.Conns() {
			subjects[c.Subject] = true
		}
		return subjects["ann"] && subjects["apikey:feed"]
	})
	// Every refusal is logged with its reason.
	logs := r.logs.String()
	for _, want := range []string{"reason=\"token expired\" detail=", "subject=ann", "reason=\"unknown API key\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "authentication is disabled") {
		t.Error("open-mode warning logged with an authenticator")
	}
}

// errorsUntilPong sends frames then a Ping, and returns the Error frames
// received before the Pong, and the topics that delivered data meanwhile
// (the Pong's own message included).
func errorsUntilPong(t *testing.T, c *client.Conn, frames ...protocol.Frame) ([]*protocol.Error, map[string]bool) {
	t.Helper()
	nonce := time.Now().UnixNano()
	if err := c.Send(append(frames, &protocol.Ping{Nonce: nonce})...); err != nil {
		t.Fatal(err)
	}
	var errs []*protocol.Error
	data := map[string]bool{}
	collect(t, c, 10*time.Second, func(f protocol.Frame) bool {
		switch f := f.(type) {
		case *protocol.Error:
			errs = append(errs, f)
		case *protocol.Pong:
			return f.Nonce == nonce
		}
		return false
	}, data)
	return errs, data
}

// collect reads messages, calling fn on every frame and noting the topics
// of data frames in data, until fn has returned true (the rest of that
// message is still read) or d passes.
func collect(t *testing.T, c *client.Conn, d time.Duration, fn func(protocol.Frame) bool, data map[string]bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	for done := false; !done; {
		if err := c.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Price:
				data[f.Topic] = true
			case *protocol.Event:
				data[f.Topic] = true
			}
			if fn(f) {
				done = true
			}
			return nil
		}); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

// TestEntitlements: a trader sees its account's orders and the market data
// its patterns allow; everything else is refused with 1007 and the same
// reason whether the topic exists or not; publishing needs the role and
// never reaches orders.*.
func TestEntitlements(t *testing.T) {
	r := newAuthRig(t, Config{}, auth.Config{})
	h := r.srv.Hub()
	for _, topic := range []string{"EURUSD", "GBPUSD"} {
		publishPrice(t, h, topic, 1.2)
	}
	for _, topic := range []string{"orders.A", "orders.B"} {
		if _, _, err := h.PublishEvent(topic, []byte{1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ann := r.dialAs(t, r.token(t, auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}, Accounts: []string{"A"}, Topics: []string{"EUR*"}}))
	errs, data := errorsUntilPong(t, ann, &protocol.Subscribe{Topics: []string{"orders.A", "EURUSD", "orders.B", "orders.NOPE", "GBPUSD", "requests.orders"}})
	refused := map[string]string{}
	for _, e := range errs {
		if e.Code != protocol.CodeNotEntitled {
			t.Fatalf("error %v, want only 1007", e)
		}
		refused[e.Topic] = e.Reason
	}
	for _, topic := range []string{"orders.B", "orders.NOPE", "GBPUSD", "requests.orders"} {
		if refused[topic] != "not entitled" {
			t.Errorf("%s: reason %q, want \"not entitled\" (refused: %v)", topic, refused[topic], refused)
		}
	}
	if len(refused) != 4 {
		t.Errorf("refused %v, want exactly 4 topics", refused)
	}
	// The entitled topics deliver; the refused ones never do.
	for _, topic := range []string{"EURUSD", "GBPUSD"} {
		publishPrice(t, h, topic, 1.3)
	}
	for _, topic := range []string{"orders.A", "orders.B"} {
		if _, _, err := h.PublishEvent(topic, []byte{2}, 0); err != nil {
			t.Fatal(err)
		}
	}
	collect(t, ann, 10*time.Second, func(protocol.Frame) bool { return data["orders.A"] && data["EURUSD"] }, data)
	if _, data2 := errorsUntilPong(t, ann); data2["orders.B"] || data2["GBPUSD"] {
		t.Fatalf("data of refused topics arrived: %v", data2)
	}
	if data["orders.B"] || data["GBPUSD"] {
		t.Fatalf("data of refused topics arrived: %v", data)
	}

	// Publishing: the trader has no publisher role.
	quote := func(topic string) *protocol.Price {
		p := &protocol.Price{Type: protocol.TypePublish, Topic: topic}
		p.Quote.Put(protocol.Bid, 9.9)
		return p
	}
	event := func(topic string) *protocol.Event {
		return &protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Data: []byte{7}}
	}
	errs, _ = errorsUntilPong(t, ann, quote("EURUSD"), event("orders.A"))
	if len(errs) != 2 || errs[0].Code != protocol.CodeNotEntitled || errs[0].Topic != "EURUSD" || errs[1].Code != protocol.CodeNotEntitled || errs[1].Topic != "orders.A" {
		t.Fatalf("trader publishing: %v, want 1007 for EURUSD and orders.A", errs)
	}
	// The publisher's API key: EUR* only, never orders.*.
	feed := r.dialAs(t, r.apiKey)
	errs, _ = errorsUntilPong(t, feed, quote("EURUSD"), quote("GBPUSD"), event("orders.A"), event("orders.NEW"))
	got := map[string]protocol.ErrorCode{}
	for _, e := range errs {
		got[e.Topic] = e.Code
	}
	if len(got) != 3 || got["GBPUSD"] != protocol.CodeNotEntitled || got["orders.A"] != protocol.CodeNotEntitled || got["orders.NEW"] != protocol.CodeNotEntitled {
		t.Fatalf("publisher: errors %v, want 1007 for GBPUSD, orders.A, orders.NEW", errs)
	}
	if p, ok := h.Latest("EURUSD"); !ok || p.Quote.V[protocol.Bid] != 9.9 {
		t.Fatalf("the publisher's EURUSD value did not land: %+v", p)
	}
	if p, _ := h.Latest("GBPUSD"); p.Quote.V[protocol.Bid] == 9.9 {
		t.Fatal("a refused publish landed")
	}
	for _, ti := range h.Topics() {
		if ti.Name == "orders.NEW" || (ti.Name == "orders.A" && ti.Seq != 2) {
			t.Fatalf("a refused event landed: %+v", ti)
		}
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "msg=\"not entitled\"") || !strings.Contains(logs, "subject=ann action=subscribe topic=orders.B") {
		t.Errorf("refusals not logged with subject, action and topic:\n%s", logs)
	}
}

// TestTokenExpiresMidSession: the server ends a session when its token
// expires (2010); the client then reports the refusal and waits its
// longest backoff before each new try.
func TestTokenExpiresMidSession(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 4s token to expire: slow; make test runs it")
	}
	r := newAuthRig(t, Config{}, auth.Config{Leeway: -1})
	tok := r.token(t, auth.MintOptions{Subject: "ann", TTL: 4 * time.Second})
	c := r.dialAs(t, tok)
	var fatal *protocol.Error
	readUntil(t, c, 20*time.Second, func(f protocol.Frame) bool {
		fatal, _ = f.(*protocol.Error)
		return fatal != nil && fatal.Code.Fatal()
	})
	if fatal.Code != protocol.CodeTokenExpired || fatal.Reason != "token expired" {
		t.Fatalf("got %v, want 2010 token expired", fatal)
	}
	// The reconnecting client: refused with the same token, it says so and
	// backs off to MaxBackoff.
	col := runClient(t, client.Options{URLs: []string{r.url}, Token: tok, MinBackoff: 5 * time.Millisecond, MaxBackoff: 3 * time.Second})
	ev := col.next(20*time.Second, "auth refusal", func(ev client.Event) bool {
		se, ok := ev.(client.StateEvent)
		return ok && se.State == client.Reconnecting
	}).(client.StateEvent)
	if ev.AuthRefused != "unauthorized: token expired" {
		t.Fatalf("state %+v: want AuthRefused \"unauthorized: token expired\"", ev)
	}
	if wait := time.Until(ev.NextRetry); wait < 2*time.Second {
		t.Fatalf("next retry in %v: want MaxBackoff (3s), not the minimum", wait)
	}
}

// TestResumeEntitlements: a session is resumed by its own subject only, and
// a resume re-checks its subscriptions against the new credential.
func TestResumeEntitlements(t *testing.T) {
	r := newAuthRig(t, Config{}, auth.Config{})
	h := r.srv.Hub()
	annTok := r.token(t, auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}, Accounts: []string{"A"}})
	ann := r.dialAs(t, annTok, &protocol.Subscribe{Topics: []string{"orders.A", "EURUSD"}})
	waitFor(t, 10*time.Second, "ann subscribed", subscribed(r.srv, 2))

	// Bob has ann's resume token: refused, and ann keeps her session.
	bob, err := r.tryDial(r.token(t, auth.MintOptions{Subject: "bob", Roles: []string{auth.RoleDesk}}), ann.Welcome.ResumeToken)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if bob.Welcome.Resumed || bob.Welcome.SessionID == ann.Welcome.SessionID {
		t.Fatalf("bob resumed ann's session: %+v", bob.Welcome)
	}
	errs, _ := errorsUntilPong(t, bob)
	if len(errs) != 1 || errs[0].Code != protocol.CodeBadResume || !strings.Contains(errs[0].Reason, "another subject") {
		t.Fatalf("bob's resume: %v, want 1005 naming another subject", errs)
	}
	// Ann still gets her events on her connection.
	if _, _, err := h.PublishEvent("orders.A", []byte{1}, 0); err != nil {
		t.Fatal(err)
	}
	readUntil(t, ann, 10*time.Second, func(f protocol.Frame) bool {
		e, ok := f.(*protocol.Event)
		return ok && e.Topic == "orders.A"
	})
	if !strings.Contains(r.logs.String(), "subject=bob action=resume") {
		t.Errorf("bob's resume attempt not logged:\n%s", r.logs.String())
	}

	// Ann resumes with a narrower token (no account): her session comes
	// back without orders.A (1007), with EURUSD.
	_ = ann.Close()
	waitFor(t, 10*time.Second, "ann's session lingering", func() bool { return len(r.srv.Conns()) == 1 })
	narrow := r.token(t, auth.MintOptions{Subject: "ann", Topics: []string{"EUR*"}})
	again, err := r.tryDial(narrow, ann.Welcome.ResumeToken)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.Welcome.Resumed {
		t.Fatal("ann's own resume refused")
	}
	publishPrice(t, h, "EURUSD", 1.3)
	errs, data := errorsUntilPong(t, again)
	if len(errs) != 1 || errs[0].Code != protocol.CodeNotEntitled || errs[0].Topic != "orders.A" {
		t.Fatalf("narrowed resume: %v, want 1007 for orders.A", errs)
	}
	if _, _, err := h.PublishEvent("orders.A", []byte{2}, 0); err != nil {
		t.Fatal(err)
	}
	publishPrice(t, h, "EURUSD", 1.4)
	collect(t, again, 10*time.Second, func(f protocol.Frame) bool {
		if e, ok := f.(*protocol.Event); ok {
			t.Fatalf("event of %s after the resume narrowed it away", e.Topic)
		}
		return data["EURUSD"]
	}, data)
}

// TestRESTAuth: Bearer credentials on REST; 401 without or with a bad one;
// lists filtered; not entitled answered like not found; roles for publish
// and operator endpoints; ops endpoints open.
func TestRESTAuth(t *testing.T) {
	r := newAuthRig(t, Config{}, auth.Config{})
	h := r.srv.Hub()
	publishPrice(t, h, "EURUSD", 1.2)
	publishPrice(t, h, "GBPUSD", 1.5)
	for _, topic := range []string{"orders.A", "orders.B"} {
		_, _, _ = h.PublishEvent(topic, []byte{1}, 0)
	}
	trader := r.token(t, auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}, Accounts: []string{"A"}, Topics: []string{"EUR*"}})
	admin := r.token(t, auth.MintOptions{Subject: "root", Roles: []string{auth.RoleAdmin}})
	do := func(method, path, cred, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/topics", "/topics/EURUSD", "/clients", "/stats", "/behaviours"} {
		for _, cred := range []string{"", "garbage", r.token(t, auth.MintOptions{Subject: "x", Now: time.Now().Add(-2 * time.Hour), TTL: time.Hour})} {
			if code, body := do("GET", path, cred, ""); code != http.StatusUnauthorized || !strings.HasPrefix(body, "unauthorized: ") {
				t.Errorf("GET %s with %.10q: %d %q, want 401", path, cred, code, body)
			}
		}
	}
	if code, body := do("POST", "/publish/EURUSD", "", `{"fields":{"bid":2}}`); code != http.StatusUnauthorized {
		t.Errorf("POST /publish without a credential: %d %q", code, body)
	}
	code, body := do("GET", "/topics", trader, "")
	if code != http.StatusOK || !strings.Contains(body, `"EURUSD"`) || !strings.Contains(body, `"orders.A"`) ||
		strings.Contains(body, "GBPUSD") || strings.Contains(body, "orders.B") {
		t.Errorf("trader's /topics: %d %s", code, body)
	}
	codeB, bodyB := do("GET", "/topics/orders.B", trader, "")
	codeNope, bodyNope := do("GET", "/topics/orders.NOPE", trader, "")
	if codeB != http.StatusNotFound || codeNope != http.StatusNotFound || bodyB != strings.ReplaceAll(bodyNope, "orders.NOPE", "orders.B") {
		t.Errorf("not entitled %d %q vs no such topic %d %q: want the same 404", codeB, bodyB, codeNope, bodyNope)
	}
	if code, _ := do("GET", "/topics/EURUSD", trader, ""); code != http.StatusOK {
		t.Errorf("trader's own topic: %d", code)
	}
	if code, _ := do("POST", "/publish/EURUSD", trader, `{"fields":{"bid":2}}`); code != http.StatusForbidden {
		t.Errorf("publish without the publisher role: %d, want 403", code)
	}
	if code, body := do("POST", "/publish/EURUSD", r.apiKey, `{"fields":{"bid":2}}`); code != http.StatusNoContent {
		t.Errorf("publisher's publish: %d %q", code, body)
	}
	if code, _ := do("POST", "/publish/orders.A", r.apiKey, `{"event":{"x":1}}`); code != http.StatusForbidden {
		t.Errorf("publish into orders.*: %d, want 403", code)
	}
	for _, path := range []string{"/sources/pause/EURUSD", "/sources/resume/EURUSD", "/behaviours/reload"} {
		if code, _ := do("POST", path, trader, ""); code != http.StatusForbidden {
			t.Errorf("POST %s by a trader: %d, want 403", path, code)
		}
	}
	if code, _ := do("GET", "/clients", trader, ""); code != http.StatusForbidden {
		t.Errorf("GET /clients by a trader: %d, want 403", code)
	}
	if code, _ := do("POST", "/sources/pause/EURUSD", admin, ""); code != http.StatusNoContent {
		t.Errorf("admin pause: %d", code)
	}
	if code, _ := do("GET", "/clients", admin, ""); code != http.StatusOK {
		t.Errorf("admin /clients: %d", code)
	}
	if code, body := do("POST", "/behaviours/reload", admin, ""); code != http.StatusNotFound || !strings.Contains(body, "none configured") {
		t.Errorf("admin reload without behaviours: %d %q, want 404", code, body)
	}
	if code, _ := do("POST", "/publish/orders.A", admin, `{"event":{"x":1}}`); code != http.StatusOK {
		t.Errorf("admin publish into orders.A: %d", code)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := do("GET", path, "", ""); code != http.StatusOK {
			t.Errorf("GET %s without a credential: %d, want 200 (probes stay open)", path, code)
		}
	}
	// The counters name topics and FIX counterparties: a scraper needs the
	// metrics role (or admin), and no scrape names an account.
	scraper := r.token(t, auth.MintOptions{Subject: "prometheus", Roles: []string{auth.RoleMetrics}})
	for _, c := range []struct {
		cred string
		want int
	}{{"", http.StatusUnauthorized}, {trader, http.StatusForbidden}, {scraper, http.StatusOK}, {admin, http.StatusOK}} {
		for _, path := range []string{"/metrics", "/stats"} {
			code, body := do("GET", path, c.cred, "")
			if code != c.want {
				t.Errorf("GET %s as %.12q: %d, want %d", path, c.cred, code, c.want)
			}
			if path == "/metrics" && code == http.StatusOK && (!strings.Contains(body, `topic="EURUSD"`) || strings.Contains(body, "orders.A")) {
				t.Errorf("/metrics should label EURUSD and never name an order topic:\n%s", body)
			}
		}
	}
}

// TestOpenModeWarns: without an authenticator the server says so, once,
// and everyone may do everything (as before authentication existed).
func TestOpenModeWarns(t *testing.T) {
	logs := &syncBuffer{}
	srv, url := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := dial(t, url)
	errs, _ := errorsUntilPong(t, c, &protocol.Subscribe{Topics: []string{"orders.ANY"}}, &protocol.Price{Type: protocol.TypePublish, Topic: "X"})
	if len(errs) != 0 {
		t.Fatalf("open mode refused: %v", errs)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	if n := strings.Count(logs.String(), "authentication is disabled"); n != 1 {
		t.Fatalf("open-mode warning logged %d times, want 1:\n%s", n, logs.String())
	}
	if cs := srv.Conns(); len(cs) != 1 || cs[0].Subject != "anonymous" {
		t.Fatalf("clients %+v: want one anonymous", cs)
	}
}
