package feedserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/recovery"
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
	return parseMetrics(t, resp.Body)
}

// parseMetrics reads the Prometheus text format: each series with its value.
func parseMetrics(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	out := make(map[string]float64)
	sc := bufio.NewScanner(r)
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
		metricTopicPaused + `{topic="EURUSD"}`, metricTopicSubscribers + `{topic="EURUSD"}`, "go_goroutines",
		metricNodeState + `{state="active"}`, metricNodeState + `{state="booting"}`, metricJournalDurable} {
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
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/readyz", nil))
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

// TestMetricsNodeState: booting before Serve, active while serving, stopping
// once shutdown has begun; one state at 1, every other at 0.
func TestMetricsNodeState(t *testing.T) {
	srv := New(Config{Logger: quiet()})
	h := srv.Handler()
	states := func(m map[string]float64) (on []string) {
		t.Helper()
		for _, st := range NodeStates() {
			v, ok := m[metricNodeState+`{state="`+st.String()+`"}`]
			if !ok {
				t.Fatalf("no series for state %s", st)
			}
			if v == 1 {
				on = append(on, st.String())
			}
		}
		return on
	}
	local := func() map[string]float64 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/metrics", nil))
		return parseMetrics(t, rec.Body)
	}
	if on := states(local()); len(on) != 1 || on[0] != "booting" {
		t.Fatalf("before Serve: %v", on)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	waitFor(t, 10*time.Second, "serving", func() bool { return srv.NodeState() == NodeActive })
	url := "ws://" + ln.Addr().String() + "/ws"
	if on := states(scrape(t, baseURL(url))); len(on) != 1 || on[0] != "active" {
		t.Fatalf("serving: %v", on)
	}
	c := dial(t, url)
	waitFor(t, 5*time.Second, "connection", func() bool { return srv.Stats().Connections == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := local()
	if on := states(m); len(on) != 1 || on[0] != "stopping" {
		t.Fatalf("after shutdown: %v", on)
	}
	// The client got the final frame of the shutdown, counted under its code.
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		e, ok := f.(*protocol.Error)
		return ok && e.Code == protocol.CodeShutdown
	})
	if got := m[metricErrorsSent+`{code="`+strconv.Itoa(int(protocol.CodeShutdown))+`"}`]; got != 1 {
		t.Fatalf("shutdown Error frames counted: %v, want 1", got)
	}

	// A state set by an HA driver before Serve is kept.
	srv2 := New(Config{Logger: quiet()})
	srv2.SetNodeState(NodeStandby)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- srv2.Serve(ctx2, ln2) }()
	t.Cleanup(func() { cancel2(); <-done2 })
	if on := states(scrape(t, "http://"+ln2.Addr().String())); len(on) != 1 || on[0] != "standby" {
		t.Fatalf("standby node serving: %v", on)
	}
}

// TestMetricsErrorsSent: refused frames and a refused connection each count
// under their code (TestMetricsNodeState counts a shutdown's final frame).
func TestMetricsErrorsSent(t *testing.T) {
	srv, url := startServer(t, Config{MaxConnections: 1})
	base := baseURL(url)
	series := func(code protocol.ErrorCode) string {
		return metricErrorsSent + `{code="` + strconv.Itoa(int(code)) + `"}`
	}
	if m := scrape(t, base); m[series(protocol.CodeBadTopic)] != 0 {
		t.Fatalf("before: %v", m[series(protocol.CodeBadTopic)])
	}
	c := dial(t, url)
	for range 2 {
		if err := c.Send(&protocol.Subscribe{Topics: []string{"bad topic!"}}); err != nil {
			t.Fatal(err)
		}
		readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
			e, ok := f.(*protocol.Error)
			return ok && e.Code == protocol.CodeBadTopic
		})
	}
	if got := scrape(t, base)[series(protocol.CodeBadTopic)]; got != 2 {
		t.Fatalf("%s = %v after two refused subscribes, want 2", series(protocol.CodeBadTopic), got)
	}
	// A second connection is over the limit: refused with CodeServerFull.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c2, err := client.Dial(ctx, url, protocol.Hello{Client: "second"}); err == nil {
		_ = c2.Close()
		t.Fatal("second connection accepted over MaxConnections 1")
	}
	waitFor(t, 5*time.Second, "refusal counted", func() bool { return scrape(t, base)[series(protocol.CodeServerFull)] == 1 })
	if srv.Stats().Connections != 1 {
		t.Fatalf("connections %d", srv.Stats().Connections)
	}
}

// TestMetricsConflationRatio: with a flush interval holding the writer back,
// values published meanwhile conflate; conflated/enqueued (the documented
// ratio) is between 0 and 1 and high here.
func TestMetricsConflationRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("counts writes over seconds: slow; make test runs it")
	}
	srv, url := startServer(t, Config{FlushInterval: time.Second})
	base := baseURL(url)
	var q protocol.Quote
	q.Put(protocol.Bid, 1)
	if err := srv.Hub().Publish("EURUSD", &q, 1, 0); err != nil {
		t.Fatal(err)
	}
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"EURUSD"}}); err != nil {
		t.Fatal(err)
	}
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool { _, ok := f.(*protocol.Price); return ok })
	before := scrape(t, base)
	const n = 50
	for i := range n {
		q.Put(protocol.Bid, 1+float64(i+1)/1000)
		if err := srv.Hub().Publish("EURUSD", &q, int64(2+i), 0); err != nil {
			t.Fatal(err)
		}
	}
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		return ok && p.Seq == n+1
	})
	after := scrape(t, base)
	conflated := after[metricConflated] - before[metricConflated]
	enqueued := after[metricEnqueued] - before[metricEnqueued]
	if enqueued != n {
		t.Fatalf("enqueued moved by %v, want %d", enqueued, n)
	}
	// At most two writes in the second the values arrived within.
	if ratio := conflated / enqueued; ratio < 0.9 || ratio > 1 {
		t.Fatalf("conflated %v of %v enqueued: ratio %v, want most", conflated, enqueued, ratio)
	}
}

// TestMetricsJournalLag: with an on-disk journal, an event appended but not
// yet fsynced shows as unsynced with an age; after an fsync the lag is 0. The
// in-memory journal reports itself not durable and no lag.
func TestMetricsJournalLag(t *testing.T) {
	_, memURL := startServer(t, Config{})
	m := scrape(t, baseURL(memURL))
	if v, ok := m[metricJournalDurable]; !ok || v != 0 {
		t.Fatalf("memory journal: durable %v (present %v)", v, ok)
	}
	if _, ok := m[metricJournalLag]; ok {
		t.Fatal("memory journal has a lag series")
	}

	j, err := recovery.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{Sync: recovery.SyncInterval, SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv, url := startServer(t, Config{Journal: j})
	t.Cleanup(func() { _ = j.Close() }) // after the server (cleanups run last first)
	base := baseURL(url)
	m = scrape(t, base)
	for _, name := range []string{metricJournalDurable, metricJournalCommits, metricJournalRecords, metricJournalPending,
		metricJournalUnsynced, metricJournalLag, metricJournalCommitDur} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if m[metricJournalDurable] != 1 || m[metricJournalLag] != 0 || m[metricJournalUnsynced] != 0 {
		t.Fatalf("idle journal: durable %v lag %v unsynced %v", m[metricJournalDurable], m[metricJournalLag], m[metricJournalUnsynced])
	}
	for i := range 3 {
		if _, _, err := srv.Hub().PublishEvent("orders.A", []byte(`{"n":`+strconv.Itoa(i)+`}`), 0); err != nil {
			t.Fatal(err)
		}
	}
	m = scrape(t, base)
	if m[metricJournalUnsynced] != 3 || m[metricJournalLag] <= 0 || m[metricJournalRecords] != 3 || m[metricJournalCommits] < 1 || m[metricJournalCommitDur] <= 0 {
		t.Fatalf("after 3 events: unsynced %v lag %v records %v commits %v last commit %v", m[metricJournalUnsynced],
			m[metricJournalLag], m[metricJournalRecords], m[metricJournalCommits], m[metricJournalCommitDur])
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	m = scrape(t, base)
	if m[metricJournalUnsynced] != 0 || m[metricJournalLag] != 0 || m[metricJournalPending] != 0 {
		t.Fatalf("after fsync: unsynced %v lag %v pending %v", m[metricJournalUnsynced], m[metricJournalLag], m[metricJournalPending])
	}
}
