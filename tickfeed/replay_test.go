package tickfeed

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/protocol"
	"tickwire/ticks"
)

// startServer runs a real feed server on a free loopback port until the test
// ends and returns it with its WebSocket URL.
func startServer(t testing.TB, cfg feedserver.Config) (*feedserver.Server, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv := feedserver.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, "ws://" + ln.Addr().String() + "/ws"
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustOpen(t testing.TB, path string) ticks.Source {
	t.Helper()
	r, err := ticks.Open(path, ticks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestReplayTwoSymbols replays a small file through a real server and checks,
// over a real WebSocket, that each symbol starts with a snapshot and that every
// value received equals the file's row with that sequence number, in file order.
func TestReplayTwoSymbols(t *testing.T) {
	const file = "testdata/two_symbols.csv"
	all, err := ticks.ReadAll(mustOpen(t, file))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]ticks.Tick{} // per symbol, in file order: seq n is want[sym][n-1]
	for _, tk := range all {
		want[tk.Symbol] = append(want[tk.Symbol], tk)
	}

	srv, url := startServer(t, feedserver.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := client.New(client.Options{URLs: []string{url}, Topics: []string{"EURUSD", "NZDUSD"}, Logger: slog.New(slog.DiscardHandler)})
	go func() { _ = cl.Run(ctx) }()
	waitFor(t, 5*time.Second, "both subscriptions", func() bool {
		cs := srv.Conns()
		return len(cs) == 1 && cs[0].Subscriptions == 2
	})

	replayDone := make(chan error, 1)
	go func() {
		_, err := Replay(ctx, ticks.Opener(file, ticks.Options{}), ticks.ReplayOptions{Speed: 1}, &HubPublisher{Hub: srv.Hub()})
		replayDone <- err
	}()

	got := map[string][]client.PriceEvent{}
	for len(got["EURUSD"]) == 0 || len(got["NZDUSD"]) == 0 ||
		got["EURUSD"][len(got["EURUSD"])-1].Seq < uint64(len(want["EURUSD"])) ||
		got["NZDUSD"][len(got["NZDUSD"])-1].Seq < uint64(len(want["NZDUSD"])) {
		select {
		case ev := <-cl.Events():
			if pe, ok := ev.(client.PriceEvent); ok {
				got[pe.Topic] = append(got[pe.Topic], pe)
			}
		case <-ctx.Done():
			t.Fatalf("timed out; got %d EURUSD and %d NZDUSD events", len(got["EURUSD"]), len(got["NZDUSD"]))
		}
	}
	if err := <-replayDone; err != nil {
		t.Fatal(err)
	}
	for sym, evs := range got {
		if !evs[0].Snapshot || evs[0].Seq != 1 {
			t.Errorf("%s: first event is not the snapshot of seq 1: %+v", sym, evs[0])
		}
		var last uint64
		for _, ev := range evs {
			if ev.Seq <= last {
				t.Fatalf("%s: seq %d after %d: out of file order", sym, ev.Seq, last)
			}
			last = ev.Seq
			row := want[sym][ev.Seq-1]
			bid, _ := ev.Quote.Get(protocol.Bid)
			ask, _ := ev.Quote.Get(protocol.Ask)
			if bid != row.Bid || ask != row.Ask {
				t.Fatalf("%s seq %d: got %v/%v, file has %v/%v", sym, ev.Seq, bid, ask, row.Bid, row.Ask)
			}
		}
		// Ticks are 40 ms apart per symbol: a client this fast sees most of
		// them as deltas (a replay that published them in a burst would give
		// one or two). Conflation merges some on a loaded machine: 21 of 30
		// under -race on a busy box.
		if len(evs) < len(want[sym])/2 {
			t.Errorf("%s: received %d of %d values", sym, len(evs), len(want[sym]))
		}
	}
}

func TestParseTime(t *testing.T) {
	first := time.Date(2014, 5, 8, 0, 0, 0, 36e6, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2014-05-08T00:00:14Z", time.Date(2014, 5, 8, 0, 0, 14, 0, time.UTC)},
		{"2014-05-08T02:00:14.5+02:00", time.Date(2014, 5, 8, 0, 0, 14, 5e8, time.UTC)},
		{"00:00:14", time.Date(2014, 5, 8, 0, 0, 14, 0, time.UTC)},
		{"13:28", time.Date(2014, 5, 8, 13, 28, 0, 0, time.UTC)},
		{"12:30:01.250", time.Date(2014, 5, 8, 12, 30, 1, 250e6, time.UTC)},
		{"+90s", first.Add(90 * time.Second)},
	} {
		got, err := ParseTime(c.in, first)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"14", "25:00", "+-1s", "+x", "2014-05-08"} {
		if _, err := ParseTime(bad, first); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestParseWindow(t *testing.T) {
	first := time.Date(2014, 5, 8, 0, 0, 0, 36e6, time.UTC)
	at := func(sec int) time.Time { return time.Date(2014, 5, 8, 0, 0, sec, 0, time.UTC) }
	for _, c := range []struct {
		from, to string
		want     [2]time.Time
	}{
		{"", "", [2]time.Time{}},
		{"00:00:10", "+5s", [2]time.Time{at(10), at(15)}},         // --to counts from --from
		{"", "+5s", [2]time.Time{{}, first.Add(5 * time.Second)}}, // else from the first tick
		{"+10s", "", [2]time.Time{first.Add(10 * time.Second), {}}},
	} {
		from, to, err := ParseWindow(c.from, c.to, first)
		if err != nil || !from.Equal(c.want[0]) || !to.Equal(c.want[1]) {
			t.Errorf("ParseWindow(%q, %q) = %v, %v, %v; want %v", c.from, c.to, from, to, err, c.want)
		}
	}
	for _, c := range []struct{ from, to, err string }{
		{"x", "", "--from: "},
		{"", "x", "--to: "},
		{"00:00:20", "00:00:10", "--to 2014-05-08T00:00:10Z is not after --from 2014-05-08T00:00:20Z"},
		{"00:00:20", "00:00:20", "is not after"},
	} {
		if _, _, err := ParseWindow(c.from, c.to, first); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseWindow(%q, %q): %v, want %q", c.from, c.to, err, c.err)
		}
	}
}

func TestWriteReplaySummary(t *testing.T) {
	var r Refusals
	r.Add("NZDUSD", "paused")
	r.Add("NZDUSD", "paused again")
	var b strings.Builder
	WriteReplaySummary(&b, ticks.ReplayStats{Ticks: 7, Loops: 1, MaxDrift: 1500 * time.Microsecond, MaxDone: 2 * time.Millisecond}, 1, 3, &r)
	want := "tickwire replay: 7 ticks, 1 loop, max drift " + FormatLateness(1500*time.Microsecond) + " (" + FormatLateness(2*time.Millisecond) +
		" to publish done), 3 bad rows skipped, 2 publishes refused\n  refused NZDUSD: 2 (paused)\n"
	if b.String() != want {
		t.Errorf("summary\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	WriteReplaySummary(&b, ticks.ReplayStats{Ticks: 7, Loops: 2}, 0, 0, &Refusals{})
	if want := "tickwire replay: 7 ticks, 2 loops, max drift n/a (as fast as possible), 0 bad rows skipped, 0 publishes refused\n"; b.String() != want {
		t.Errorf("summary %q, want %q", b.String(), want)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if got := Percentiles(ds); got != [4]time.Duration{50, 90, 99, 100} {
		t.Errorf("percentiles(1..100) = %v", got)
	}
	if got := Percentiles([]time.Duration{7}); got != [4]time.Duration{7, 7, 7, 7} {
		t.Errorf("percentiles(7) = %v", got)
	}
}
