package feedserver

import (
	"io"
	"net"
	"time"
)

// transport is the byte pipe under one client connection: a WebSocket
// (*websocket.Conn satisfies it as is) or an HTTP stream (httpstream.go).
// The Conn, its queue and its writer are the same over both; only this
// differs. Message types are gorilla's (websocket.BinaryMessage, ...).
type transport interface {
	// Reader goroutine.
	SetReadLimit(limit int64)
	SetReadDeadline(t time.Time) error
	// ReadMessage returns the next message from the client. Over the
	// limit it fails with websocket.ErrReadLimit.
	ReadMessage() (messageType int, p []byte, err error)

	// Writer goroutine.
	SetWriteDeadline(t time.Time) error
	// NextWriter returns a writer for one message; Close ends the message.
	NextWriter(messageType int) (io.WriteCloser, error)
	// WriteControl sends a control message (the WebSocket close); an HTTP
	// stream has none and ignores it.
	WriteControl(messageType int, data []byte, deadline time.Time) error

	// Any goroutine.
	Close() error
	RemoteAddr() net.Addr
}

// flusher is implemented by transports that buffer a batch of messages: the
// writer calls Flush once per batch.
type flusher interface {
	Flush() error
}
