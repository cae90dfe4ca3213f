package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/feedserver"
	"tickwire/protocol"
	"tickwire/ticks"
)

func TestRecordHelp(t *testing.T) {
	var out, errb bytes.Buffer
	err := runRecord(context.Background(), []string{"--help"}, &out, &errb)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"Usage: tickwire record", "-server", "-topics", "-out", "-duration", "-count", "-poll",
		"path.Match", ".gz", "source time", "reproduces", "conflat", "aggressor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--topics", "*"}, // no --out
		{"--out", "x.csv", "--topics", "["},
		{"--out", "x.csv", "--topics", "bad topic"},
		{"--out", "x.csv", "--server", "127.0.0.1:8080"},
		{"--out", "x.csv", "--poll", "0s"},
		{"--out", "x.csv", "extra"},
	} {
		if err := runRecord(context.Background(), args, &out, &errb); !errors.As(err, new(usageError)) {
			t.Errorf("record %q: %v, want a usage error (exit 2)", args, err)
		}
	}
}

// TestRecordWildcardAndStale: a wildcard pattern picks up topics created
// after the recorder started (via GET /topics) and records from the value
// current at subscription; other topics and the server's stale marks are not
// written; --count stops it and the file is complete.
func TestRecordWildcardAndStale(t *testing.T) {
	srv, wsu := rrServer(t, feedserver.Config{StaleAfter: 50 * time.Millisecond})
	hub := srv.Hub()
	out := filepath.Join(t.TempDir(), "rec.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var recOut, recErr rrBuffer
	done := make(chan error, 1)
	go func() {
		done <- runRecord(ctx, []string{"--server", wsu, "--topics", "AA*, *.trades", "--poll", "20ms", "--out", out,
			"--count", "3", "--log-level", "warn"}, &recOut, &recErr)
	}()
	quote := func(bid, ask float64) *protocol.Quote {
		var q protocol.Quote
		q.Put(protocol.Bid, bid)
		q.Put(protocol.Ask, ask)
		return &q
	}
	t1 := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := hub.Publish("BBB", quote(9, 10), t1.UnixNano(), 0); err != nil { // not matched
		t.Fatal(err)
	}
	if err := hub.Publish("AAX", quote(1, 2), t1.UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	rrWaitSubscribed(t, srv, 1)
	// Let the topic go stale: the mark is a new version, not a value.
	rrWaitFor(t, 5*time.Second, "AAX stale", func() bool {
		for _, tp := range hub.Topics() {
			if tp.Name == "AAX" && tp.Stale {
				return true
			}
		}
		return false
	})
	time.Sleep(50 * time.Millisecond) // the writer sends the stale mark
	if err := hub.Publish("AAX", quote(1.5, 2.5), t1.Add(time.Second).UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	var trade protocol.Quote
	for f, v := range map[protocol.Field]float64{protocol.Last: 100.5, protocol.LastSize: 0.25, protocol.Volume: 0.25, protocol.High: 100.5, protocol.Low: 100.5} {
		trade.Put(f, v)
	}
	if err := hub.Publish("XY.trades", &trade, t1.Add(2*time.Second).UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("record: %v\n%s", err, recErr.String())
		}
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatalf("record did not stop after 3 ticks: %s %s", recOut.String(), recErr.String())
	}
	want := []ticks.Tick{
		{Time: t1, Symbol: "AAX", Kind: ticks.KindQuote, Bid: 1, Ask: 2},
		{Time: t1.Add(time.Second), Symbol: "AAX", Kind: ticks.KindQuote, Bid: 1.5, Ask: 2.5},
		{Time: t1.Add(2 * time.Second), Symbol: "XY", Kind: ticks.KindTrade, Price: 100.5, Size: 0.25},
	}
	if d := rrDiff(want, rrReadTicks(t, out)); d != "" {
		t.Errorf("recorded:\n%s\nrecord: %s%s", d, recOut.String(), recErr.String())
	}
	if !strings.Contains(recOut.String(), "3 ticks from 2 topics") {
		t.Errorf("summary %q", recOut.String())
	}
}

// TestRecordStdout: --out - writes the ticks to stdout and the summary to stderr.
func TestRecordStdout(t *testing.T) {
	_, wsu := rrServer(t, feedserver.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if err := runRecord(ctx, []string{"--server", wsu, "--topics", "NONE", "--out", "-", "--duration", "200ms", "--log-level", "warn"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.Join(ticks.FormatTickwire.Header(), ",")+"\n" {
		t.Errorf("stdout %q, want only the header", out.String())
	}
	if !strings.Contains(errb.String(), "0 ticks") {
		t.Errorf("stderr %q, want the summary", errb.String())
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error("--out - created a file named -")
	}
}

// TestRecordNeverConnected: a recording that never reached its server ends
// with an error (exit status 1), after writing a valid, empty file.
func TestRecordNeverConnected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	out := filepath.Join(t.TempDir(), "rec.csv")
	var stdout, stderr bytes.Buffer
	err = runRecord(context.Background(), []string{"--server", "ws://" + addr, "--out", out, "--duration", "300ms", "--log-level", "error"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "never connected to ws://"+addr+"/ws") || errors.As(err, new(usageError)) {
		t.Errorf("got %v, want never connected (exit 1)", err)
	}
	if got := rrReadTicks(t, out); len(got) != 0 {
		t.Errorf("file has %d ticks", len(got))
	}
}
