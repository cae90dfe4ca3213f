package orderfeed

import (
	"github.com/prometheus/client_golang/prometheus"

	"tickwire/fix"
)

// Sessions is what the FIX collector reads: *fix.Gateway.
type Sessions interface {
	Sessions() []fix.SessionInfo
}

// collector exports the FIX gateway's sessions at /metrics, read from
// gw.Sessions() at scrape time (docs/operations.md):
//
//	tickwire_fix_sessions                       configured sessions
//	tickwire_fix_session_logged_on{session,sender,target}  1 while logged on
//	tickwire_fix_next_sender_seq{session}       next outgoing MsgSeqNum
//	tickwire_fix_next_target_seq{session}       next expected incoming MsgSeqNum
//
// The sequence numbers are gauges: a session reset starts them at 1 again.
type collector struct {
	src                                        Sessions
	sessions, loggedOn, nextSender, nextTarget *prometheus.Desc
}

// NewCollector returns the prometheus.Collector of src's FIX sessions,
// for a server's registry (feedserver.Server.Registry).
func NewCollector(src Sessions) prometheus.Collector {
	return &collector{
		src:        src,
		sessions:   prometheus.NewDesc("tickwire_fix_sessions", "Configured FIX sessions.", nil, nil),
		loggedOn:   prometheus.NewDesc("tickwire_fix_session_logged_on", "1 while the FIX session is logged on.", []string{"session", "sender", "target"}, nil),
		nextSender: prometheus.NewDesc("tickwire_fix_next_sender_seq", "Next outgoing MsgSeqNum of the FIX session.", []string{"session"}, nil),
		nextTarget: prometheus.NewDesc("tickwire_fix_next_target_seq", "Next expected incoming MsgSeqNum of the FIX session.", []string{"session"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sessions
	ch <- c.loggedOn
	ch <- c.nextSender
	ch <- c.nextTarget
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ss := c.src.Sessions()
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(len(ss)))
	for _, s := range ss {
		on := 0.0
		if s.LoggedOn {
			on = 1
		}
		ch <- prometheus.MustNewConstMetric(c.loggedOn, prometheus.GaugeValue, on, s.ID, s.Sender, s.Target)
		ch <- prometheus.MustNewConstMetric(c.nextSender, prometheus.GaugeValue, float64(s.NextSenderSeq), s.ID)
		ch <- prometheus.MustNewConstMetric(c.nextTarget, prometheus.GaugeValue, float64(s.NextTargetSeq), s.ID)
	}
}
