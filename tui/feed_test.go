package tui

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
	"tickwire/protocol"
)

func TestBatcherCoalesces(t *testing.T) {
	var b Batcher
	if b.Take() != nil {
		t.Fatal("empty batch is not nil")
	}
	down := client.StateEvent{State: client.Reconnecting, Attempt: 1}
	up := connected(testURL, "a")
	for _, ev := range []client.Event{
		price("EURUSD", 1, 2, t0, 0),
		client.RTTEvent{RTT: 1},
		price("NZDUSD", 1, 2, t0, 0),
		price("EURUSD", 1.1, 2, t0, 0), // replaces the first EURUSD
		client.RTTEvent{RTT: 2},        // replaces the first RTT
		down,                           // a state change keeps its place
		up,
		gapPrice("EURUSD", 1.2, 2, t0),
		price("EURUSD", 1.3, 2, t0, protocol.FlagStale), // keeps the gap it replaced
		client.ErrorEvent{Err: &protocol.Error{Code: 1001}},
		price("EURUSD", 1.4, 2, t0, 0),
	} {
		b.Add(ev)
	}
	got := b.Take()
	bid := func(ev client.Event) float64 { return ev.(client.PriceEvent).Quote.V[protocol.Bid] }
	if len(got) != 8 {
		t.Fatalf("batch of %d: %#v", len(got), got)
	}
	if bid(got[0]) != 1.1 || got[1].(client.RTTEvent).RTT != 2 || got[2].(client.PriceEvent).Topic != "NZDUSD" ||
		got[3] != client.Event(down) || got[4] != client.Event(up) {
		t.Errorf("first run: %#v", got[:5])
	}
	if p := got[5].(client.PriceEvent); bid(p) != 1.3 || !p.Gap || !p.Stale() {
		t.Errorf("after the reconnect: %+v, want the latest value keeping the gap", p)
	}
	if _, ok := got[6].(client.ErrorEvent); !ok || bid(got[7]) != 1.4 {
		t.Errorf("after the error: %#v", got[6:])
	}
	if b.Take() != nil {
		t.Error("Take did not start a new batch")
	}
	b.Add(price("EURUSD", 9, 9, t0, 0))
	if got := b.Take(); len(got) != 1 || bid(got[0]) != 9 {
		t.Errorf("next batch %#v", got)
	}
}

type sendRecorder struct {
	mu   sync.Mutex
	msgs []tea.Msg
}

func (s *sendRecorder) Send(m tea.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (s *sendRecorder) batches() []EventsMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EventsMsg
	for _, m := range s.msgs {
		out = append(out, m.(EventsMsg))
	}
	return out
}

func TestFeed(t *testing.T) {
	events := make(chan client.Event)
	var rec sendRecorder
	done := make(chan struct{})
	go func() {
		Feed(context.Background(), &rec, events, 20*time.Millisecond)
		close(done)
	}()
	for i := range 1000 {
		events <- price("EURUSD", float64(i), float64(i)+1, t0, 0)
	}
	events <- client.StateEvent{State: client.Reconnecting, Err: errors.New("x")}
	close(events)
	<-done
	total := 0
	var last EventsMsg
	for _, b := range rec.batches() {
		total += len(b)
		last = b
	}
	// However many batches the ticker cut, each holds one EURUSD at most per run.
	if n := len(rec.batches()); total > 2*n {
		t.Errorf("%d events in %d batches: not coalesced", total, n)
	}
	if p, ok := last[len(last)-2].(client.PriceEvent); !ok || p.Quote.V[protocol.Bid] != 999 {
		t.Errorf("the last batch ends %#v, want the latest price then the state change", last)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Feed(ctx, &rec, make(chan client.Event), time.Hour) // returns when ctx is done
}
