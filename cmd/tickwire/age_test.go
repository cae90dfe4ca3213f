package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/internal/cutproxy"
	"tickwire/protocol"
	"tickwire/tickfeed"
	"tickwire/tui"
)

// TestAgeIsTheValues (issue 12 item 3): a trader that connects to a paused
// source late, or reconnects, shows the value's age, not the time since it
// arrived, in client.PriceEvent.Age and in the board's AGE column, whatever
// the client's clock says (here an hour ahead, then an hour behind).
func TestAgeIsTheValues(t *testing.T) {
	srv, wsu := rrServer(t, feedserver.Config{StaleAfter: 300 * time.Millisecond})
	base := tickfeed.HTTPBase(wsu)
	var q protocol.Quote
	q.Put(protocol.Bid, 0.86478)
	q.Put(protocol.Ask, 0.86503)
	published := time.Now()
	if err := srv.Hub().Publish("NZDUSD", &q, published.UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/sources/pause/NZDUSD", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("pause: %s", resp.Status)
	}
	// Connect late: once the server holds the value as 1.5 s old and stale.
	rrWaitFor(t, 10*time.Second, "NZDUSD stale and 1.5 s old", func() bool {
		resp, err := http.Get(base + "/topics/NZDUSD")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var v struct {
			Stale bool  `json:"stale"`
			AgeMs int64 `json:"age_ms"`
		}
		return json.NewDecoder(resp.Body).Decode(&v) == nil && v.Stale && v.AgeMs >= 1500
	})

	proxy, err := cutproxy.Start(strings.TrimSuffix(strings.TrimPrefix(wsu, "ws://"), "/ws"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		now := func() time.Time { return time.Now().Add(skew) }
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cl := client.New(client.Options{URLs: []string{"ws://" + proxy.Addr() + "/ws"}, Topics: []string{"NZDUSD"},
			Now: now, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		done := make(chan struct{})
		go func() { defer close(done); _ = cl.Run(ctx) }()
		m := tui.New(tui.Config{Symbols: []string{"NZDUSD"}, Now: now})
		m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})

		// check takes the next NZDUSD price (feeding everything to the
		// board) and compares both ages with the truth.
		check := func(when string) {
			t.Helper()
			for {
				var ev client.Event
				select {
				case ev = <-cl.Events():
				case <-ctx.Done():
					t.Fatalf("clock %+v, %s: no NZDUSD price", skew, when)
				}
				m.Update(tui.EventsMsg{ev})
				p, ok := ev.(client.PriceEvent)
				if !ok || p.Topic != "NZDUSD" {
					continue
				}
				truth := time.Since(published)
				if got := p.Age + now().Sub(p.Received); !p.Stale() || absDur(got-truth) > time.Second {
					t.Errorf("clock %+v, %s: PriceEvent stale %v, age %v; the value is %v old", skew, when, p.Stale(), got, truth)
				}
				cell, shown := boardAge(m.View(), "NZDUSD")
				truth = time.Since(published)
				if !strings.Contains(m.View(), "FEED-STALE") || absDur(shown-truth) > time.Second {
					t.Errorf("clock %+v, %s: board shows AGE %q, the value is %v old:\n%s", skew, when, cell, truth, m.View())
				}
				return
			}
		}
		check("connected late")
		if proxy.Cut(cutproxy.Reset) == 0 {
			t.Fatal("no connection to cut")
		}
		check("reconnected")
		cancel()
		<-done
	}

	// record logs the first value's age.
	out := filepath.Join(t.TempDir(), "rec.csv")
	var recOut, recErr rrBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := runRecord(ctx, []string{"--server", wsu, "--topics", "NZDUSD", "--count", "1", "--out", out}, &recOut, &recErr); err != nil {
		t.Fatalf("record: %v\n%s", err, recErr.String())
	}
	truth := time.Since(published)
	var first struct {
		Msg, Topic, Age string
	}
	for _, line := range strings.Split(recErr.String(), "\n") {
		if json.Unmarshal([]byte(line), &first) == nil && first.Msg == "first value" {
			break
		}
	}
	if age, err := time.ParseDuration(first.Age); err != nil || first.Topic != "NZDUSD" || absDur(age-truth) > time.Second {
		t.Errorf("record logged the first value of %q as %q old (%v); it is %v old:\n%s", first.Topic, first.Age, err, truth, recErr.String())
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// boardAge returns the AGE cell of sym's row on the board, and its value.
func boardAge(view, sym string) (string, time.Duration) {
	var header []string
	for _, line := range strings.Split(view, "\n") {
		cells := strings.Split(line, "│")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) > 1 && cells[1] == "SYMBOL" {
			header = cells
		}
		if len(cells) < 2 || cells[1] != sym {
			continue
		}
		for i, h := range header {
			if h == "AGE" && i < len(cells) {
				s := cells[i]
				if v, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64); err == nil {
					return s, time.Duration(v * float64(time.Second))
				}
				return s, -time.Hour
			}
		}
	}
	return "", -time.Hour
}
