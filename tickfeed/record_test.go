package tickfeed

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tickwire/feedserver"
	"tickwire/ticks"
)

const binanceFile = "../ticks/testdata/binance_head70.csv"

// waitSubscribed waits until some client of srv has n subscriptions.
func waitSubscribed(t *testing.T, srv *feedserver.Server, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, "a client's subscriptions", func() bool {
		for _, c := range srv.Conns() {
			if c.Subscriptions == n {
				return true
			}
		}
		return false
	})
}

// TestRecordCountsLostValues: the Binance excerpt has ticks 0 to 1 µs apart on
// one topic, which the server conflates for any subscriber. Replayed over a
// real WebSocket and recorded from the same server, whatever got conflated,
// written + lost accounts for every version the server published.
func TestRecordCountsLostValues(t *testing.T) {
	srv, wsu := startServer(t, feedserver.Config{})
	topics := []string{"BTCUSDT", "ETHUSDT", "BTCUSDT.trades", "ETHUSDT.trades"}
	path := filepath.Join(t.TempDir(), "rec.csv")
	out, err := ticks.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var last atomic.Pointer[RecordStats]
	last.Store(&RecordStats{})
	log := slog.New(slog.DiscardHandler)
	opt := RecordOptions{URL: wsu, Patterns: topics, Logger: log, OnTick: func(st RecordStats) { last.Store(&st) }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rctx, stop := context.WithCancel(ctx)
	type result struct {
		st  RecordStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Record(rctx, out, opt)
		done <- result{st, err}
	}()
	waitSubscribed(t, srv, len(topics))

	pub, err := DialPublisher(ctx, wsu, WSOptions{RecordedTime: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	files := &Files{Names: []string{binanceFile}}
	if _, err := Replay(ctx, files.Open, ticks.ReplayOptions{Speed: 1}, pub); err != nil {
		t.Fatalf("replay: %v", err)
	}
	var published uint64
	for _, tp := range srv.Hub().Topics() {
		published += tp.Seq
	}
	accounted := func(st *RecordStats) uint64 { return uint64(st.Written) + st.Lost + st.Before }
	deadline := time.Now().Add(10 * time.Second)
	for accounted(last.Load()) != published && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	st := res.st
	if accounted(&st) != published || st.Skipped != 0 || st.StaleMarks != 0 || !st.Connected {
		t.Fatalf("published %d versions; recorder accounts for %d: %+v", published, accounted(&st), st)
	}
	r, err := ticks.Open(path, ticks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := ticks.ReadAll(r)
	if err != nil || len(got) != st.Written {
		t.Errorf("file has %d ticks (%v), recorder says %d", len(got), err, st.Written)
	}
	t.Logf("published %d versions: %+v", published, st)
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:8080":     "ws://127.0.0.1:8080/ws",
		"ws://127.0.0.1:8080/":    "ws://127.0.0.1:8080/ws",
		"ws://127.0.0.1:8080/ws":  "ws://127.0.0.1:8080/ws",
		"wss://feed.example/x/ws": "wss://feed.example/x/ws",
	} {
		if got, err := ServerURL(in); err != nil || got != want {
			t.Errorf("ServerURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "http://x", "127.0.0.1:8080", "ws://", "ws:///ws"} {
		if _, err := ServerURL(bad); err == nil {
			t.Errorf("ServerURL(%q) accepted", bad)
		}
	}
}

func TestHTTPBase(t *testing.T) {
	for ws, want := range map[string]string{
		"ws://127.0.0.1:8080/ws": "http://127.0.0.1:8080",
		"wss://h/x/ws":           "https://h/x",
	} {
		if got := HTTPBase(ws); got != want {
			t.Errorf("HTTPBase(%q) = %q, want %q", ws, got, want)
		}
	}
}

// TestRecordFileNeverConnected: a recording that never reached its server
// fails after closing a valid, empty file and printing its summary; a file
// that cannot be created fails at once, with no summary.
func TestRecordFileNeverConnected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ln.Close() // nothing listens there now
	path := filepath.Join(t.TempDir(), "rec.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var summary strings.Builder
	opt := RecordOptions{URL: url, Patterns: []string{"EURUSD"}, Logger: slog.New(slog.DiscardHandler)}
	err = RecordFile(ctx, path, io.Discard, &summary, opt)
	if err == nil || err.Error() != "never connected to "+url {
		t.Errorf("got %v, want never connected", err)
	}
	if !strings.HasPrefix(summary.String(), "tickwire record: 0 ticks from 0 topics to "+path+";") {
		t.Errorf("summary %q", summary.String())
	}
	r, err := ticks.Open(path, ticks.Options{})
	if err != nil {
		t.Fatalf("the file is not a tick file: %v", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("the file has a tick (%v)", err)
	}
	r.Close()
	summary.Reset()
	if err := RecordFile(ctx, filepath.Join(path, "x.csv"), io.Discard, &summary, opt); err == nil || summary.Len() != 0 {
		t.Errorf("uncreatable file: %v, summary %q", err, summary.String())
	}
}

// TestRecordFileDuration: RecordOptions.Duration ends a recording whose ctx
// never ends.
func TestRecordFileDuration(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ln.Close() // nothing listens there now
	opt := RecordOptions{URL: url, Patterns: []string{"EURUSD"}, Duration: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() {
		done <- RecordFile(context.Background(), filepath.Join(t.TempDir(), "rec.csv"), io.Discard, io.Discard, opt)
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "never connected to "+url {
			t.Errorf("got %v, want never connected", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("--duration did not stop the recording")
	}
}
