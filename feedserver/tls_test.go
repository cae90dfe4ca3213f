package feedserver

import (
	"crypto/tls"
	"net"
	"testing"
)

// TestTCPConnUnderTLS: socket options reach the TCP connection under TLS.
func TestTCPConnUnderTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if got, ok := tcpConn(raw); !ok || got != raw {
		t.Fatalf("plain: %v %v", got, ok)
	}
	if got, ok := tcpConn(tls.Client(raw, &tls.Config{})); !ok || got != raw {
		t.Fatalf("under TLS: %v %v", got, ok)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := tcpConn(tls.Server(a, &tls.Config{})); ok {
		t.Fatal("a pipe is not TCP")
	}
}
