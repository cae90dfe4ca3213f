package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/orderwire"
	"tickwire/protocol"
)

// TestOrderRequestEntitlements: order requests reach the real order path
// (feedserver request topic -> orderRequests -> FIX gateway) only when the
// principal may make them: trader role and its own account for new,
// cancel, replace; desk role for desk actions.
func TestOrderRequestEntitlements(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	pub, priv, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := newOrderRequests(log)
	srv := feedserver.New(feedserver.Config{Name: "auth-orders", Logger: log, Requests: reqs.handlers(), Authenticator: v,
		Heartbeat: 10 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.1002)
	if err := srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	settings, err := fix.ParseSettings(strings.NewReader("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\nResetOnLogon=N\nHeartBtInt=30\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TWAUTH\nTargetCompID=CLAUTH\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := fix.New(fix.Config{Settings: settings, DataDir: filepath.Join(t.TempDir(), "fix"), Logger: log,
		Prices: fix.SnapshotPrices(srv.Hub().SnapshotAge), Events: hubOrderEvents{srv.Hub()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	reqs.setGateway(gw)
	t.Cleanup(func() {
		cancel()
		if err := gw.Stop(); err != nil {
			t.Errorf("gateway stop: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	mint := func(sub string, roles []string, accounts ...string) string {
		s, err := auth.Mint(priv, auth.MintOptions{Subject: sub, Roles: roles, Accounts: accounts, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dialAs := func(tok string, topics ...string) *client.Conn {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		c, err := client.Dial(dctx, url, protocol.Hello{Client: "auth-orders", Token: tok}, &protocol.Subscribe{Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	newOrder := func(id, account string) *orderwire.Request {
		return &orderwire.Request{Action: orderwire.ActionNew, ClOrdID: id, Account: account, Symbol: "EURUSD", Side: orderwire.SideBuy,
			OrdType: orderwire.OrdTypeMarket, OrderQty: decimal.NewNullDecimal(decimal.NewFromInt(1000))}
	}
	deskAccept := &orderwire.Request{Action: orderwire.ActionDeskAccept, OrderID: "NOSUCHORDER"}
	// send publishes a request and returns the request topic's Error frame
	// (nil: accepted) and whether an order event of topic arrived.
	send := func(c *client.Conn, r *orderwire.Request, eventTopic string) (*protocol.Error, bool) {
		t.Helper()
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		nonce := time.Now().UnixNano()
		if err := c.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: data}, &protocol.Ping{Nonce: nonce}); err != nil {
			t.Fatal(err)
		}
		var refusal *protocol.Error
		gotEvent, ponged := false, false
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		for !ponged || (refusal == nil && eventTopic != "" && !gotEvent) {
			if err := c.Read(func(f protocol.Frame) error {
				switch f := f.(type) {
				case *protocol.Error:
					if f.Topic == orderwire.RequestTopic {
						refusal = f
					}
				case *protocol.Pong:
					ponged = ponged || f.Nonce == nonce
				case *protocol.Event:
					gotEvent = gotEvent || (f.Topic == eventTopic && strings.Contains(string(f.Data), r.ClOrdID))
				}
				return nil
			}); err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		return refusal, gotEvent
	}

	ann := dialAs(mint("ann", []string{auth.RoleTrader}, "A"), "orders.A")
	// Her own account: accepted, and the gateway's report comes back.
	if refusal, got := send(ann, newOrder("ann-1", "A"), "orders.A"); refusal != nil || !got {
		t.Fatalf("ann's order for A: refusal %v, report %v", refusal, got)
	}
	// Another account: refused before the gateway, in orderwire's format.
	refusal, _ := send(ann, newOrder("ann-2", "B"), "")
	if refusal == nil || refusal.Code != protocol.CodeBadPublish || !strings.Contains(refusal.Reason, `not entitled to trade account "B"`) {
		t.Fatalf("ann's order for B: %v", refusal)
	}
	if rf, ok := orderwire.ParseRefusal(refusal.Reason); !ok || rf.ID != "ann-2" {
		t.Fatalf("refusal %q does not parse as orderwire's: %+v", refusal.Reason, rf)
	}
	// A desk action without the desk role.
	refusal, _ = send(ann, deskAccept, "")
	if refusal == nil || !strings.Contains(refusal.Reason, "desk actions need role desk") {
		t.Fatalf("ann's desk action: %v", refusal)
	}
	// With the desk role the same action passes authorization and reaches
	// the gateway, which answers for the unknown order itself.
	dan := dialAs(mint("dan", []string{auth.RoleDesk}))
	refusal, _ = send(dan, deskAccept, "")
	if refusal == nil || strings.Contains(refusal.Reason, "not entitled") {
		t.Fatalf("dan's desk action: %v, want the gateway's own refusal", refusal)
	}
	// A desk role alone does not enter orders.
	refusal, _ = send(dan, newOrder("dan-1", "A"), "")
	if refusal == nil || !strings.Contains(refusal.Reason, "order entry needs role trader") {
		t.Fatalf("dan's new order: %v", refusal)
	}
	// Only ann's own order reached the book.
	orders, err := gw.OrdersAt(context.Background(), func(*order.OrderState) bool { return true }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 || orders[0].ClOrdID != "ann-1" || orders[0].Account != "A" {
		t.Fatalf("book %+v: want only ann-1 on A", orders)
	}
}

// TestTokenCommandProcess: `tickwire token keygen` and `mint` as processes,
// then a `tickwire server --auth-pubkey` process that accepts the minted
// token, refuses no token and another key's, and enforces the token's
// account over REST; plus the commands' errors for bad input.
func TestTokenCommandProcess(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	keys := filepath.Join(dir, "keys")
	if out, errs, code := run("token", "keygen", "--dir", keys); code != 0 || !strings.Contains(out, "auth.pub") {
		t.Fatalf("keygen: %d %q %q", code, out, errs)
	}
	if st, err := os.Stat(filepath.Join(keys, "auth.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("auth.key: %v %v", st, err)
	}
	if _, errs, code := run("token", "keygen", "--dir", keys); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("second keygen: %d %q, want a refusal to overwrite", code, errs)
	}
	other := filepath.Join(dir, "other")
	if _, errs, code := run("token", "keygen", "--dir", other); code != 0 {
		t.Fatalf("keygen other: %q", errs)
	}
	key, pubFile := filepath.Join(keys, "auth.key"), filepath.Join(keys, "auth.pub")
	out, errs, code := run("token", "mint", "--key", key, "--sub", "ann", "--roles", "trader", "--accounts", "A", "--topics", "EUR*", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("mint: %d %q", code, errs)
	}
	tok := strings.TrimSpace(out)
	otherTok, _, _ := run("token", "mint", "--key", filepath.Join(other, "auth.key"), "--sub", "ann", "--roles", "trader", "--accounts", "A")
	otherTok = strings.TrimSpace(otherTok)
	// Bad input: clear errors, exit 2 for usage.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"token", "mint", "--key", key}, 2, "--sub is required"},
		{[]string{"token", "mint", "--key", key, "--sub", "x", "--roles", "root"}, 2, `unknown role "root"`},
		{[]string{"token", "mint", "--key", key, "--sub", "x", "--ttl", "-1s"}, 2, "--ttl"},
		{[]string{"token", "mint", "--key", pubFile, "--sub", "x"}, 1, "private key"},
		{[]string{"token", "mint", "--key", filepath.Join(dir, "nope"), "--sub", "x"}, 1, "no such file"},
		{[]string{"token", "frobnicate"}, 2, "unknown token command"},
		{[]string{"token", "inspect", "--pub", pubFile, otherTok}, 1, "refuses it: token signed by an unknown key"},
	} {
		if _, errs, code := run(c.args...); code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	out, errs, code = run("token", "inspect", "--pub", pubFile, tok)
	var inspected struct {
		Verified bool
		Claims   auth.Claims
	}
	if err := json.Unmarshal([]byte(out), &inspected); code != 0 || err != nil || !inspected.Verified || inspected.Claims.Subject != "ann" || inspected.Claims.Accounts[0] != "A" {
		t.Fatalf("inspect: %d %q %q %v", code, out, errs, err)
	}
	// An API key and its entry.
	out, _, code = run("token", "apikey", "--name", "feed", "--roles", "publisher")
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 5 || !strings.HasPrefix(lines[1], auth.APIKeyPrefix) || !strings.Contains(out, auth.HashAPIKey(lines[1])) {
		t.Fatalf("apikey: %d %q", code, out)
	}
	keysFile := filepath.Join(dir, "keys.yaml")
	entry := out[strings.Index(out, "  - name:"):]
	if err := os.WriteFile(keysFile, []byte("keys:\n"+entry), 0o600); err != nil {
		t.Fatal(err)
	}

	// The server.
	addr := loopbackAddr(t)
	srv := startServerProcess(t, bin, "--listen", addr, "--auth-pubkey", pubFile, "--api-keys", keysFile, "--heartbeat", "10s", "--log-level", "warn")
	serverLog := func() string { // the server's stderr, once it is stopped
		_ = srv.cmd.Process.Kill()
		<-srv.done
		return srv.stderr.String()
	}
	url := "ws://" + addr + "/ws"
	dial := func(tok string) (*client.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.Dial(ctx, url, protocol.Hello{Client: "token-test", Token: tok})
	}
	c, err := dial(tok)
	if err != nil {
		t.Fatalf("minted token refused: %v\n%s", err, serverLog())
	}
	_ = c.Close()
	for _, bad := range []string{"", otherTok} {
		_, err := dial(bad)
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != protocol.CodeUnauthorized {
			t.Errorf("credential %.12q: %v, want 2009", bad, err)
		}
	}
	// The API key publishes over REST; ann may read EURUSD but not GBPUSD.
	apiKey := lines[1]
	post := func(path, cred, body string) int {
		req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cred)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path, cred string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, sym := range []string{"EURUSD", "GBPUSD"} {
		if code := post("/publish/"+sym, apiKey, `{"fields":{"bid":1.1}}`); code != http.StatusNoContent {
			t.Fatalf("publish %s with the API key: %d", sym, code)
		}
	}
	if code := get("/topics/EURUSD", tok); code != http.StatusOK {
		t.Errorf("ann GET /topics/EURUSD: %d", code)
	}
	if code := get("/topics/GBPUSD", tok); code != http.StatusNotFound {
		t.Errorf("ann GET /topics/GBPUSD: %d, want 404", code)
	}
	if code := post("/publish/EURUSD", tok, `{"fields":{"bid":1.2}}`); code != http.StatusForbidden {
		t.Errorf("ann publishing: %d, want 403", code)
	}
	if code := get("/topics", "twk_wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong API key: %d, want 401", code)
	}
}

// TestServerAudienceAndMaxTTL: `tickwire server --auth-audience prod
// --auth-max-ttl 2h` accepts a token minted with `token mint --audience
// prod` within 2h, and refuses, with the reason, one for another
// deployment, one with no audience, and one meant to live longer.
func TestServerAudienceAndMaxTTL(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := runToken(context.Background(), []string{"keygen", "--dir", dir}, &out, &errb); err != nil {
		t.Fatalf("keygen: %v %s", err, errb.String())
	}
	mint := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := runToken(context.Background(), append([]string{"mint", "--key", filepath.Join(dir, "auth.key"), "--sub", "ann"}, args...), &out, &errb); err != nil {
			t.Fatalf("mint %v: %v %s", args, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	addr := loopbackAddr(t)
	inProcessServer(t, "--listen", addr, "--auth-pubkey", filepath.Join(dir, "auth.pub"), "--auth-audience", "prod", "--auth-max-ttl", "2h", "--log-level", "error")
	dial := func(tok string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, "ws://"+addr+"/ws", protocol.Hello{Client: "aud-test", Token: tok})
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	if err := dial(mint("--audience", "uat,prod", "--ttl", "2h")); err != nil {
		t.Fatalf("token for prod, 2h: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--audience", "uat", "--ttl", "1h"}, "unauthorized: token not meant for this server (audience)"},
		{[]string{"--ttl", "1h"}, "unauthorized: token not meant for this server (audience)"},
		{[]string{"--audience", "prod", "--ttl", "2h1s"}, "unauthorized: token lifetime over this server's maximum (2h0m0s)"},
	} {
		err := dial(mint(c.args...))
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != protocol.CodeUnauthorized || perr.Reason != c.want {
			t.Errorf("token %v: %v, want 2009 %q", c.args, err, c.want)
		}
	}
	// --auth-audience without a public key checks nothing: refused at start.
	if err := runServer(context.Background(), []string{"--listen", "127.0.0.1:0", "--auth-audience", "prod"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--auth-pubkey") {
		t.Errorf("--auth-audience alone: %v, want a usage error naming --auth-pubkey", err)
	}
}
