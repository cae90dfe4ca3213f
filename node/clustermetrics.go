package node

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tickwire/ha"
)

// raftCollector exports a cluster node's raft numbers at /metrics, read
// from Node.Stats at scrape time (docs/operations.md, docs/HA.md); the node
// state itself is feedserver's tickwire_node_state:
//
//	tickwire_raft_leader                         1 on the raft leader (the Active)
//	tickwire_raft_term                           current term
//	tickwire_raft_commit_index                   highest index known committed
//	tickwire_raft_applied_index                  last index applied to the journal
//	tickwire_raft_last_log_index                 last index in this node's log
//	tickwire_raft_caught_up                      1 while applied up to the leader's commit
//	tickwire_raft_last_contact_seconds           a follower's time since the leader was heard
//	tickwire_raft_follower_lag_entries{follower} (leader) entries a follower's log is behind
//	tickwire_raft_follower_last_reply_seconds{follower} (leader) since its last reply
type raftCollector struct {
	n                                                      *ha.Node
	leader, term, commit, applied, last, caughtUp, contact *prometheus.Desc
	lag, lastReply                                         *prometheus.Desc
}

func newRaftCollector(n *ha.Node) *raftCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &raftCollector{
		n:         n,
		leader:    d("tickwire_raft_leader", "1 on the raft leader (the Active node), 0 elsewhere."),
		term:      d("tickwire_raft_term", "Current raft term."),
		commit:    d("tickwire_raft_commit_index", "Highest raft log index known committed."),
		applied:   d("tickwire_raft_applied_index", "Last raft log index applied to this node's journal."),
		last:      d("tickwire_raft_last_log_index", "Last index in this node's raft log."),
		caughtUp:  d("tickwire_raft_caught_up", "1 while this node has applied everything up to the leader's commit index."),
		contact:   d("tickwire_raft_last_contact_seconds", "Seconds since this follower last heard from the leader (0 on the leader)."),
		lag:       d("tickwire_raft_follower_lag_entries", "On the leader: raft log entries a follower is behind.", "follower"),
		lastReply: d("tickwire_raft_follower_last_reply_seconds", "On the leader: seconds since a follower last replied.", "follower"),
	}
}

// Describe implements prometheus.Collector.
func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.leader, c.term, c.commit, c.applied, c.last, c.caughtUp, c.contact, c.lag, c.lastReply} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.Stats()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.leader, b2f(st.Role == ha.RoleLeader))
	g(c.term, float64(st.Term))
	g(c.commit, float64(st.CommitIndex))
	g(c.applied, float64(st.AppliedIndex))
	g(c.last, float64(st.LastLogIndex))
	g(c.caughtUp, b2f(st.CaughtUp))
	contact := 0.0
	if !st.LastContact.IsZero() {
		contact = time.Since(st.LastContact).Seconds()
	}
	g(c.contact, contact)
	for _, f := range st.Followers {
		g(c.lag, float64(f.Lag), f.ID)
		reply := -1.0 // never replied since this node became leader
		if !f.LastReply.IsZero() {
			reply = time.Since(f.LastReply).Seconds()
		}
		g(c.lastReply, reply, f.ID)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
