package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/tlsconf"
)

// inProcessServer runs `tickwire server args...` in this process until the
// test ends, and returns its stdout once it listens.
func inProcessServer(t *testing.T, args ...string) *rrBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &rrBuffer{}, &rrBuffer{}
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, args, out, errb) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v\n%s", err, errb.String())
		}
	})
	for end := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("server stopped: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("server not listening after 30s:\n%s\n%s", out.String(), errb.String())
		}
	}
	return out
}

// httpsClient trusts the certificate in caFile.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	cfg, err := tlsconf.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// publishPrice POSTs a bid for topic to the server's REST API.
func publishPrice(t *testing.T, hc *http.Client, base, topic string, bid float64) {
	t.Helper()
	resp, err := hc.Post(base+"/publish/"+topic, "application/json", strings.NewReader(fmt.Sprintf(`{"fields": {"bid": %v, "ask": %v}}`, bid, bid+0.0002)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("publish over https: %s %s", resp.Status, body)
	}
}

// waitPrice runs a client with opts until it receives topic at bid, and
// returns the Connected event it got.
func waitPrice(t *testing.T, opts client.Options, topic string, bid float64, publish func()) client.StateEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := client.New(opts)
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var state client.StateEvent
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("no %s %v over %v (last state %+v)", topic, bid, opts.URLs, state)
		case ev := <-cl.Events():
			switch ev := ev.(type) {
			case client.StateEvent:
				if ev.State == client.Connected {
					state = ev
					publish()
				}
			case client.PriceEvent:
				if b, ok := ev.Quote.Get(protocol.Bid); ok && ev.Topic == topic && b == bid {
					return state
				}
			}
		}
	}
}

// TestServerTLS: `tickwire server --tls-self-signed DIR` serves wss:// and
// https:// only. Clients trusting DIR/cert.pem stream over a WebSocket and
// over the HTTP streaming fallback, REST and /metrics answer over https;
// plain ws:// and http:// are refused, a client not trusting the certificate
// gets the x509 error, and a TCP peer that never completes a handshake is
// dropped.
func TestServerTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5s TLS handshake timeout: slow; make test runs it")
	}
	dir := filepath.Join(t.TempDir(), "tls")
	addr := loopbackAddr(t)
	out := inProcessServer(t, "--listen", addr, "--tls-self-signed", dir, "--log-level", "warn")
	ca := filepath.Join(dir, "cert.pem")
	if !strings.Contains(out.String(), "listening on wss://"+addr+"/ws") || !strings.Contains(out.String(), "--ca "+ca) {
		t.Fatalf("startup lines:\n%s", out.String())
	}

	// A peer that connects and says nothing: the handshake timeout (the
	// HTTP server's ReadHeaderTimeout, 5s) drops it.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	hc := httpsClient(t, ca)
	base := "https://" + addr
	trust, _ := tlsconf.ClientConfig(ca)
	wsURL := "wss://" + addr + "/ws"

	bid := 1.1
	st := waitPrice(t, client.Options{URLs: []string{wsURL}, Topics: []string{"EURUSD"}, TLS: trust, Transport: client.TransportWebSocket},
		"EURUSD", bid, func() { publishPrice(t, hc, base, "EURUSD", bid) })
	if st.Transport != client.TransportWebSocket || !strings.HasPrefix(st.TLS, "TLS 1.") {
		t.Errorf("WebSocket connection: %+v", st)
	}
	bid = 1.2
	st = waitPrice(t, client.Options{URLs: []string{wsURL}, Topics: []string{"EURUSD"}, TLS: trust, Transport: client.TransportHTTP},
		"EURUSD", bid, func() { publishPrice(t, hc, base, "EURUSD", bid) })
	if st.Transport != client.TransportHTTP || !strings.HasPrefix(st.TLS, "TLS 1.") {
		t.Errorf("HTTP streaming connection: %+v", st)
	}

	// REST and metrics over https.
	resp, err := hc.Get(base + "/topics/EURUSD")
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	err = json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	if err != nil || !strings.Contains(fmt.Sprint(snap), "1.2") {
		t.Errorf("GET /topics/EURUSD over https: %v %v", snap, err)
	}
	resp, err = hc.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(metrics, []byte("tickwire_")) {
		t.Errorf("GET /metrics over https: %s", resp.Status)
	}

	// Plain HTTP on the TLS listener: 400, saying why.
	plainHC := &http.Client{Timeout: 30 * time.Second}
	resp, err = plainHC.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS server") {
		t.Errorf("plain http://: %s %q", resp.Status, body)
	}
	// A plain WebSocket: refused, and the error says why.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := client.Dial(ctx, "ws://"+addr+"/ws", protocol.Hello{Client: "plain"}); err == nil {
		c.Close()
		t.Error("plain ws:// connected to a TLS server")
	} else if !errors.Is(err, client.ErrUpgradeRefused) || !strings.Contains(err.Error(), "HTTPS server") {
		t.Errorf("plain ws://: %v", err)
	}
	// A client that does not trust the certificate: the x509 error.
	_, err = client.Dial(ctx, wsURL, protocol.Hello{Client: "untrusting"})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("untrusting client: %v, want an x509.UnknownAuthorityError", err)
	}
	untrusted := &client.Dialer{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if _, err := untrusted.Dial(ctx, "https://"+addr+"/stream", protocol.Hello{Client: "untrusting"}); !errors.As(err, &unknown) {
		t.Errorf("untrusting HTTP streaming client: %v, want an x509.UnknownAuthorityError", err)
	}

	_ = silent.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(silent); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Error("a peer that never handshakes is still connected after 30s")
		}
	}
}

// TestServerTLSFlagErrors: conflicting flags exit 2; certificate files that
// cannot be used exit 1 with an error naming the file.
func TestServerTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	a, err := tlsconf.EnsureSelfSigned(filepath.Join(dir, "a"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := tlsconf.EnsureSelfSigned(filepath.Join(dir, "b"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--tls-cert", a.CertFile}, 2, []string{"--tls-cert and --tls-key go together"}},
		{[]string{"--tls-self-signed", dir, "--tls-cert", a.CertFile, "--tls-key", a.KeyFile}, 2, []string{"choose one"}},
		{[]string{"--tls-cert", missing, "--tls-key", a.KeyFile}, 1, []string{missing, "no such file"}},
		{[]string{"--tls-cert", a.CertFile, "--tls-key", b.KeyFile}, 1, []string{b.KeyFile, "does not match", a.CertFile}},
		{[]string{"--tls-cert", a.KeyFile, "--tls-key", a.CertFile}, 1, []string{a.KeyFile, "no PEM CERTIFICATE"}},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"server", "--listen", "127.0.0.1:0", "--log-level", "error"}, tc.args...), &out, &errb)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errb.String(), w)
			}
		}
		if strings.Contains(out.String(), "listening") {
			t.Errorf("%v: listened anyway", tc.args)
		}
	}
	// A client's --ca that is not a certificate file: exit 1, naming it.
	for _, args := range [][]string{
		{"replay", "--server", "wss://127.0.0.1:1/ws", "--ca", missing, "embedded"},
		{"record", "--server", "wss://127.0.0.1:1/ws", "--ca", missing, "--out", filepath.Join(dir, "x.csv")},
		{"trader", "--server", "wss://127.0.0.1:1/ws", "--ca", missing},
		{"fixclient", "--addr", "127.0.0.1:1", "--ca", missing, "--store", filepath.Join(dir, "fc")},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--ca") || !strings.Contains(errb.String(), missing) {
			t.Errorf("%s --ca missing: exit %d: %s", args[0], code, errb.String())
		}
	}
}

// TestFIXOverTLSWithServerCertificate: `tickwire server --tls-self-signed
// DIR --fix-config` with SocketUseSSL=Y and no files of its own: the gateway
// uses the server's certificate; `tickwire fixclient --ca DIR/cert.pem`
// logs on and trades, and without --ca it never logs on.
func TestFIXOverTLSWithServerCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 4s logon timeout: slow; make test runs it")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fix.cfg")
	if err := os.WriteFile(cfg, []byte(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=0
SocketUseSSL=Y
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
[SESSION]
BeginString=FIX.4.4
SenderCompID=TWTLS
TargetCompID=CLTLS
TickwireAccounts=*
TickwireOpenLogon=Y
`), 0o644); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "tls")
	out := inProcessServer(t, "--listen", "127.0.0.1:0", "--tls-self-signed", certs, "--fix-config", cfg, "--insecure-open", "--log-level", "warn")
	m := regexp.MustCompile(`FIX gateway listening on (127\.0\.0\.1:\d+) \(TLS\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no FIX TLS line:\n%s", out.String())
	}
	fixAddr := m[1]
	// Publish a price for the venue to fill against.
	wsAddr := regexp.MustCompile(`wss://([^/]+)/ws`).FindStringSubmatch(out.String())[1]
	publishPrice(t, httpsClient(t, filepath.Join(certs, "cert.pem")), "https://"+wsAddr, "EURUSD", 1.1)

	var fout, ferr bytes.Buffer
	args := []string{"--addr", fixAddr, "--sender", "CLTLS", "--target", "TWTLS", "--store", filepath.Join(dir, "plain"),
		"--orders", "3", "--rate", "0", "--qty", "100", "--settle", "500ms", "--timeout", "4s"}
	if err := runFixClient(context.Background(), args, &fout, &ferr); err == nil || !strings.Contains(err.Error(), "no logon") {
		t.Fatalf("plain fixclient against the TLS gateway: %v\n%s", err, fout.String())
	}

	fout.Reset()
	args = []string{"--addr", fixAddr, "--sender", "CLTLS", "--target", "TWTLS", "--store", filepath.Join(dir, "client"),
		"--ca", filepath.Join(certs, "cert.pem"), "--orders", "10", "--rate", "0", "--qty", "100", "--cancel-every", "4",
		"--settle", "1s", "--timeout", "60s"}
	if err := runFixClient(context.Background(), args, &fout, &ferr); err != nil {
		t.Fatalf("fixclient --ca: %v\n%s\n%s", err, fout.String(), ferr.String())
	}
	if !strings.Contains(fout.String(), "over TLS") || !strings.Contains(fout.String(), "all responses matched") || !strings.Contains(fout.String(), "orders 10") {
		t.Fatalf("fixclient output:\n%s", fout.String())
	}
}

// TestTLSProcesses: the real binary: `tickwire server --tls-self-signed DIR`,
// `tickwire record` (its topic listing over https) and `tickwire replay` with
// --ca DIR/cert.pem over wss://;
// replay without --ca fails with the x509 error and exit 1.
func TestTLSProcesses(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certs := filepath.Join(dir, "tls")
	addr := loopbackAddr(t)
	srv := startServerProcess(t, bin, "--listen", addr, "--tls-self-signed", certs, "--log-level", "warn")
	if l := srv.startup[len(srv.startup)-1]; !strings.Contains(l, "listening on wss://"+addr+"/ws") {
		t.Fatalf("server says %q, want it listening on wss://%s/ws", l, addr)
	}
	ca := filepath.Join(certs, "cert.pem")
	if _, err := os.Stat(ca); err != nil {
		t.Fatalf("certificate not written: %v", err)
	}
	url := "wss://" + addr + "/ws"

	// Without --ca: the system roots do not know the certificate.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bad, err := exec.CommandContext(ctx, bin, "replay", "--server", url, "--speed", "0", "embedded").CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(bad), "x509: certificate signed by unknown authority") {
		t.Fatalf("replay without --ca: exit %d:\n%s", code, bad)
	}

	// record, then replay into the server; record stops after 20 ticks.
	recOut := filepath.Join(dir, "rec.csv")
	// A wildcard: the recorder lists the topics over https (GET /topics);
	// publish one so there is something to find.
	hc := httpsClient(t, ca)
	publishPrice(t, hc, "https://"+addr, "EURUSD", 1.3)
	rec := exec.CommandContext(ctx, bin, "record", "--server", url, "--ca", ca, "--topics", "EUR*", "--poll", "100ms", "--count", "20", "--out", recOut, "--log-level", "warn")
	recLog := &rrBuffer{}
	rec.Stdout, rec.Stderr = recLog, recLog
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Wait() }()
	// The recorder subscribes before the replay starts: wait for it in
	// the server's client list.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := hc.Get("https://" + addr + "/clients")
		if err == nil {
			var cs []struct{ Subscriptions int }
			err = json.NewDecoder(resp.Body).Decode(&cs)
			resp.Body.Close()
			if len(cs) == 1 && cs[0].Subscriptions == 1 {
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("recorder not connected after 30s: %v\n%s", err, recLog.String())
		}
	}
	rep, err := exec.CommandContext(ctx, bin, "replay", "--server", url, "--ca", ca, "--speed", "0", "--log-level", "warn", "embedded").CombinedOutput()
	if err != nil {
		t.Fatalf("replay --ca: %v\n%s", err, rep)
	}
	if !strings.Contains(string(rep), "publishing to "+url) {
		t.Errorf("replay output:\n%s", rep)
	}
	select {
	case err := <-recDone:
		if err != nil {
			t.Fatalf("record: %v\n%s", err, recLog.String())
		}
	case <-ctx.Done():
		t.Fatalf("record did not finish:\n%s", recLog.String())
	}
	if got := len(rrReadTicks(t, recOut)); got != 20 {
		t.Fatalf("recorded %d ticks over wss, want 20", got)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestFIXDemoTLSConfig: configs/fix-demo-tls.cfg asks for TLS with the
// server's certificate; without one the gateway does not start, and says
// which flags provide it.
func TestFIXDemoTLSConfig(t *testing.T) {
	_, err := startFIX(fixFlags{config: "../../configs/fix-demo-tls.cfg", dataDir: t.TempDir()}, nil, nil, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "SocketUseSSL=Y") || !strings.Contains(err.Error(), "--tls-self-signed") {
		t.Fatalf("fix-demo-tls.cfg without a certificate: %v", err)
	}
}
