package feedserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// shutdownRig runs a Server whose log it keeps, with cancel to begin its
// shutdown and served to wait for Serve's return.
type shutdownRig struct {
	base   string // http://host:port
	logs   *syncBuffer
	cancel context.CancelFunc
	served chan error
}

func startShutdownRig(t *testing.T, cfg Config) *shutdownRig {
	t.Helper()
	r := &shutdownRig{logs: &syncBuffer{}, served: make(chan error, 1)}
	cfg.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.base = "http://" + ln.Addr().String()
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(r.cancel)
	srv := New(cfg)
	go func() { r.served <- srv.Serve(ctx, ln) }()
	return r
}

// shutdown begins the shutdown and returns how long Serve took to return.
func (r *shutdownRig) shutdown(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(within):
		t.Fatalf("Serve did not return within %s of the shutdown", within)
	}
	return time.Since(start)
}

// get answers a GET on a connection of its own: once it is answered, every
// connection dialled before it has been accepted (the listener's queue is
// FIFO, Serve's accept loop one goroutine).
func (r *shutdownRig) get(t *testing.T, path string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
}

// TestShutdownClosesUnusedConnections: a connection accepted that has sent
// no request (an HTTP client's spare connection, a browser's preconnect)
// does not hold the shutdown. net/http's Shutdown alone takes one for idle
// only once it is over 5 s old, past this drain timeout: the shutdown then
// waited out its drain and reported HTTP requests still in flight.
func TestShutdownClosesUnusedConnections(t *testing.T) {
	const drain = 2 * time.Second
	// A header timeout longer than the drain, so that it cannot close the
	// unused connection first (the default, 5 s, would only sometimes).
	r := startShutdownRig(t, Config{DrainTimeout: drain, HandshakeTimeout: time.Minute})
	var unused []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		unused = append(unused, c)
	}
	r.get(t, "/healthz") // the unused ones are accepted, in StateNew

	took := r.shutdown(t, drain+requestTimeout+10*time.Second)
	logs := r.logs.String()
	if !strings.Contains(logs, "shutdown: HTTP requests finished") || strings.Contains(logs, "still in flight") {
		t.Fatalf("shutdown took %s and did not finish its HTTP requests; log:\n%s", took, logs)
	}
	if took >= drain {
		t.Errorf("shutdown took %s, the drain timeout (%s) or more", took, drain)
	}
	if !strings.Contains(logs, "closed HTTP connections that had sent no request") || !strings.Contains(logs, "connections=3") {
		t.Errorf("the closing of the unused connections is not logged:\n%s", logs)
	}
	for i, c := range unused {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("unused connection %d: read %d bytes, %v; want it closed by the server", i, n, err)
		}
	}
}

// TestShutdownReportsRequestsInFlight: when the drain timeout passes with a
// request still in its handler, the shutdown logs which one, on which
// connection, and for how long, then closes it.
func TestShutdownReportsRequestsInFlight(t *testing.T) {
	const drain = 500 * time.Millisecond
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	r := startShutdownRig(t, Config{DrainTimeout: drain, AdminRoutes: map[string]http.HandlerFunc{
		"POST /slow": func(w http.ResponseWriter, req *http.Request) {
			close(entered)
			<-release
		},
	}})
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Post(r.base+"/slow", "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached its handler")
	}

	r.shutdown(t, drain+requestTimeout+10*time.Second)
	logs := r.logs.String()
	for _, want := range []string{
		"shutdown: HTTP requests still in flight after the drain timeout; closed",
		"in_flight=1",
		"shutdown: HTTP connection still busy at the drain timeout",
		"state=active",
		`request="POST /slow"`,
		"running=",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the log:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "shutdown: HTTP requests finished") {
		t.Errorf("the shutdown claims its requests finished:\n%s", logs)
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Error("the request cut at the drain timeout was answered")
		}
	case <-time.After(10 * time.Second):
		t.Error("the request cut at the drain timeout is still waiting for its answer")
	}
}
