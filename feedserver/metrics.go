package feedserver

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tickwire/auth"
	"tickwire/orderwire"
	"tickwire/recovery"
)

// MaxTopicMetrics bounds the per-topic series of /metrics: only the first
// MaxTopicMetrics topics by name get tickwire_topic_* series, so a source
// inventing topic names cannot grow a scrape without limit. Order topics
// (orders.ACCOUNT) and request topics get none: their names are accounts.
// tickwire_topics counts them all.
const MaxTopicMetrics = 1000

// Metric names served at GET /metrics (docs/operations.md). Nothing is
// counted on the hot path for them: a scrape reads the counters the server
// keeps anyway (Stats, Clients, Topics).
const (
	metricConnections      = "tickwire_connections"
	metricTopics           = "tickwire_topics"
	metricPublished        = "tickwire_published_total"
	metricEnqueued         = "tickwire_enqueued_total"
	metricDroppedPaused    = "tickwire_dropped_paused_total"
	metricSentFrames       = "tickwire_sent_frames_total"
	metricSentBytes        = "tickwire_sent_bytes_total"
	metricConflated        = "tickwire_conflated_total"
	metricQueuePending     = "tickwire_queue_pending"
	metricQueuePendingMax  = "tickwire_queue_pending_max"
	metricQueueControl     = "tickwire_queue_control_bytes"
	metricQueueControlMax  = "tickwire_queue_control_bytes_max"
	metricTopicSeq         = "tickwire_topic_seq_total"
	metricTopicStale       = "tickwire_topic_stale"
	metricTopicPaused      = "tickwire_topic_paused"
	metricTopicSubscribers = "tickwire_topic_subscribers"
	metricNodeState        = "tickwire_node_state"
	metricErrorsSent       = "tickwire_errors_sent_total"
	metricJournalDurable   = "tickwire_journal_durable"
	metricJournalCommits   = "tickwire_journal_commits_total"
	metricJournalRecords   = "tickwire_journal_records_total"
	metricJournalPending   = "tickwire_journal_pending_records"
	metricJournalUnsynced  = "tickwire_journal_unsynced_records"
	metricJournalLag       = "tickwire_journal_lag_seconds"
	metricJournalCommitDur = "tickwire_journal_last_commit_seconds"
)

// journalStats is implemented by journals that report their lag
// (*recovery.BoltJournal); the in-memory one is never durable.
type journalStats interface {
	Stats() recovery.BoltStats
}

// serverCollector is the server's prometheus.Collector. It holds no state of
// its own: Collect reads the server.
type serverCollector struct {
	s *Server

	connections, topics                                *prometheus.Desc
	published, enqueued, dropped, frames, bytes        *prometheus.Desc
	conflated                                          *prometheus.Desc
	pending, pendingMax, control, controlMax           *prometheus.Desc
	topicSeq, topicStale, topicPaused, topicSubcribers *prometheus.Desc
	nodeState, errorsSent                              *prometheus.Desc
	jDurable, jCommits, jRecords, jPending, jUnsynced  *prometheus.Desc
	jLag, jCommitDur                                   *prometheus.Desc
}

func newServerCollector(s *Server) *serverCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &serverCollector{
		s:               s,
		connections:     d(metricConnections, "Connected clients (WebSocket and HTTP streaming)."),
		topics:          d(metricTopics, "Topics known to the hub."),
		published:       d(metricPublished, "Versions and events published into the hub."),
		enqueued:        d(metricEnqueued, "Offers to client queues."),
		dropped:         d(metricDroppedPaused, "Source publishes dropped because their topic was paused."),
		frames:          d(metricSentFrames, "Frames written to clients."),
		bytes:           d(metricSentBytes, "Bytes written to clients."),
		conflated:       d(metricConflated, "Values replaced or merged in client queues before they were written (connected clients plus those gone)."),
		pending:         d(metricQueuePending, "Subscriptions with something waiting for the writer, summed over clients."),
		pendingMax:      d(metricQueuePendingMax, "Largest number of pending subscriptions of one client."),
		control:         d(metricQueueControl, "Control frame bytes waiting for the writer, summed over clients."),
		controlMax:      d(metricQueueControlMax, "Largest control frame backlog of one client, in bytes."),
		topicSeq:        d(metricTopicSeq, "Topic's sequence number (latest version or event); only the first 1000 topics by name.", "topic"),
		topicStale:      d(metricTopicStale, "1 when the topic's source went quiet (marked stale); only the first 1000 topics by name.", "topic"),
		topicPaused:     d(metricTopicPaused, "1 when the topic's source publishes are paused; only the first 1000 topics by name.", "topic"),
		topicSubcribers: d(metricTopicSubscribers, "Clients subscribed to the topic; only the first 1000 topics by name.", "topic"),
		nodeState:       d(metricNodeState, "1 for the node's current state (booting, active, stopping; HA: syncing, standby, switching), 0 for the others.", "state"),
		errorsSent:      d(metricErrorsSent, "Error frames sent to clients (refusals, and the final frame of a close), by protocol error code.", "code"),
		jDurable:        d(metricJournalDurable, "1 when sequenced topics are journaled on disk (--data), 0 when in memory."),
		jCommits:        d(metricJournalCommits, "Group commits of the on-disk journal."),
		jRecords:        d(metricJournalRecords, "Events appended to the on-disk journal."),
		jPending:        d(metricJournalPending, "Events handed to the journal and not yet committed."),
		jUnsynced:       d(metricJournalUnsynced, "Events committed to the journal but not yet fsynced (--sync interval or none)."),
		jLag:            d(metricJournalLag, "Age of the oldest journal event not yet durable (pending or unsynced); 0 when all are."),
		jCommitDur:      d(metricJournalCommitDur, "Duration of the journal's last group commit, fsync included under --sync always."),
	}
}

// Describe implements prometheus.Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connections, c.topics, c.published, c.enqueued, c.dropped, c.frames, c.bytes,
		c.conflated, c.pending, c.pendingMax, c.control, c.controlMax, c.topicSeq, c.topicStale, c.topicPaused, c.topicSubcribers,
		c.nodeState, c.errorsSent, c.jDurable, c.jCommits, c.jRecords, c.jPending, c.jUnsynced, c.jLag, c.jCommitDur} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.Lock()
	cs := make([]*Conn, 0, len(s.conns))
	for cl := range s.conns {
		cs = append(cs, cl)
	}
	conflated := s.conflatedGone
	s.mu.Unlock()
	var pending, pendingMax, control, controlMax int
	for _, cl := range cs {
		qs := cl.queue.stats()
		conflated += qs.conflated
		pending += qs.pending
		pendingMax = max(pendingMax, qs.pending)
		control += qs.controlBytes
		controlMax = max(controlMax, qs.controlBytes)
	}
	hs := s.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.connections, float64(len(cs)))
	gauge(c.topics, float64(hs.Topics))
	counter(c.published, hs.Published)
	counter(c.enqueued, hs.Enqueued)
	counter(c.dropped, hs.Dropped)
	counter(c.frames, s.sentFrames.Load())
	counter(c.bytes, s.sentBytes.Load())
	counter(c.conflated, conflated)
	gauge(c.pending, float64(pending))
	gauge(c.pendingMax, float64(pendingMax))
	gauge(c.control, float64(control))
	gauge(c.controlMax, float64(controlMax))
	n := 0
	for _, t := range s.hub.Topics() { // sorted by name
		if n == MaxTopicMetrics {
			break
		}
		if strings.HasPrefix(t.Name, orderwire.AccountTopicPrefix) || strings.HasPrefix(t.Name, auth.RequestTopicPrefix) {
			continue // order topics name accounts: not for a scrape's labels
		}
		n++
		counter(c.topicSeq, t.Seq, t.Name)
		gauge(c.topicStale, b2f(t.Stale), t.Name)
		gauge(c.topicPaused, b2f(t.Paused), t.Name)
		gauge(c.topicSubcribers, float64(t.Subscribers), t.Name)
	}
	state := s.NodeState()
	for _, st := range NodeStates() {
		gauge(c.nodeState, b2f(st == state), st.String())
	}
	for code, n := range s.errSent.snapshot() {
		counter(c.errorsSent, n, strconv.Itoa(int(code)))
	}
	c.collectJournal(gauge, counter)
}

// collectJournal exports the journal's counters and lag, if it has any.
func (c *serverCollector) collectJournal(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	js, ok := c.s.hub.journal.(journalStats)
	if !ok || c.s.hub.ownJournal {
		gauge(c.jDurable, 0)
		return
	}
	st := js.Stats()
	gauge(c.jDurable, 1)
	counter(c.jCommits, st.Commits)
	counter(c.jRecords, st.Records)
	gauge(c.jPending, float64(st.Pending))
	gauge(c.jUnsynced, float64(st.Unsynced))
	lag := 0.0
	if !st.OldestNotDurable.IsZero() {
		lag = max(time.Since(st.OldestNotDurable).Seconds(), 0)
	}
	gauge(c.jLag, lag)
	gauge(c.jCommitDur, st.LastCommit.Seconds())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newRegistry returns the server's own registry (never the global one): the
// server's collector and the Go runtime's.
func newRegistry(s *Server) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(newServerCollector(s), collectors.NewGoCollector())
	return r
}

// Registry returns the registry served at GET /metrics, where callers
// register more collectors (the FIX gateway's, for one).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

// serveReady answers GET /readyz: 200 while Serve is serving, the server
// is not shutting down and the node is ready for its role (Active, or in a
// cluster Standby: in sync, serving its edge), 503 with the reason
// otherwise. The body names the state: "ready: standby".
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	st := s.NodeState()
	switch {
	case s.isClosing():
		http.Error(w, "not ready: shutting down", http.StatusServiceUnavailable)
	case !s.serving.Load():
		http.Error(w, "not ready: not serving", http.StatusServiceUnavailable)
	case st != NodeActive && st != NodeStandby:
		http.Error(w, "not ready: node "+st.String(), http.StatusServiceUnavailable)
	default:
		_, _ = w.Write([]byte("ready: " + st.String() + "\n"))
	}
}
