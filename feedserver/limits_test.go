package feedserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/client"
	"tickwire/protocol"
)

// Tests of the limits against hostile clients (limits.go, docs/limits.md):
// real sockets on 127.0.0.1, a real server.

// served is a well-behaved client, subscribed to topic "LIVE", that answers
// the server's pings. check publishes a new value and waits for it: the
// server still serves its clients while others attack it.
type served struct {
	t      *testing.T
	srv    *Server
	prices chan float64
	bid    float64
}

func newServed(t *testing.T, srv *Server, url string) *served {
	t.Helper()
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"LIVE"}}); err != nil {
		t.Fatal(err)
	}
	s := &served{t: t, srv: srv, prices: make(chan float64, 1024), bid: 1}
	go func() {
		for {
			err := c.Read(func(f protocol.Frame) error {
				switch f := f.(type) {
				case *protocol.Ping:
					return c.Send(&protocol.Pong{Nonce: f.Nonce})
				case *protocol.Price:
					if v, ok := f.Quote.Get(protocol.Bid); ok {
						select {
						case s.prices <- v:
						default:
						}
					}
				}
				return nil
			})
			if err != nil {
				close(s.prices)
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "the served client's subscription", func() bool {
		for _, cs := range srv.Conns() {
			if cs.Subscriptions == 1 {
				return true
			}
		}
		return false
	})
	return s
}

// check publishes the next value of LIVE and fails the test unless it
// arrives within 5s: a bound on latency under attack, far above the normal.
func (s *served) check() {
	s.t.Helper()
	s.bid++
	var q protocol.Quote
	q.Put(protocol.Bid, s.bid)
	if err := s.srv.Hub().Publish("LIVE", &q, time.Now().UnixNano(), 0); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v, ok := <-s.prices:
			if !ok {
				s.t.Fatal("the served client lost its connection")
			}
			if v == s.bid {
				return
			}
		case <-deadline:
			s.t.Fatalf("the served client did not get bid %v within 5s", s.bid)
		}
	}
}

// readErrors reads c until the connection ends or d passes. It returns the
// Error frames received and the error that ended the reading.
func readErrors(t *testing.T, c *client.Conn, d time.Duration) (errs []*protocol.Error, end error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	for {
		err := c.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Error); ok {
				errs = append(errs, e)
			}
			return nil
		})
		if err != nil {
			return errs, err
		}
	}
}

// closeCode is the WebSocket close code in err, or -1.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// wsURLHost returns host:port of a ws:// URL.
func wsURLHost(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
}

// rawWS opens a WebSocket with gorilla directly: nothing is sent on it.
func rawWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// readWSErrors reads ws until it ends or d passes, decoding frames; it
// returns the Error frames and the error that ended the reading.
func readWSErrors(ws *websocket.Conn, d time.Duration) (errs []*protocol.Error, end error) {
	_ = ws.SetReadDeadline(time.Now().Add(d))
	dec := protocol.NewDecoder()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return errs, err
		}
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				return errs, err
			}
			if e, ok := f.(*protocol.Error); ok {
				errs = append(errs, e)
			}
		}
	}
}

func encodeFrames(t *testing.T, frames ...protocol.Frame) []byte {
	t.Helper()
	var b []byte
	enc := protocol.NewEncoder()
	for _, f := range frames {
		var err error
		if b, err = enc.Append(b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// maskedHeader is a client's binary frame header announcing n payload bytes,
// masked with the zero key (so the payload goes as is).
func maskedHeader(n int) []byte {
	h := []byte{0x82}
	switch {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	return append(h, 0, 0, 0, 0)
}

func hasCode(errs []*protocol.Error, code protocol.ErrorCode) *protocol.Error {
	for _, e := range errs {
		if e.Code == code {
			return e
		}
	}
	return nil
}

// TestSlowloris: three kinds of slow clients are each closed within their
// timeout, while a well-behaved client keeps getting its data: raw TCP
// dribbling an HTTP request header (the HTTP server's ReadHeaderTimeout), a
// WebSocket that never sends its Hello (Error 2001), and one that sends a
// Hello, then a frame of which it dribbles a byte at a time (Error 2004: the
// idle timeout bounds one message).
func TestSlowloris(t *testing.T) {
	srv, url := startServer(t, Config{HandshakeTimeout: 500 * time.Millisecond, IdleTimeout: 800 * time.Millisecond, Heartbeat: 200 * time.Millisecond})
	good := newServed(t, srv, url)
	good.check()

	// Each attacker reports when its connection ended, from a reader.
	type result struct {
		what   string
		took   time.Duration
		errs   []*protocol.Error
		end    error
		ending []byte // raw TCP: what the server sent before closing
	}
	results := make(chan result, 3)
	var stop atomic.Bool // set when the test is over: the dribblers stop
	defer stop.Store(true)
	dribble := func(w io.Writer, b []byte) {
		for i := 0; i < 300 && !stop.Load(); i++ { // at most 30 s
			if _, err := w.Write(b[i%len(b) : i%len(b)+1]); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// 1. Raw TCP dribbling a request header.
	tc, err := net.Dial("tcp", wsURLHost(url))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	start := time.Now()
	go dribble(tc, []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	go func() {
		_ = tc.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(tc)
		results <- result{what: "header", took: time.Since(start), end: err, ending: b}
	}()

	// 2. A WebSocket that never says Hello.
	noHello := rawWS(t, url)
	start2 := time.Now()
	go func() {
		errs, end := readWSErrors(noHello, 20*time.Second)
		results <- result{what: "no hello", took: time.Since(start2), errs: errs, end: end}
	}()

	// 3. A Hello, then a frame announced at 1000 bytes and dribbled.
	partial := rawWS(t, url)
	if err := partial.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version, Client: "slow"})); err != nil {
		t.Fatal(err)
	}
	if _, err := partial.NetConn().Write(maskedHeader(1000)); err != nil {
		t.Fatal(err)
	}
	start3 := time.Now()
	go dribble(partial.NetConn(), encodeFrames(t, &protocol.Ping{Nonce: 1}))
	go func() {
		errs, end := readWSErrors(partial, 20*time.Second)
		results <- result{what: "partial frame", took: time.Since(start3), errs: errs, end: end}
	}()

	for range 3 {
		good.check() // served throughout
		r := <-results
		t.Logf("%s: closed after %s (%v)", r.what, r.took.Round(time.Millisecond), r.end)
		if r.took > 10*time.Second {
			t.Errorf("%s: closed only after %s", r.what, r.took)
		}
		switch r.what {
		case "header":
			// Closed, perhaps after a 408: never upgraded, never a 101.
			if bytes.Contains(r.ending, []byte("101")) {
				t.Errorf("header dribbler got %q", r.ending)
			}
			var ne net.Error
			if errors.As(r.end, &ne) && ne.Timeout() {
				t.Errorf("header dribbler: the server never closed the connection")
			}
		case "no hello":
			if hasCode(r.errs, protocol.CodeHelloRequired) == nil {
				t.Errorf("no Hello: got %v, want Error 2001", r.errs)
			}
		case "partial frame":
			if e := hasCode(r.errs, protocol.CodeIdle); e == nil || !strings.Contains(e.Reason, "idle timeout") {
				t.Errorf("partial frame: got %v, want Error 2004 naming the idle timeout", r.errs)
			}
		}
	}
	good.check()
	waitFor(t, 5*time.Second, "only the good client connected", func() bool { return srv.Stats().Connections == 1 })
}

// TestOversizeMessage: a message over MaxInboundMessage gets Error 2007 and
// the connection closes; the events the client published before it are
// kept, and other clients lose nothing.
func TestOversizeMessage(t *testing.T) {
	srv, url := startServer(t, Config{MaxInboundMessage: 4096})
	good := newServed(t, srv, url)
	sub := dial(t, url)
	if err := sub.Send(&protocol.Subscribe{Topics: []string{"alerts.big"}}); err != nil {
		t.Fatal(err)
	}
	pub := dial(t, url)
	var evs []protocol.Frame
	for i := range 5 {
		evs = append(evs, &protocol.Event{Type: protocol.TypePublishEvent, Topic: "alerts.big", Data: []byte{0xa1, byte('a' + i)}})
	}
	if err := pub.Send(evs...); err != nil {
		t.Fatal(err)
	}
	// 8 MiB: far over the limit and the socket buffers. The server stops
	// reading at the limit, so the write may never complete.
	go func() { _ = pub.SendRaw(make([]byte, 8<<20)) }()
	errs, end := readErrors(t, pub, 10*time.Second)
	e := hasCode(errs, protocol.CodeTooLarge)
	if e == nil || !strings.Contains(e.Reason, "4096") {
		t.Fatalf("oversize: got %v (%v), want Error 2007 naming the limit", errs, end)
	}
	if len(errs) != 1 {
		t.Errorf("oversize: got %v, want only the 2007", errs)
	}
	// The events before it are all there, in order, for the subscriber.
	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	for len(got) < 5 {
		if err := sub.Read(func(f protocol.Frame) error {
			if ev, ok := f.(*protocol.Event); ok && ev.Type == protocol.TypeEvent {
				got = append(got, ev.Data[1])
			}
			return nil
		}); err != nil {
			t.Fatalf("subscriber: %v after %q", err, got)
		}
	}
	if string(got) != "abcde" {
		t.Errorf("subscriber got %q, want abcde", got)
	}
	good.check()
}

// TestGarbage: garbage on raw TCP gets HTTP 400 and a close; garbage in
// WebSocket messages gets Error 1000 per message, then 2006; garbage that is
// not even WebSocket framing closes the connection. Others are served.
func TestGarbage(t *testing.T) {
	srv, url := startServer(t, Config{MaxBadFrames: 5})
	good := newServed(t, srv, url)

	tc, err := net.Dial("tcp", wsURLHost(url))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := tc.Write([]byte("\x00\x01\x02garbage \xff not http\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := io.ReadAll(tc) // to EOF: the server closes
	if err != nil {
		t.Fatalf("raw garbage: %v after %q", err, resp)
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 400")) {
		t.Errorf("raw garbage: got %q, want HTTP/1.1 400", resp)
	}
	good.check()

	// Garbage messages after the upgrade and Hello.
	c := dial(t, url)
	garbage := [][]byte{{0xc1}, []byte("\xde\xad\xbe\xef"), {0x91, 0xcc, 0xff}, bytes.Repeat([]byte{0xdc}, 100), {0x95, 0x03}, {0x00, 0xc1}}
	for _, g := range garbage {
		if err := c.SendRaw(g); err != nil {
			t.Fatal(err)
		}
	}
	errs, end := readErrors(t, c, 10*time.Second)
	var bad int
	for _, e := range errs {
		if e.Code == protocol.CodeBadFrame {
			bad++
		}
	}
	if bad != 5 || errs[len(errs)-1].Code != protocol.CodeTooManyErrors {
		t.Errorf("garbage messages: got %v, want five 1000s then 2006", errs)
	}
	if closeCode(end) != websocket.CloseNormalClosure {
		t.Errorf("garbage messages: connection ended with %v, want a close", end)
	}
	good.check()

	// Bytes that are not WebSocket frames at all (reserved bits, no mask).
	ws := rawWS(t, url)
	if _, err := ws.NetConn().Write(bytes.Repeat([]byte{0xff}, 64)); err != nil {
		t.Fatal(err)
	}
	_, end = readWSErrors(ws, 10*time.Second)
	var ne net.Error
	if errors.As(end, &ne) && ne.Timeout() {
		t.Fatalf("non-WebSocket bytes: the server did not close (%v)", end)
	}
	good.check()
	waitFor(t, 5*time.Second, "only the good client connected", func() bool { return srv.Stats().Connections == 1 })
}

// TestSubscribeFlood: a client churning subscriptions within its topic cap
// is refused (1010) past the rate, then disconnected (2011); the hub does not
// keep the topics it invented; a client that backs off after a refusal is
// not cut; others are served.
func TestSubscribeFlood(t *testing.T) {
	srv, url := startServer(t, Config{MaxTopicsPerClient: 50, SubscribeRate: 50, SubscribeBurst: 100})
	good := newServed(t, srv, url)
	base := srv.Stats().Topics

	flood := dial(t, url)
	var maxTopics atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		topics := make([]string, 50)
		for i := 0; i < 5000; i++ { // bounded; the server cuts it long before
			for j := range topics {
				topics[j] = fmt.Sprintf("orders.flood%d-%d", i, j) // sequenced: the costliest kind
			}
			if flood.Send(&protocol.Subscribe{Topics: topics}) != nil || flood.Send(&protocol.Subscribe{Topics: topics, Unsubscribe: true}) != nil {
				return
			}
			if n := int64(srv.Stats().Topics); n > maxTopics.Load() {
				maxTopics.Store(n)
			}
		}
	}()
	errs, end := readErrors(t, flood, 20*time.Second)
	<-done
	limited := 0
	for _, e := range errs {
		if e.Code == protocol.CodeRateLimited {
			limited++
			if !strings.Contains(e.Reason, "rate limit") || !strings.HasPrefix(e.Topic, "orders.flood") {
				t.Errorf("refusal %v: want the rate limit named and the topic", e)
			}
		}
	}
	if limited == 0 || len(errs) == 0 || errs[len(errs)-1].Code != protocol.CodeFlood {
		t.Fatalf("flood: %d refusals, errors %v (%v); want 1010s then 2011", limited, errs, end)
	}
	// Memory: topics that only a subscriber made are forgotten with it.
	if m := maxTopics.Load(); m > int64(base+50+1) {
		t.Errorf("flood: the hub held %d topics (base %d, cap 50)", m, base)
	}
	waitFor(t, 5*time.Second, "the flood's topics forgotten", func() bool { return srv.Stats().Topics == base })
	good.check()

	// A client that backs off after a refusal stays.
	polite := dial(t, url)
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("P%d", i)
	}
	for _, list := range [][]string{many, many, many} {
		if err := polite.Send(&protocol.Subscribe{Topics: list}); err != nil {
			t.Fatal(err)
		}
	}
	_ = polite.SetReadDeadline(time.Now().Add(10 * time.Second))
	var refused *protocol.Error
	for refused == nil {
		if err := polite.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Error); ok {
				refused = e
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if refused.Code != protocol.CodeRateLimited {
		t.Fatalf("third Subscribe of 40 (burst 100): got %v, want 1010", refused)
	}
	time.Sleep(time.Second) // 50 changes back in the bucket
	if err := polite.Send(&protocol.Subscribe{Topics: []string{"Q1"}}, &protocol.Ping{Nonce: 9}); err != nil {
		t.Fatal(err)
	}
	for pong := false; !pong; {
		if err := polite.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Pong:
				pong = f.Nonce == 9
			case *protocol.Error:
				t.Errorf("after backing off: %v", f)
			}
			return nil
		}); err != nil {
			t.Fatalf("after backing off: %v", err)
		}
	}
	waitFor(t, 5*time.Second, "41 subscriptions", func() bool {
		for _, cs := range srv.Conns() {
			if cs.Subscriptions == 41 {
				return true
			}
		}
		return false
	})
}

// TestPerAddressCap: MaxConnectionsPerAddr refuses a third connection from
// 127.0.0.1 with Error 2002 naming the per-address limit, not one from
// 127.0.0.2, and a freed slot can be used again.
func TestPerAddressCap(t *testing.T) {
	srv, url := startServer(t, Config{MaxConnectionsPerAddr: 2})
	dial(t, url)
	second := dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, url, protocol.Hello{})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeServerFull || !strings.Contains(perr.Reason, "per-address") || !strings.Contains(perr.Reason, "127.0.0.1") {
		t.Fatalf("third connection from 127.0.0.1: got %v, want 2002 naming the per-address limit", err)
	}
	// HTTP streams count too.
	if _, err := client.Dial(ctx, "http://"+wsURLHost(url)+"/stream", protocol.Hello{}); err == nil {
		t.Error("an HTTP stream from 127.0.0.1 was accepted over the per-address limit")
	}

	other := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	ws, _, err := other.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial from 127.0.0.2: %v", err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version})); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	dec := protocol.NewDecoder()
	dec.Reset(msg)
	if f, err := dec.Next(); err != nil || f.FrameType() != protocol.TypeWelcome {
		t.Fatalf("from 127.0.0.2: got %v %v, want a Welcome", f, err)
	}

	_ = second.Close()
	waitFor(t, 5*time.Second, "the second connection gone", func() bool { return srv.Stats().Connections == 2 })
	dial(t, url) // its slot is free again
}

// rawWSFrom opens a WebSocket from the local address ip (127.0.0.x) and
// sends nothing on it.
func rawWSFrom(t *testing.T, url string, ip net.IP) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}).DialContext}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial from %v: %v", ip, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// TestPreHelloNotCounted: with MaxConnections 3, sockets that never say
// Hello do not count against it: five of them, and three traders still
// connect; a fourth trader is refused with 2002.
func TestPreHelloNotCounted(t *testing.T) {
	srv, url := startServer(t, Config{MaxConnections: 3, HandshakeTimeout: time.Minute})
	for range 5 {
		rawWSFrom(t, url, net.IPv4(127, 0, 0, 2))
	}
	waitFor(t, 5*time.Second, "five connections awaiting their Hello", func() bool { return srv.Stats().Connections == 5 })
	for range 3 {
		dial(t, url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, url, protocol.Hello{Client: "fourth"})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeServerFull || perr.Reason != "connection limit 3 reached" {
		t.Fatalf("fourth trader: %v, want 2002 connection limit 3 reached", err)
	}
	if st := srv.Stats(); st.PreHello != 5 {
		t.Fatalf("%d connections awaiting their Hello, want 5", st.PreHello)
	}
}

// TestPreHelloBudget: connections awaiting their Hello have their own
// budget, per address (MaxPreHelloPerAddr) and in all (MaxPreHello):
// the excess is refused with 2002 naming the limit and close 1013, while
// a trader from another address connects; a freed slot is used again.
func TestPreHelloBudget(t *testing.T) {
	srv, url := startServer(t, Config{MaxConnections: 3, MaxPreHello: 6, MaxPreHelloPerAddr: 4, HandshakeTimeout: time.Minute})
	preHello := func(n int) func() bool { return func() bool { return srv.Stats().PreHello == n } }
	refused := func(ws *websocket.Conn, want string) {
		t.Helper()
		errs, end := readWSErrors(ws, 5*time.Second)
		if len(errs) != 1 || errs[0].Code != protocol.CodeServerFull || errs[0].Reason != want || closeCode(end) != websocket.CloseTryAgainLater {
			t.Fatalf("got %v, then %v; want 2002 %q and close 1013", errs, end, want)
		}
	}
	two, three, four := net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3), net.IPv4(127, 0, 0, 4)
	for range 4 {
		rawWSFrom(t, url, two)
	}
	waitFor(t, 5*time.Second, "4 awaiting their Hello", preHello(4))
	refused(rawWSFrom(t, url, two), "per-address limit of 4 connections awaiting their Hello reached for 127.0.0.2")
	dial(t, url) // a trader from 127.0.0.1

	a := rawWSFrom(t, url, three)
	rawWSFrom(t, url, three)
	waitFor(t, 5*time.Second, "6 awaiting their Hello", preHello(6))
	refused(rawWSFrom(t, url, four), "limit of 6 connections awaiting their Hello reached")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := client.Dial(ctx, "http://"+wsURLHost(url)+"/stream", protocol.Hello{}); err == nil {
		_ = c.Close()
		t.Fatal("an HTTP stream was accepted over the pre-Hello limit")
	}
	_ = a.Close()
	waitFor(t, 5*time.Second, "a slot freed", preHello(5))
	dial(t, url)
	if st := srv.Stats(); st.Connections != 7 || st.PreHello != 5 {
		t.Fatalf("stats %+v, want 7 connections, 5 awaiting their Hello", st)
	}
}

// TestIdleTimeout: a client that says Hello and then nothing is cut after
// IdleTimeout with Error 2004; one that sends something more often is not.
func TestIdleTimeout(t *testing.T) {
	srv, url := startServer(t, Config{Heartbeat: 10 * time.Second, IdleTimeout: 600 * time.Millisecond})
	silent := dial(t, url)
	chatty := dial(t, url)
	start := time.Now()
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			if chatty.Send(&protocol.Ping{Nonce: int64(i)}) != nil {
				return
			}
		}
	}()
	errs, end := readErrors(t, silent, 10*time.Second)
	took := time.Since(start)
	if e := hasCode(errs, protocol.CodeIdle); e == nil || !strings.Contains(e.Reason, "600ms") {
		t.Fatalf("silent client: got %v (%v), want 2004 naming the 600ms idle timeout", errs, end)
	}
	if took < 500*time.Millisecond {
		t.Errorf("silent client cut after %s, before its idle timeout", took)
	}
	time.Sleep(time.Second) // past the idle timeout for the chatty one, too
	close(stop)
	<-pinged
	if n := srv.Stats().Connections; n != 1 {
		t.Fatalf("%d connections, want the chatty client's", n)
	}
}

// TestHTTPLimits: request bodies over their limits get 413 and publish
// nothing; a header over MaxHeaderBytes gets 431; a body dribbled slower
// than HTTPReadTimeout is cut off; the HTTP stream's download outlives
// HTTPReadTimeout.
func TestHTTPLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("outlives a read timeout by 2s: slow; make test runs it")
	}
	srv, url := startServer(t, Config{MaxPublishBody: 1024, MaxStreamPost: 2048, MaxHeaderBytes: 2048, HTTPReadTimeout: 700 * time.Millisecond})
	base := "http://" + wsURLHost(url)

	big := `{"event": "` + strings.Repeat("x", 2000) + `"}`
	resp, err := http.Post(base+"/publish/alerts.body", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(msg), "1024") {
		t.Errorf("oversize publish: %d %q, want 413 naming the limit", resp.StatusCode, msg)
	}
	if _, ok := srv.Hub().Latest("alerts.body"); ok || len(srv.Hub().Topics()) != 0 {
		t.Errorf("the oversize publish published something: %v", srv.Hub().Topics())
	}
	small := `{"event": "ok"}`
	if resp, err := http.Post(base+"/publish/alerts.body", "application/json", strings.NewReader(small)); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("small publish: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/topics", nil)
	req.Header.Set("X-Big", strings.Repeat("h", 8<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("8 KiB header: %d, want 431", resp.StatusCode)
		}
	}

	// An HTTP stream: its POSTs are limited; its download outlives the
	// read timeout (the client answers pings: it is not idle).
	cl := client.New(client.Options{URLs: []string{base + "/stream"}, Topics: []string{"S"}, Transport: client.TransportHTTP, TelemetryEvery: -1, MinBackoff: time.Hour,
		Logger: srv.log})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = cl.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	go func() {
		for range cl.Events() {
		}
	}()
	var id string
	waitFor(t, 10*time.Second, "the HTTP stream client", func() bool {
		cs := srv.Conns()
		if len(cs) == 1 && cs[0].Transport == "http" && cs[0].Subscriptions == 1 {
			id = cs[0].ID
			return true
		}
		return false
	})
	var streamID string
	srv.streams.Range(func(k, _ any) bool { streamID = k.(string); return false })
	resp, err = http.Post(base+"/stream/"+streamID, StreamContentType, bytes.NewReader(make([]byte, 4096)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize stream post: %d, want 413", resp.StatusCode)
	}
	time.Sleep(2 * time.Second) // well past HTTPReadTimeout
	if cs := srv.Conns(); len(cs) != 1 || cs[0].ID != id {
		t.Errorf("the HTTP stream did not outlive the read timeout: clients %+v, want %s", cs, id)
	}

	// A publish whose body is dribbled: cut at the read timeout, nothing published.
	tc, err := net.Dial("tcp", wsURLHost(url))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	start := time.Now()
	fmt.Fprintf(tc, "POST /publish/alerts.slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"event\": ")
	readDone := make(chan error, 1)
	go func() {
		_ = tc.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.ReadAll(bufio.NewReader(tc))
		readDone <- err
	}()
	var ended error
dribble:
	for i := 0; i < 100; i++ {
		select {
		case ended = <-readDone:
			break dribble
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := tc.Write([]byte(" ")); err != nil {
			ended = <-readDone
			break
		}
	}
	var ne net.Error
	if took := time.Since(start); took > 8*time.Second || (errors.As(ended, &ne) && ne.Timeout()) {
		t.Errorf("dribbled body: connection still open after %s (%v)", took, ended)
	}
	if _, ok := srv.Hub().Latest("alerts.slow"); ok {
		t.Error("the dribbled publish was published")
	}
	for _, ti := range srv.Hub().Topics() {
		if ti.Name == "alerts.slow" {
			t.Errorf("the dribbled publish was published: %+v", ti)
		}
	}
}

// TestGracefulShutdown: when Serve's context ends, /readyz says 503 at once,
// each client gets what was queued for it, then Error 2005 and a close 1001
// (going away); a client that does not read is cut after the drain timeout;
// Serve returns once they are gone.
func TestGracefulShutdown(t *testing.T) {
	// Small send buffers, so the client that does not read is stuck soon.
	// A long idle timeout: the stuck client, which answers no ping, must
	// still be connected when the shutdown starts, however slow the machine
	// (and its blocked writes must not time out first either).
	cfg := Config{DrainTimeout: 1500 * time.Millisecond, SocketSendBuffer: 8192, IdleTimeout: time.Minute, WriteTimeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	var readers []*client.Conn
	for range 3 {
		c := dial(t, url)
		if err := c.Send(&protocol.Subscribe{Topics: []string{"Q", "alerts.sd"}}); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, c)
	}
	// A client that never reads. What the server must write to it before its
	// final frame (the latest value of each of stuckTopics quote topics with
	// long names, ~230 B each, far more than its socket buffers take) can
	// never fit, so its drain blocks until the timeout whenever the shutdown
	// starts: sequenced events are not enough, since a closing writer leaves
	// them to the journal and its final frame may fit beside them.
	const stuckTopics = 1000
	stuck := dialSmallReadBuffer(t, url)
	if err := stuck.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version},
		&protocol.Subscribe{Topics: []string{"alerts.sd"}})); err != nil {
		t.Fatal(err)
	}
	var full protocol.Quote
	for f := protocol.Field(0); f < protocol.NumFields; f++ {
		full.Put(f, 1.0/3)
	}
	stuckTopic := func(i int) string { return fmt.Sprintf("%0*d", protocol.MaxTopicLen, i) }
	for from := 0; from < stuckTopics; from += 250 { // under the inbound message limit
		var sub protocol.Subscribe
		for i := from; i < from+250; i++ {
			sub.Topics = append(sub.Topics, stuckTopic(i))
			srv.Hub().Publish(stuckTopic(i), &full, time.Now().UnixNano(), 0)
		}
		if err := stuck.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &sub)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		n := 0
		for _, cs := range srv.Conns() {
			n += cs.Subscriptions
		}
		return n == 3*2+1+stuckTopics
	})
	for i := range 2000 {
		if _, _, err := srv.Hub().PublishEvent("alerts.sd", bytes.Repeat([]byte{'e'}, 1000), 0); err != nil {
			t.Fatal(err)
		}
		if i == 1999 {
			var q protocol.Quote
			q.Put(protocol.Bid, 42)
			srv.Hub().Publish("Q", &q, time.Now().UnixNano(), 0)
		}
	}

	start := time.Now()
	cancel()
	waitFor(t, 5*time.Second, "/readyz 503", func() bool {
		// The listener is closing: ask the handler itself.
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/readyz", nil))
		return rec.Code == http.StatusServiceUnavailable
	})
	var wg sync.WaitGroup
	for i, c := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last float64
			var final *protocol.Error
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			var err error
			for err == nil {
				err = c.Read(func(f protocol.Frame) error {
					switch f := f.(type) {
					case *protocol.Price:
						if final != nil {
							t.Errorf("client %d: a price after the final frame", i)
						}
						last, _ = f.Quote.Get(protocol.Bid)
					case *protocol.Error:
						final = f
					}
					return nil
				})
			}
			if last != 42 {
				t.Errorf("client %d: last bid %v, want the queued 42", i, last)
			}
			if final == nil || final.Code != protocol.CodeShutdown {
				t.Errorf("client %d: final frame %v, want 2005", i, final)
			}
			if closeCode(err) != websocket.CloseGoingAway {
				t.Errorf("client %d: ended with %v, want close 1001", i, err)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(cfg.DrainTimeout + requestTimeout + 10*time.Second):
		t.Fatal("Serve did not return")
	}
	took := time.Since(start)
	if took < cfg.DrainTimeout-100*time.Millisecond {
		t.Errorf("Serve returned after %s: it did not wait for the stuck client's drain timeout", took)
	}
	if n := srv.Stats().Connections; n != 0 {
		t.Errorf("%d connections left after Serve returned", n)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}
