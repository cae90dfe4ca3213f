package feedserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// pooledPair returns a pooledConn accepted on loopback and its peer.
func pooledPair(t *testing.T) (*pooledConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pool := &sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
	pl := pooledListener{Listener: ln, pool: pool}
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = peer.Close() })
	pc, ok := c.(*pooledConn)
	if !ok {
		t.Fatalf("accepted a %T, want a *pooledConn", c)
	}
	return pc, peer
}

// TestPooledConnReads: what the peer sends arrives whole and in order
// through reads smaller than a write, larger than the chunk, and of every
// size between; a connection with nothing unread holds no buffer.
func TestPooledConnReads(t *testing.T) {
	c, peer := pooledPair(t)
	var sent []byte
	for i := range 200 { // small writes, each its own segment or coalesced
		sent = append(sent, bytes.Repeat([]byte{byte(i)}, 1+i%37)...)
	}
	big := make([]byte, 3*readChunk+17)
	for i := range big {
		big[i] = byte(i * 7)
	}
	go func() {
		for i := 0; i < len(sent); {
			n := min(1+i%37, len(sent)-i)
			if _, err := peer.Write(sent[i : i+n]); err != nil {
				return
			}
			i += n
		}
		_, _ = peer.Write(big)
		_ = peer.(*net.TCPConn).CloseWrite()
	}()
	want := append(append([]byte(nil), sent...), big...)
	var got []byte
	sizes := []int{1, 7, 125, readChunk - 1, readChunk, 2*readChunk + 3}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := 0; ; i++ {
		p := make([]byte, sizes[i%len(sizes)])
		n, err := c.Read(p)
		got = append(got, p[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		if c.buf != nil && c.r == c.w {
			t.Fatal("a consumed chunk is still held")
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d, and they differ", len(got), len(want))
	}
	if c.buf != nil {
		t.Fatal("a buffer is held after everything was read")
	}
}

// TestPooledConnDeadline: a read deadline passing while nothing has come
// fails the read as a timeout, holding no buffer, and loses nothing: what
// comes after is read in full.
func TestPooledConnDeadline(t *testing.T) {
	c, peer := pooledPair(t)
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	p := make([]byte, 64)
	if n, err := c.Read(p); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent: %d bytes, %v: want a timeout", n, err)
	}
	if c.buf != nil {
		t.Fatal("a buffer is held by a read that timed out")
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := peer.Write([]byte("after the deadline")); err != nil {
		t.Fatal(err)
	}
	n, err := io.ReadFull(c, p[:len("after the deadline")])
	if err != nil || string(p[:n]) != "after the deadline" {
		t.Fatalf("read %q, %v", p[:n], err)
	}
}

// TestPooledConnWriteTo: copying the connection out (io.Copy uses
// WriteTo) starts with the bytes a read left in the held buffer.
func TestPooledConnWriteTo(t *testing.T) {
	c, peer := pooledPair(t)
	go func() {
		_, _ = peer.Write([]byte("0123456789"))
		_ = peer.(*net.TCPConn).CloseWrite()
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	if _, err := io.Copy(&rest, c); err != nil {
		t.Fatal(err)
	}
	if got := string(one) + rest.String(); got != "0123456789" {
		t.Fatalf("got %q", got)
	}
}
