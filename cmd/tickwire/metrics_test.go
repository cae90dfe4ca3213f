package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"tickwire/fix"
)

// gatherFIX returns the FIX collector's series by "name session" (and by name
// alone for tickwire_fix_sessions).
func gatherFIX(t *testing.T, src fixSessions) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newFIXCollector(src))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "session" {
					key += " " + l.GetValue()
				}
			}
			out[key] = gaugeValue(m)
		}
	}
	return out
}

func gaugeValue(m *dto.Metric) float64 { return m.GetGauge().GetValue() }

// TestMetricsFIXSessions runs a real gateway (startFIX, as `tickwire server
// --fix-config` does) and a FIX client sending orders, then reads the
// collector: the session's sequence numbers moved past the logon.
func TestMetricsFIXSessions(t *testing.T) {
	dir := t.TempDir()
	gw := startTestGateway(t, dir, "TWMET", "CLMET")
	const session = "FIX.4.4:TWMET->CLMET"
	m := gatherFIX(t, gw)
	if m["tickwire_fix_sessions"] != 1 || m["tickwire_fix_session_logged_on "+session] != 0 {
		t.Fatalf("before logon: %v", m)
	}
	startSender := m["tickwire_fix_next_sender_seq "+session]

	var out, errb bytes.Buffer
	args := []string{"--addr", gw.Addr(), "--sender", "CLMET", "--target", "TWMET", "--store", filepath.Join(dir, "client"),
		"--orders", "3", "--rate", "0", "--qty", "100", "--price", "1.2", "--settle", "200ms", "--timeout", "30s"}
	if err := runFixClient(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("fixclient: %v\n%s\n%s", err, out.String(), errb.String())
	}
	m = gatherFIX(t, gw)
	// Logon, 3 orders' reports (at least one each), logout: well past 4.
	if s := m["tickwire_fix_next_sender_seq "+session]; s < startSender+4 {
		t.Errorf("next sender seq %v, want >= %v: %v", s, startSender+4, m)
	}
	if s := m["tickwire_fix_next_target_seq "+session]; s < 5 {
		t.Errorf("next target seq %v, want >= 5 (logon, 3 orders, logout): %v", s, m)
	}
}

type fakeSessions []fix.SessionInfo

func (f fakeSessions) Sessions() []fix.SessionInfo { return f }

// TestMetricsFIXCollector: logged-on state and labels, against a fake source.
func TestMetricsFIXCollector(t *testing.T) {
	m := gatherFIX(t, fakeSessions{
		{ID: "FIX.4.4:A->B", Sender: "A", Target: "B", LoggedOn: true, NextSenderSeq: 7, NextTargetSeq: 9},
		{ID: "FIX.4.4:A->C", Sender: "A", Target: "C", NextSenderSeq: 1, NextTargetSeq: 1},
	})
	want := map[string]float64{
		"tickwire_fix_sessions": 2, "tickwire_fix_session_logged_on FIX.4.4:A->B": 1, "tickwire_fix_session_logged_on FIX.4.4:A->C": 0,
		"tickwire_fix_next_sender_seq FIX.4.4:A->B": 7, "tickwire_fix_next_target_seq FIX.4.4:A->B": 9,
		"tickwire_fix_next_sender_seq FIX.4.4:A->C": 1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
}
