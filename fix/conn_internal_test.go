package fix

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

func noSession(net.Addr) string { return "" }

// TestBufferedConnSlowReaderKept: a peer that reads slowly but steadily
// keeps its connection, however long a write takes. net.Pipe, not TCP: each
// read of the peer is progress at once, where the kernel would wake a
// blocked writer only once a third of its send buffer is free.
func TestBufferedConnSlowReaderKept(t *testing.T) {
	conn, peer := net.Pipe()
	b := newBufferedConn(conn, 200*time.Millisecond, nil, noSession, slog.New(slog.DiscardHandler))
	defer b.Close()
	msg := bytes.Repeat([]byte("x"), 4<<10)
	if _, err := b.Write(msg); err != nil {
		t.Fatal(err)
	}
	// 64 bytes every 20 ms: the write takes over a second, 6 timeouts.
	buf := make([]byte, 64)
	for got := 0; got < len(msg); {
		time.Sleep(20 * time.Millisecond) // the peer's pace
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("cut after %d of %d bytes: %v", got, len(msg), err)
		}
		got += n
	}
	if _, err := b.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(peer, buf[:1]); err != nil || buf[0] != 'y' {
		t.Fatalf("after the slow write: %q, %v", buf[:1], err)
	}
}

// TestBufferedConnCloseStalled: Close while the flusher is stuck on a peer
// that does not read returns within closeFlush, not the write timeout.
func TestBufferedConnCloseStalled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b := newBufferedConn(conn, time.Minute, nil, noSession, slog.New(slog.DiscardHandler))
	writeErr := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := b.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	// Stalled: the socket's buffers are full and maxPending waits.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		full := len(b.buf) >= maxPending
		b.mu.Unlock()
		if full {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the writes never stalled")
		}
	}
	start := time.Now()
	_ = b.Close()
	if d := time.Since(start); d > closeFlush+time.Second {
		t.Errorf("Close took %v, want at most closeFlush (%v)", d, closeFlush)
	}
	select {
	case <-writeErr:
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked Write did not return after Close")
	}
}
