package fix_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/tlsconf"
)

// syncBuffer is a goroutine-safe log sink.
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

// waitFor polls cond every 20ms until it holds or 30s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func withExtra(s string) rigOption { return func(r *rig) { r.extraCfg = s } }

func withLog(buf *syncBuffer) rigOption {
	return func(r *rig) { r.cfg.Logger = slog.New(slog.NewTextHandler(buf, nil)) }
}

func withTLS(c *tls.Config) rigOption { return func(r *rig) { r.cfg.TLS = c } }

// withSession sets the [SESSION]'s identity settings.
func withSession(s string) rigOption { return func(r *rig) { r.sessionCfg = s } }

// tlsClient starts an initiator for r's session with the TLS options o
// (Addrs, CompIDs and store filled in). It does not wait for a logon.
func tlsClient(t *testing.T, r *rig, o fixclient.Options) *fixclient.Client {
	t.Helper()
	o.Addrs = []string{fmt.Sprintf("127.0.0.1:%d", r.port)}
	o.SenderCompID, o.TargetCompID = r.clID, r.gwID
	o.StoreDir = filepath.Join(r.dir, "client")
	s, err := fixclient.Settings(o)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := fixclient.New(s, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

func devCert(t *testing.T) tlsconf.SelfSigned {
	t.Helper()
	ss, err := tlsconf.EnsureSelfSigned(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// tradeOnce runs a short order flow on a logged-on client and checks it.
func tradeOnce(t *testing.T, cl *fixclient.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Settle is the give-up time with no report coming; the flow ends as
	// soon as every order is answered, so a long one costs a passing run
	// nothing (200 ms lost reports on a loaded machine).
	res, err := cl.RunFlow(ctx, fixclient.Flow{Orders: 6, Window: 3, Symbols: []string{"EURUSD"}, Qty: "100", CancelEvery: 3, Settle: 20 * time.Second}, nil)
	if err != nil || len(res.Mismatches) > 0 || res.Orders != 6 || res.Fills == 0 {
		t.Fatalf("flow over TLS: %+v %v", res, err)
	}
}

// TestFIXOverTLSFiles: the acceptor's certificate from the settings file; an
// initiator trusting it logs on and trades; a plain initiator and one that
// does not trust the certificate never log on, and the gateway says why.
func TestFIXOverTLSFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for refused handshakes across reconnects: slow; make test runs it")
	}
	ss := devCert(t)
	var logs syncBuffer
	r := newRig(t, withoutClient(), withLog(&logs), withExtra(fmt.Sprintf(
		"SocketCertificateFile=%s\nSocketPrivateKeyFile=%s\nSocketUseSSL=Y\nSocketMinimumTLSVersion=TLS12\n", ss.CertFile, ss.KeyFile)))
	if !r.gw.TLS() {
		t.Fatal("gateway does not report TLS")
	}

	// A plain initiator: its Logon is not a TLS handshake.
	plain := tlsClient(t, r, fixclient.Options{})
	waitFor(t, "the gateway to refuse the plain initiator", func() bool {
		return strings.Contains(logs.String(), "fix tls handshake failed") &&
			strings.Contains(logs.String(), "first record does not look like a TLS handshake")
	})
	if on, _ := plain.LoggedOn(); on {
		t.Fatal("plain initiator logged on to a TLS acceptor")
	}
	plain.Stop()

	// An initiator trusting another certificate: refused by its own side.
	other := devCert(t)
	untrusting := tlsClient(t, r, fixclient.Options{CAFile: other.CertFile})
	waitFor(t, "the gateway to see the untrusting initiator's handshake fail", func() bool {
		return strings.Contains(logs.String(), "bad certificate") || strings.Contains(logs.String(), "unknown certificate authority")
	})
	if on, _ := untrusting.LoggedOn(); on {
		t.Fatal("initiator not trusting the certificate logged on")
	}
	untrusting.Stop()
	for _, s := range r.gw.Sessions() {
		if s.LoggedOn {
			t.Fatalf("session %s logged on without TLS", s.ID)
		}
	}

	cl := tlsClient(t, r, fixclient.Options{CAFile: ss.CertFile})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		t.Fatalf("TLS initiator: %v\n%s", err, logs.String())
	}
	tradeOnce(t, cl)
}

// TestFIXOverTLSServerCertificate: SocketUseSSL=Y without files takes the
// certificate of Config.TLS (the feed server's); without one, New says how
// to provide it.
func TestFIXOverTLSServerCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("TLS handshakes and a restart: slow; make test runs it")
	}
	ss := devCert(t)
	srv, err := tlsconf.LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, withoutClient(), withTLS(srv), withExtra("SocketUseSSL=Y\n"))
	if !r.gw.TLS() {
		t.Fatal("gateway does not report TLS")
	}
	cl := tlsClient(t, r, fixclient.Options{CAFile: ss.CertFile})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tradeOnce(t, cl)

	// Config.TLS alone does not turn TLS on: the settings decide.
	plainRig := newRig(t, withTLS(srv)) // its plain client logs on in newRig
	if plainRig.gw.TLS() {
		t.Fatal("TLS on without SocketUseSSL or files")
	}
}

// TestFIXMutualTLS: certificate files without SocketUseSSL=Y require a client
// certificate (quickfix's rule), verified against SocketCAFile.
func TestFIXMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for refused handshakes across reconnects: slow; make test runs it")
	}
	server, clientCert := devCert(t), devCert(t)
	var logs syncBuffer
	r := newRig(t, withoutClient(), withLog(&logs), withExtra(fmt.Sprintf(
		"SocketCertificateFile=%s\nSocketPrivateKeyFile=%s\nSocketCAFile=%s\n", server.CertFile, server.KeyFile, clientCert.CertFile)),
		withSession("TickwireAccounts=*\nTickwireCertificateCN=tickwire self-signed (loopback)\n"))
	anon := tlsClient(t, r, fixclient.Options{CAFile: server.CertFile})
	waitFor(t, "the gateway to refuse a client without a certificate", func() bool {
		return strings.Contains(logs.String(), "fix tls handshake failed")
	})
	if on, _ := anon.LoggedOn(); on {
		t.Fatal("client without a certificate logged on")
	}
	anon.Stop()
	cl := tlsClient(t, r, fixclient.Options{CAFile: server.CertFile, CertFile: clientCert.CertFile, KeyFile: clientCert.KeyFile})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		t.Fatalf("client with a certificate: %v\n%s", err, logs.String())
	}
}

// TestFIXTLSSettingsErrors: bad TLS settings fail New with a clear error.
func TestFIXTLSSettingsErrors(t *testing.T) {
	ss := devCert(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	other := devCert(t)
	base := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nResetOnLogon=N\nHeartBtInt=30\n"
	session := "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TLSERR\nTargetCompID=TLSERRC\n"
	for _, tc := range []struct {
		name, def, sess string
		want            []string
	}{
		{"missing certificate", "SocketCertificateFile=" + missing + "\nSocketPrivateKeyFile=" + ss.KeyFile + "\n", "", []string{missing}},
		{"key of another certificate", "SocketCertificateFile=" + ss.CertFile + "\nSocketPrivateKeyFile=" + other.KeyFile + "\n", "", []string{"does not match", other.KeyFile}},
		{"certificate without key", "SocketCertificateFile=" + ss.CertFile + "\n", "", []string{"go together"}},
		{"missing CA", "SocketUseSSL=Y\nSocketCertificateFile=" + ss.CertFile + "\nSocketPrivateKeyFile=" + ss.KeyFile + "\nSocketCAFile=" + missing + "\n", "", []string{"SocketCAFile", missing}},
		{"old TLS", "SocketCertificateFile=" + ss.CertFile + "\nSocketPrivateKeyFile=" + ss.KeyFile + "\nSocketMinimumTLSVersion=TLS11\n", "", []string{"TLS 1.2"}},
		{"SocketUseSSL without a certificate", "SocketUseSSL=Y\n", "", []string{"--tls-self-signed"}},
		{"TLS in a session", "", "SocketCertificateFile=" + ss.CertFile + "\n", []string{"[DEFAULT]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fix.ParseSettings(strings.NewReader(base+tc.def+session+tc.sess), "")
			if err != nil {
				t.Fatal(err)
			}
			gw, err := fix.New(fix.Config{Settings: s, DataDir: t.TempDir()})
			if err == nil {
				_ = gw.Stop()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestFIXTLSRelativePaths: relative TLS file paths in a settings file are
// relative to the file.
func TestFIXTLSRelativePaths(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlsconf.EnsureSelfSigned(filepath.Join(dir, "certs"), time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "fix.cfg")
	if err := os.WriteFile(cfg, []byte("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nResetOnLogon=N\nHeartBtInt=30\n"+
		"SocketCertificateFile=certs/cert.pem\nSocketPrivateKeyFile=certs/key.pem\nSocketUseSSL=Y\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TLSREL\nTargetCompID=TLSRELC\n"+
		"TickwireAccounts=*\nTickwireOpenLogon=Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // elsewhere
	s, err := fix.LoadSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := fix.New(fix.Config{Settings: s, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()
	if !gw.TLS() {
		t.Fatal("TLS not on")
	}
}
