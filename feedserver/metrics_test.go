package feedserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickwire/protocol"
)

// scrape GETs base/metrics and returns each series ("name" or
// `name{labels}`) with its value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func baseURL(wsURL string) string {
	return "http://" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/ws")
}

// TestMetricsMove: every documented metric is served, and after a publish
// and a subscribed client the counters have moved.
func TestMetricsMove(t *testing.T) {
	srv, url := startServer(t, Config{})
	base := baseURL(url)
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.2)
	if err := srv.Hub().Publish("EURUSD", &q, 1, 0); err != nil {
		t.Fatal(err)
	}
	before := scrape(t, base)
	for _, name := range []string{metricConnections, metricTopics, metricPublished, metricEnqueued, metricDroppedPaused,
		metricSentFrames, metricSentBytes, metricConflated, metricQueuePending, metricQueuePendingMax, metricQueueControl,
		metricQueueControlMax, metricTopicSeq + `{topic="EURUSD"}`, metricTopicStale + `{topic="EURUSD"}`,
		metricTopicPaused + `{topic="EURUSD"}`, metricTopicSubscribers + `{topic="EURUSD"}`, "go_goroutines"} {
		if _, ok := before[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	if before[metricConnections] != 0 || before[metricPublished] < 1 {
		t.Fatalf("first scrape: connections %v published %v", before[metricConnections], before[metricPublished])
	}

	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"EURUSD"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	for i := range 5 {
		q.Put(protocol.Bid, 1.1+float64(i)/1000)
		if err := srv.Hub().Publish("EURUSD", &q, int64(2+i), 0); err != nil {
			t.Fatal(err)
		}
	}
	srv.Hub().SetPaused("EURUSD", true)
	_ = srv.Hub().Publish("EURUSD", &q, 10, 0) // dropped: paused
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		return ok && p.Seq >= 6
	})
	waitFor(t, 5*time.Second, "frames counted", func() bool { return scrape(t, base)[metricSentFrames] > before[metricSentFrames] })
	after := scrape(t, base)
	for _, name := range []string{metricPublished, metricEnqueued, metricDroppedPaused, metricSentFrames, metricSentBytes, metricTopicSeq + `{topic="EURUSD"}`} {
		if after[name] <= before[name] {
			t.Errorf("%s did not move: %v then %v", name, before[name], after[name])
		}
	}
	if after[metricConnections] != 1 || after[metricTopicSubscribers+`{topic="EURUSD"}`] != 1 || after[metricTopicPaused+`{topic="EURUSD"}`] != 1 {
		t.Errorf("second scrape: connections %v subscribers %v paused %v", after[metricConnections],
			after[metricTopicSubscribers+`{topic="EURUSD"}`], after[metricTopicPaused+`{topic="EURUSD"}`])
	}
}

// TestMetricsTopicBound: per-topic series stop at MaxTopicMetrics topics.
func TestMetricsTopicBound(t *testing.T) {
	srv, url := startServer(t, Config{})
	var q protocol.Quote
	q.Put(protocol.Bid, 1)
	n := MaxTopicMetrics + 5
	for i := range n {
		if err := srv.Hub().Publish("T"+strconv.Itoa(10000+i), &q, 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	m := scrape(t, baseURL(url))
	series := 0
	for k := range m {
		if strings.HasPrefix(k, metricTopicSeq+"{") {
			series++
		}
	}
	if series != MaxTopicMetrics || m[metricTopics] != float64(n) {
		t.Fatalf("%d topic_seq series (want %d), tickwire_topics %v (want %d)", series, MaxTopicMetrics, m[metricTopics], n)
	}
	if _, ok := m[metricTopicSeq+`{topic="T`+strconv.Itoa(10000+n-1)+`"}`]; ok {
		t.Fatal("the last topic by name has a series")
	}
}

// TestReadyz: 503 before Serve, 200 while serving, 503 once shutdown has
// started. The last is checked on the server's handler after Serve returned:
// Serve closes its listener as it starts shutting down, so no request can
// reach it over the socket then; the closing flag /readyz reads is set
// before the listener closes and stays set.
func TestReadyz(t *testing.T) {
	srv := New(Config{Logger: quiet()})
	h := srv.Handler()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "not serving") {
		t.Fatalf("before Serve: %d %q", code, body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("serving: HTTP %d %q", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("after shutdown: %d %q", code, body)
	}
}
