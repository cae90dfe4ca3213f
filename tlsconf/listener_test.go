package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHandshakeListener(t *testing.T) {
	ss, err := EnsureSelfSigned(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failures []string
	failed := make(chan struct{}, 16)
	ln := NewHandshakeListener(inner, srv, 500*time.Millisecond, func(_ net.Addr, err error) {
		mu.Lock()
		failures = append(failures, err.Error())
		mu.Unlock()
		failed <- struct{}{}
	})
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	acceptErr := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			accepted <- c
		}
	}()
	addr := ln.Addr().String()

	// A client that connects and says nothing: closed after the timeout,
	// and Accept never sees it.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A plain-text client: refused, never accepted.
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, _ = plain.Write([]byte("8=FIX.4.4\x019=5\x0135=A\x01"))

	// Meanwhile a TLS client gets through.
	cfg, _ := ClientConfig(ss.CertFile)
	good, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("TLS connection not accepted")
	}
	if _, ok := sc.(*tls.Conn); !ok {
		t.Fatalf("accepted %T, want *tls.Conn", sc)
	}
	_, _ = good.Write([]byte("ping"))
	buf := make([]byte, 4)
	_ = sc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q %v", buf, err)
	}
	sc.Close()

	for _, c := range []net.Conn{silent, plain} {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(c) // until the server closes it
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: server kept the connection open", c.LocalAddr())
		}
	}
	for range 2 {
		select {
		case <-failed:
		case <-time.After(30 * time.Second):
			t.Fatal("failed handshake not reported")
		}
	}
	mu.Lock()
	all := strings.Join(failures, "; ")
	mu.Unlock()
	if !strings.Contains(all, "first record does not look like a TLS handshake") {
		t.Errorf("plain client's failure not reported: %s", all)
	}
	select {
	case c := <-accepted:
		t.Fatalf("a failed handshake was accepted: %v", c.RemoteAddr())
	default:
	}

	ln.Close()
	select {
	case err := <-acceptErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept not unblocked by Close")
	}
}
