package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"tickwire/fix"
	"tickwire/orderfeed"
)

// gatherFIX returns the FIX collector's series by "name session" (and by name
// alone for tickwire_fix_sessions).
func gatherFIX(t *testing.T, src orderfeed.Sessions) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(orderfeed.NewCollector(src))
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

// scrapeServer GETs http://addr/metrics and returns each series with its value.
func scrapeServer(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
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

// TestMetricsServerProcess: real `tickwire server --data DIR` processes,
// configured through a config file. They report themselves active with an
// on-disk journal; order events published over HTTP move the journal's
// counters. With --sync none nothing is fsynced before exit: the lag appears
// and stays; with --sync interval the periodic fsync brings it back to 0.
func TestMetricsServerProcess(t *testing.T) {
	bin := buildBinary(t)
	for _, sync := range []string{"none", "interval"} {
		t.Run(sync, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, "listen: 127.0.0.1:0\ndata: "+filepath.Join(dir, "data")+"\nsync: "+sync+"\nlog-level: warn\n")
			url := startConfiguredServer(t, bin, nil, "--config", cfg)
			addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
			m := scrapeServer(t, addr)
			if m[`tickwire_node_state{state="active"}`] != 1 || m[`tickwire_node_state{state="booting"}`] != 0 {
				t.Fatalf("node state: %v", m)
			}
			if m["tickwire_journal_durable"] != 1 || m["tickwire_journal_records_total"] != 0 || m["tickwire_journal_lag_seconds"] != 0 {
				t.Fatalf("journal before publishing: durable %v records %v lag %v", m["tickwire_journal_durable"],
					m["tickwire_journal_records_total"], m["tickwire_journal_lag_seconds"])
			}
			const n = 5
			for i := range n {
				resp, err := http.Post("http://"+addr+"/publish/orders.MET", "application/json", strings.NewReader(`{"event": "e`+strconv.Itoa(i)+`"}`))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("publish: HTTP %d %s", resp.StatusCode, body)
				}
			}
			m = scrapeServer(t, addr)
			if m["tickwire_journal_records_total"] != n || m["tickwire_journal_commits_total"] < 1 || m["tickwire_journal_last_commit_seconds"] <= 0 {
				t.Fatalf("after %d events: records %v commits %v last commit %v", n, m["tickwire_journal_records_total"],
					m["tickwire_journal_commits_total"], m["tickwire_journal_last_commit_seconds"])
			}
			if sync == "none" {
				if m["tickwire_journal_unsynced_records"] != n || m["tickwire_journal_lag_seconds"] <= 0 {
					t.Fatalf("--sync none: unsynced %v lag %v, want %d and > 0", m["tickwire_journal_unsynced_records"], m["tickwire_journal_lag_seconds"], n)
				}
				return
			}
			// Unsynced until the next periodic fsync (every 100ms), then 0.
			deadline := time.Now().Add(30 * time.Second)
			for m["tickwire_journal_unsynced_records"] != 0 || m["tickwire_journal_lag_seconds"] != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("journal lag not back to 0: unsynced %v lag %v", m["tickwire_journal_unsynced_records"], m["tickwire_journal_lag_seconds"])
				}
				time.Sleep(20 * time.Millisecond)
				m = scrapeServer(t, addr)
			}
		})
	}
}
