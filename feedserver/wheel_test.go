package feedserver

import (
	"slices"
	"testing"
	"time"

	"tickwire/protocol"
)

// TestPulledLatestWithinInterval: a rate-limited client, served by pulls on
// the wheel's tick, gets a topic's latest value within about an interval of
// it changing (measured from the last publish of a burst to its arrival; the
// median of the rounds, so a scheduler's hiccup on a loaded box is not
// taken for a late pull), never a value older than one it already had, and
// no more often than its interval.
func TestPulledLatestWithinInterval(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	const interval = 100 * time.Millisecond
	srv, url := startServer(t, Config{Logger: quiet()})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"PULL"}, MinIntervalMs: uint32(interval / time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))

	var (
		lastBid  = -1.0
		lastSeq  uint64
		arrivals []time.Time
	)
	// read takes frames until the client holds bid want; it fails on a
	// value older than one already received.
	read := func(want float64) time.Time {
		t.Helper()
		var at time.Time
		readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
			p, ok := f.(*protocol.Price)
			if !ok || p.Topic != "PULL" {
				return false
			}
			now := time.Now()
			bid, has := p.Quote.Get(protocol.Bid)
			if !has {
				t.Fatalf("frame without a bid: %+v", p)
			}
			if p.Seq <= lastSeq || bid <= lastBid {
				t.Fatalf("seq %d bid %v after seq %d bid %v: an older value", p.Seq, bid, lastSeq, lastBid)
			}
			lastSeq, lastBid = p.Seq, bid
			arrivals = append(arrivals, now)
			at = now
			return bid == want
		})
		return at
	}
	var q protocol.Quote
	bid := 0.0
	publish := func() time.Time {
		bid++
		q.Put(protocol.Bid, bid)
		now := time.Now()
		if err := srv.Hub().Publish("PULL", &q, now.UnixNano(), 0); err != nil {
			t.Fatal(err)
		}
		return now
	}
	publish()
	read(bid) // the first value is pushed on subscribing or pulled on the first tick

	const rounds = 9
	var delays []time.Duration
	for r := range rounds {
		// A burst of values at a phase that moves against the client's
		// tick, then quiet: the burst's last value must arrive.
		time.Sleep(time.Duration(r) * interval / rounds)
		var last time.Time
		for range 20 {
			last = publish()
			time.Sleep(time.Millisecond)
		}
		delays = append(delays, read(bid).Sub(last))
	}
	slices.Sort(delays)
	if med := delays[rounds/2]; med > interval+50*time.Millisecond {
		t.Fatalf("median delay from a change to its arrival %v (all %v): want within an interval (%v) and a tick", med, delays, interval)
	}
	// The rate limit: no more deliveries than intervals elapsed (and a
	// spare), as the push path's TestRateLimit checks.
	el := arrivals[len(arrivals)-1].Sub(arrivals[0])
	if max := int(el/interval) + 2; len(arrivals) > max {
		t.Fatalf("%d deliveries in %v at one per %v: want at most %d", len(arrivals), el, interval, max)
	}
	if st := srv.Stats(); st.Pulled == 0 {
		t.Fatalf("no pulls counted: %+v", st)
	}
}

// TestPulledMergeSnapshot: a rate-limited client of a merge topic skips
// versions between its pulls and gets the merged value (a snapshot of the
// topic's merged cache), so nothing is lost without a per-client merge.
func TestPulledMergeSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	srv, url := startServer(t, Config{Logger: quiet()})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"P.trades"}, MinIntervalMs: 50}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	const n = 2000
	var want protocol.Quote
	for i := range n {
		var q protocol.Quote
		q.Put(protocol.Volume, 1)
		q.Put(protocol.Last, float64(100+i%7))
		protocol.OpsTrade.Merge(&want, &q)
		if err := srv.Hub().Publish("P.trades", &q, int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			time.Sleep(20 * time.Millisecond) // let pulls fall between publishes
		}
	}
	var got protocol.Quote
	ops := protocol.OpsTrade
	frames := 0
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		if !ok {
			return false
		}
		frames++
		if p.Type == protocol.TypeSnapshot {
			got = p.Quote
		} else {
			ops.Merge(&got, &p.Quote)
		}
		return p.Seq == n
	})
	if got != want {
		t.Fatalf("merged value %+v, want %+v", got, want)
	}
	if frames >= n {
		t.Fatalf("%d frames for %d trades: not conflated", frames, n)
	}
}

// TestPulledUnsubscribe: a rate-limited subscription dropped leaves the
// queue's pulled set, and the queue leaves the wheel at its next visit.
func TestPulledUnsubscribe(t *testing.T) {
	srv, url := startServer(t, Config{Logger: quiet()})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"U1", "U2"}, MinIntervalMs: 20}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 2))
	if err := c.Send(&protocol.Subscribe{Topics: []string{"U1", "U2"}, Unsubscribe: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the wheel to empty", func() bool {
		for i := range srv.wheels {
			w := &srv.wheels[i]
			w.mu.Lock()
			empty := w.n == 0 && !w.running
			w.mu.Unlock()
			if !empty {
				return false
			}
		}
		return true
	})
}
