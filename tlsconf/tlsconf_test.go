package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsureSelfSignedCreatesAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	ss, err := EnsureSelfSigned(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !ss.Created || ss.CertFile != filepath.Join(dir, "cert.pem") || ss.KeyFile != filepath.Join(dir, "key.pem") {
		t.Fatalf("first call: %+v", ss)
	}
	if fi, err := os.Stat(ss.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	cert, err := LoadKeyPair(ss.CertFile, ss.KeyFile, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if got := leaf.NotAfter.Sub(now); got < SelfSignedValidity-time.Minute || got > SelfSignedValidity+time.Minute {
		t.Errorf("validity %v, want about %v", got, SelfSignedValidity)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	for _, h := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("not valid for %s: %v", h, err)
		}
	}
	before, _ := os.ReadFile(ss.CertFile)

	// Next start: the same certificate.
	again, err := EnsureSelfSigned(dir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(again.CertFile)
	if again.Created || !bytes.Equal(before, after) {
		t.Fatalf("valid certificate not reused: %+v", again)
	}

	// Close to expiry: replaced.
	late := now.Add(SelfSignedValidity - SelfSignedRenewBefore + time.Hour)
	renewed, err := EnsureSelfSigned(dir, late)
	if err != nil {
		t.Fatal(err)
	}
	after, _ = os.ReadFile(renewed.CertFile)
	if !renewed.Created || bytes.Equal(before, after) {
		t.Fatalf("certificate about to expire not replaced: %+v", renewed)
	}
}

func TestEnsureSelfSignedReplacesBrokenPair(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	now := time.Now()
	if _, err := EnsureSelfSigned(a, now); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureSelfSigned(b, now); err != nil {
		t.Fatal(err)
	}
	// a's certificate with b's key: a crash between the two writes, say.
	key, _ := os.ReadFile(filepath.Join(b, KeyFileName))
	if err := os.WriteFile(filepath.Join(a, KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	ss, err := EnsureSelfSigned(a, now)
	if err != nil {
		t.Fatal(err)
	}
	if !ss.Created {
		t.Fatal("mismatched pair reused")
	}
	if _, err := LoadKeyPair(ss.CertFile, ss.KeyFile, now); err != nil {
		t.Fatalf("replacement pair: %v", err)
	}
}

func TestLoadKeyPairErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := EnsureSelfSigned(filepath.Join(dir, "a"), now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EnsureSelfSigned(filepath.Join(dir, "b"), now)
	if err != nil {
		t.Fatal(err)
	}
	expiredCert, expiredKey := filepath.Join(dir, "old.pem"), filepath.Join(dir, "old.key")
	if _, err := writeSelfSigned(expiredCert, expiredKey, now.Add(-48*time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	futureCert, futureKey := filepath.Join(dir, "future.pem"), filepath.Join(dir, "future.key")
	if _, err := writeSelfSigned(futureCert, futureKey, now.Add(time.Hour), now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name, cert, key string
		want            []string
	}{
		{"missing cert", missing, a.KeyFile, []string{missing, "no such file"}},
		{"missing key", a.CertFile, missing, []string{missing, "no such file"}},
		{"cert not PEM", notPEM, a.KeyFile, []string{notPEM, "no PEM CERTIFICATE"}},
		{"key not PEM", a.CertFile, notPEM, []string{notPEM, "no PEM block"}},
		{"key of another cert", a.CertFile, b.KeyFile, []string{b.KeyFile, "does not match", a.CertFile}},
		{"cert and key swapped", a.KeyFile, a.CertFile, []string{a.KeyFile, "no PEM CERTIFICATE"}},
		{"expired", expiredCert, expiredKey, []string{expiredCert, "expired at"}},
		{"not yet valid", futureCert, futureKey, []string{futureCert, "not valid before"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadKeyPair(tc.cert, tc.key, now)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := LoadServer(a.CertFile, a.KeyFile); err != nil {
		t.Errorf("good pair: %v", err)
	}
}

func TestClientConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ClientConfig(filepath.Join(dir, "nope.pem")); err == nil || !strings.Contains(err.Error(), "nope.pem") {
		t.Errorf("missing CA file: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o644)
	if _, err := ClientConfig(junk); err == nil || !strings.Contains(err.Error(), junk) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: %v", err)
	}
	cfg, err := ClientConfig("")
	if err != nil || cfg.RootCAs != nil || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("no CA file: system roots, TLS 1.2 minimum; got %+v, %v", cfg, err)
	}
}

// tlsEcho serves TLS on 127.0.0.1 with cfg, echoing one line per connection.
func tlsEcho(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _ = io.Copy(c, io.LimitReader(c, 5))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTrustTheSelfSignedCertificate(t *testing.T) {
	ss, err := EnsureSelfSigned(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsEcho(t, srv)
	_, port, _ := net.SplitHostPort(addr)

	trusting, err := ClientConfig(ss.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		d := &net.Dialer{Timeout: 10 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(host, port), trusting)
		if err != nil {
			t.Fatalf("dial %s trusting the certificate: %v", host, err)
		}
		_, _ = c.Write([]byte("hello"))
		got := make([]byte, 5)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
			t.Fatalf("echo over TLS to %s: %q %v", host, got, err)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("version %x", v)
		}
		c.Close()
	}

	// The system roots do not know it: an x509 error, surfaced as such.
	system, _ := ClientConfig("")
	_, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, system)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("untrusting client: %v, want x509.UnknownAuthorityError", err)
	}

	// TLS 1.1 is refused.
	old := trusting.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, old); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 client accepted")
	}
}
