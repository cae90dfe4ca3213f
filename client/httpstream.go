package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HTTP streaming (the fallback where a WebSocket cannot be opened): a GET
// whose chunked response carries the server's messages, each prefixed by its
// 4-byte big-endian length, and one POST per client message to the stream's
// URL. The frames are the same as over a WebSocket. docs/protocol.md,
// "Transports".

const (
	streamIDHeader = "X-Tickwire-Stream"
	streamType     = "application/x-tickwire-stream"
)

// StreamURL returns the HTTP-streaming URL of a WebSocket URL:
// ws://host:port/ws becomes http://host:port/stream (wss: https).
func StreamURL(wsURL string) string {
	u := wsURL
	switch {
	case strings.HasPrefix(u, "ws://"):
		u = "http://" + u[len("ws://"):]
	case strings.HasPrefix(u, "wss://"):
		u = "https://" + u[len("wss://"):]
	}
	if i := strings.LastIndex(u, "/"); i > len("https://") {
		return u[:i] + "/stream"
	}
	return u + "/stream"
}

type httpTransport struct {
	hc      *http.Client
	postURL string
	body    io.ReadCloser
	br      *bufio.Reader
	cancel  context.CancelFunc // ends the downstream request
	tls     *tls.ConnectionState

	dmu   sync.Mutex
	timer *time.Timer // read deadline: cancels the stream when it fires
	timed bool        // the read deadline fired

	wmu sync.Mutex
	buf []byte
}

func dialHTTP(ctx context.Context, url string, tlsConf *tls.Config) (*httpTransport, error) {
	tr := &http.Transport{
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   dialTimeout,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		ResponseHeaderTimeout: dialTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	hc := &http.Client{Transport: tr}
	// The stream outlives the dial's context; only the wait for the response
	// headers is bound to it.
	sctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	req.Header.Set("Accept", streamType)
	resp, err := hc.Do(req)
	stopped := stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if !stopped {
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("dial %s: %w", url, ctx.Err())
	}
	id := resp.Header.Get(streamIDHeader)
	if resp.StatusCode != http.StatusOK || id == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), streamType) {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("dial %s: HTTP %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return &httpTransport{
		hc:      hc,
		postURL: strings.TrimSuffix(url, "/") + "/" + id,
		body:    resp.Body,
		br:      bufio.NewReaderSize(resp.Body, 16<<10),
		cancel:  cancel,
		tls:     resp.TLS,
	}, nil
}

// WriteMessage POSTs one message. POSTs are sent one at a time, in order.
func (t *httpTransport) WriteMessage(msg []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.buf = binary.BigEndian.AppendUint32(t.buf[:0], uint32(len(msg)))
	t.buf = append(t.buf, msg...)
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.postURL, bytes.NewReader(t.buf))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	req.Header.Set("Content-Type", streamType)
	resp, err := t.hc.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("send: HTTP %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (t *httpTransport) ReadMessage() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(t.br, hdr[:]); err != nil {
		return nil, t.readErr(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxMessage {
		t.Abort()
		return nil, fmt.Errorf("stream message of %d bytes (max %d)", n, maxMessage)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(t.br, msg); err != nil {
		return nil, t.readErr(err)
	}
	return msg, nil
}

// errDeadline is a timeout, like a net.Conn's.
type errDeadline struct{}

func (errDeadline) Error() string   { return "http stream: read deadline exceeded" }
func (errDeadline) Timeout() bool   { return true }
func (errDeadline) Temporary() bool { return true }

func (t *httpTransport) readErr(err error) error {
	t.dmu.Lock()
	timed := t.timed
	t.dmu.Unlock()
	if timed {
		return errDeadline{}
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("stream ended: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// SetReadDeadline arms a timer that ends the stream: a deadline on an HTTP
// response body cannot be lifted once it fired, and the client treats a
// missed deadline as a dead link anyway.
func (t *httpTransport) SetReadDeadline(d time.Time) error {
	t.dmu.Lock()
	defer t.dmu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if d.IsZero() {
		return nil
	}
	t.timer = time.AfterFunc(time.Until(d), func() {
		t.dmu.Lock()
		t.timed = true
		t.dmu.Unlock()
		t.cancel()
	})
	return nil
}

func (t *httpTransport) Close() error {
	t.Abort()
	return nil
}

func (t *httpTransport) Abort() {
	t.cancel()
	_ = t.body.Close()
	t.hc.CloseIdleConnections()
	t.dmu.Lock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.dmu.Unlock()
}

func (t *httpTransport) Kind() string { return TransportHTTP }

func (t *httpTransport) TLS() *tls.ConnectionState { return t.tls }
