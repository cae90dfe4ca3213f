package feedserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tickwire/auth"
	"tickwire/protocol"
)

// Behaviour is a merge operation the server does not know, run for the
// topics of a rule: a WebAssembly module run in isolation (package
// behaviour, docs/behaviours.md) or any Go value with these methods. Merge
// folds src into dst (dst := merge(dst, src)); on error dst is unchanged.
// It must be safe for concurrent use: topics on different shards merge at
// the same time.
type Behaviour interface {
	Merge(dst, src *protocol.Quote) error
	Name() string
}

// BehaviourRule gives a topic rule's Fields to a Behaviour: on every
// publish the server merges the topic's value and the published one with
// the rule's built-in Ops, then runs the Behaviour on the value before the
// publish and takes from its result the fields in Fields (a VWAP, an
// open...). A topic with behaviours travels to clients already merged, as
// a replace topic: Snapshots carry ops 0, Updates the fields that changed.
type BehaviourRule struct {
	Fields    protocol.Mask
	Behaviour Behaviour
}

// FailureReason returns the label of a Behaviour's failure for logs, alerts
// and tickwire_behaviour_failures_total: the error's FailureReason() (trap,
// timeout, memory, bad_result...), else "error".
func FailureReason(err error) string {
	var r interface{ FailureReason() string }
	if errors.As(err, &r) {
		return r.FailureReason()
	}
	return "error"
}

// topicBehaviour is a behaviour bound to one topic. Guarded by the topic's
// shard lock.
type topicBehaviour struct {
	BehaviourRule
	off    bool   // disabled after a failure, until a reload
	reason string // why, while off
}

// behaviourFailure is one behaviour disabled for one topic, reported after
// the shard lock is released (a log line, the metric, an alert event).
type behaviourFailure struct {
	topic, behaviour, reason string
	err                      error
	alertErr                 error // the alert event could not be published
}

// bindBehaviours returns the behaviours of rule for a new topic, nil if none.
func bindBehaviours(rule TopicRule) []topicBehaviour {
	if len(rule.Behaviours) == 0 {
		return nil
	}
	tbs := make([]topicBehaviour, len(rule.Behaviours))
	for i, br := range rule.Behaviours {
		tbs[i].BehaviourRule = br
	}
	return tbs
}

// behaveLocked runs tp's behaviours for the publish of in onto prev (the
// value before it), and puts the fields each owns into tp.value, where the
// built-in Ops have merged in already. A behaviour that fails (an error, or a
// field that is not finite) is disabled for tp: its fields keep the
// built-in merge's result, which is plain replacement by what the source
// publishes. It returns FlagBehaviourOff if any of tp's behaviours is off,
// and appends the new failures to *fails. A stale mark (in empty, fails
// nil) runs none. Caller holds the shard lock.
func behaveLocked(tp *topic, prev, in *protocol.Quote, fails *[]behaviourFailure) protocol.Flags {
	var flags protocol.Flags
	for i := range tp.behaviours {
		tb := &tp.behaviours[i]
		if !tb.off && in.Set != 0 && fails != nil {
			out := *prev
			err := tb.Behaviour.Merge(&out, in)
			if err == nil {
				if f, bad := nonFinite(&out); bad && out.Set&tb.Fields&(1<<f) != 0 {
					err = badResult{fmt.Errorf("field %s is %v", f, out.V[f])}
				}
			}
			if err != nil {
				tb.off, tb.reason = true, FailureReason(err)
				*fails = append(*fails, behaviourFailure{topic: tp.name, behaviour: tb.Behaviour.Name(), reason: tb.reason, err: err})
			} else {
				for m := tb.Fields & out.Set; m != 0; m &= m - 1 {
					f := protocol.Field(bits.TrailingZeros16(uint16(m)))
					tp.value.Put(f, out.V[f])
				}
			}
		}
		if tb.off {
			flags = protocol.FlagBehaviourOff
		}
	}
	return flags
}

// badResult is a behaviour's result the server refuses.
type badResult struct{ err error }

func (e badResult) Error() string         { return "bad result: " + e.err.Error() }
func (e badResult) Unwrap() error         { return e.err }
func (e badResult) FailureReason() string { return "bad_result" }

// AlertsTopic is the sequenced topic where the server announces a
// behaviour disabled for a topic (BehaviourAlert, as JSON).
const AlertsTopic = "alerts"

// BehaviourAlert is the event published on AlertsTopic when a topic's
// behaviour fails and is disabled.
type BehaviourAlert struct {
	Kind      string `json:"kind"` // "behaviour_disabled"
	Topic     string `json:"topic"`
	Behaviour string `json:"behaviour"`
	Reason    string `json:"reason"`
	Error     string `json:"error"`
}

// behaviourStats counts behaviour failures by behaviour and reason for
// /metrics. Failures are rare (each disables a behaviour for a topic), so a
// map under a mutex is enough.
type behaviourStats struct {
	mu       sync.Mutex
	failures map[[2]string]uint64 // {behaviour, reason}
}

func (bs *behaviourStats) add(behaviour, reason string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.failures == nil {
		bs.failures = make(map[[2]string]uint64)
	}
	bs.failures[[2]string{behaviour, reason}]++
}

func (bs *behaviourStats) each(fn func(behaviour, reason string, n uint64)) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for k, n := range bs.failures {
		fn(k[0], k[1], n)
	}
}

// reportBehaviourFailures tells the operator (a log line, the metric) and
// the clients (an alert event) of behaviours just disabled. Never under a
// shard lock: the alert goes through the journal.
func (h *Hub) reportBehaviourFailures(fails []behaviourFailure) {
	for _, f := range fails {
		h.behaviourStats.add(f.behaviour, f.reason)
		data, _ := json.Marshal(BehaviourAlert{Kind: "behaviour_disabled", Topic: f.topic, Behaviour: f.behaviour, Reason: f.reason, Error: f.err.Error()})
		if len(data) > protocol.MaxEventData {
			data, _ = json.Marshal(BehaviourAlert{Kind: "behaviour_disabled", Topic: f.topic, Behaviour: f.behaviour, Reason: f.reason})
		}
		if h.Kind(AlertsTopic) == Sequenced {
			_, _, f.alertErr = h.PublishEvents(AlertsTopic, EventIn{Data: data})
		}
		if h.onBehaviourFailure != nil {
			h.onBehaviourFailure(f)
		}
	}
}

// enableBehaviours turns every disabled topic behaviour on again (after a
// reload): from the next publish each runs. It returns how many were off.
func (h *Hub) enableBehaviours() int {
	n := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			for j := range tp.behaviours {
				if tb := &tp.behaviours[j]; tb.off {
					tb.off, tb.reason = false, ""
					n++
				}
			}
		}
		s.mu.Unlock()
	}
	return n
}

// BehaviourState is one topic's behaviour as GET /behaviours lists it.
type BehaviourState struct {
	Topic     string   `json:"topic"`
	Behaviour string   `json:"behaviour"`
	Fields    []string `json:"fields"`
	Enabled   bool     `json:"enabled"`
	Reason    string   `json:"reason,omitempty"` // why disabled
}

// Behaviours lists the behaviours of every topic that has any, by topic.
func (h *Hub) Behaviours() []BehaviourState {
	var out []BehaviourState
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			for _, tb := range tp.behaviours {
				var fields []string
				for f := protocol.Field(0); f < protocol.NumFields; f++ {
					if tb.Fields.Has(f) {
						fields = append(fields, f.String())
					}
				}
				out = append(out, BehaviourState{Topic: tp.name, Behaviour: tb.Behaviour.Name(), Fields: fields, Enabled: !tb.off, Reason: tb.reason})
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Behaviour < out[j].Behaviour
	})
	return out
}

// ErrNoReload: the server was configured without Config.ReloadBehaviours.
var ErrNoReload = errors.New("behaviours cannot be reloaded: none configured")

// ReloadBehaviours reloads the behaviours' modules (Config.ReloadBehaviours,
// all or nothing) and, once that succeeded, enables every behaviour a
// failure had disabled for its topic: from each topic's next publish the
// new modules merge. Clients stay connected; nothing is published by the
// reload itself. SIGHUP and POST /behaviours/reload call it.
func (s *Server) ReloadBehaviours(ctx context.Context) error {
	if s.cfg.ReloadBehaviours == nil {
		return ErrNoReload
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	if err := s.cfg.ReloadBehaviours(ctx); err != nil {
		s.log.Error("behaviours: reload failed, the loaded ones stay", "err", err)
		return fmt.Errorf("reload behaviours: %w", err)
	}
	n := s.hub.enableBehaviours()
	s.log.Info("behaviours: reloaded", "reenabled", n, "took", time.Since(start))
	return nil
}

// serveBehaviours answers GET /behaviours: the behaviours of every topic
// the principal may subscribe to, and whether they run.
func (s *Server) serveBehaviours(w http.ResponseWriter, _ *http.Request, pr *auth.Principal) {
	out := []BehaviourState{}
	for _, b := range s.hub.Behaviours() {
		if pr.CanSubscribe(b.Topic) {
			out = append(out, b)
		}
	}
	writeJSON(w, out)
}

// serveBehavioursReload answers POST /behaviours/reload (admins):
// 200 {"reloaded": true} or the reason it failed, the old modules staying.
func (s *Server) serveBehavioursReload(w http.ResponseWriter, r *http.Request) {
	if err := s.ReloadBehaviours(r.Context()); err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, ErrNoReload) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	writeJSON(w, map[string]any{"reloaded": true})
}

// metricBehaviourFailures counts behaviours disabled for a topic.
const metricBehaviourFailures = "tickwire_behaviour_failures_total"

// behaviourCollector exports behaviourStats at /metrics. Its labels are
// bounded: behaviours come from the server's configuration, reasons from a
// fixed set.
type behaviourCollector struct {
	h        *Hub
	failures *prometheus.Desc
}

func newBehaviourCollector(h *Hub) *behaviourCollector {
	return &behaviourCollector{h: h, failures: prometheus.NewDesc(metricBehaviourFailures,
		"Behaviour failures (trap, timeout, memory, bad_result...), each of which disabled the behaviour for one topic until a reload.",
		[]string{"behaviour", "reason"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *behaviourCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.failures }

// Collect implements prometheus.Collector.
func (c *behaviourCollector) Collect(ch chan<- prometheus.Metric) {
	c.h.behaviourStats.each(func(behaviour, reason string, n uint64) {
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(n), behaviour, reason)
	})
}
