package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/protocol"
)

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
