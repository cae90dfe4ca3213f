package feedserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tickwire/protocol"
	"tickwire/recovery"
)

// readEvents reads events of topic from c until it has n, checking that they
// come in sequence, each once, with the payloads published.
func readEvents(t *testing.T, c interface {
	Read(func(protocol.Frame) error) error
	SetReadDeadline(time.Time) error
}, n int, slow bool) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var next uint64 = 1
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for int(next) <= n {
		err := c.Read(func(f protocol.Frame) error {
			e, ok := f.(*protocol.Event)
			if !ok {
				return nil
			}
			if e.Seq != next || e.Flags != 0 {
				return fmt.Errorf("event %d (flags %d), want %d", e.Seq, e.Flags, next)
			}
			if seen[string(e.Data)] {
				return fmt.Errorf("payload %q twice", e.Data)
			}
			seen[string(e.Data)] = true
			next++
			return nil
		})
		if err != nil {
			t.Fatalf("after event %d: %v", next-1, err)
		}
		if slow && next%300 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return seen
}

// TestSequencedConcurrentPublishers: publishers racing on one topic get
// their events numbered by the journal in whatever order its commits return;
// subscribers still receive 1, 2, 3, ... each once, fast or slow.
func TestSequencedConcurrentPublishers(t *testing.T) {
	srv, url := startServer(t, Config{Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 128}}})
	fast, slow := dial(t, url), dial(t, url)
	for _, c := range []interface{ Send(...protocol.Frame) error }{fast, slow} {
		if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.C"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		cs := srv.Conns()
		return len(cs) == 2 && cs[0].Subscriptions == 1 && cs[1].Subscriptions == 1
	})
	const pubs, each = 8, 400
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				evs := []EventIn{{Data: []byte(fmt.Sprintf("%d-%d-a", p, i))}}
				if i%3 == 0 {
					evs = append(evs, EventIn{Data: []byte(fmt.Sprintf("%d-%d-b", p, i))})
				}
				if _, _, err := srv.Hub().PublishEvents("orders.C", evs...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	n := pubs * (each + (each+2)/3)
	var rwg sync.WaitGroup
	for _, c := range []struct {
		conn interface {
			Read(func(protocol.Frame) error) error
			SetReadDeadline(time.Time) error
		}
		slow bool
	}{{fast, false}, {slow, true}} {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			if got := readEvents(t, c.conn, n, c.slow); len(got) != n {
				t.Errorf("%d distinct payloads, want %d", len(got), n)
			}
		}()
	}
	wg.Wait()
	rwg.Wait()
}

// TestForeignAppend: events appended to a topic's stream behind the hub's
// back (another writer of the same journal) leave a gap in the hub's cache;
// subscribers read across it from the journal instead of waiting.
func TestForeignAppend(t *testing.T) {
	j := recovery.NewMem()
	defer j.Close()
	srv, url := startServer(t, Config{Journal: j, Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 8}}})
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.X"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	h := srv.Hub()
	n := 0
	pub := func() {
		n++
		if _, _, err := h.PublishEvents("orders.X", EventIn{Data: []byte(fmt.Sprint("e", n))}); err != nil {
			t.Fatal(err)
		}
	}
	pub()
	n++
	if _, err := j.Append(context.Background(), "orders.X", recovery.Record{Data: []byte(fmt.Sprint("e", n))}); err != nil {
		t.Fatal(err)
	}
	for range 30 { // more than the window: the cache gives up on the gap
		pub()
	}
	readEvents(t, c, n, false)
	late := dial(t, url)
	if err := late.Send(&protocol.Subscribe{Topics: []string{"orders.X"}}); err != nil {
		t.Fatal(err)
	}
	readEvents(t, late, n, false)
}

// TestMemoryRetention: the default in-memory journal keeps the newest
// Config.MemoryRetention events of a topic (up to twice that, trimmed as it
// appends); older positions are too old.
func TestMemoryRetention(t *testing.T) {
	srv, _ := startServer(t, Config{MemoryRetention: 10})
	const topic = "alerts.retention"
	var pos recovery.Position
	for i := range 50 {
		p := recovery.Position{}
		var err error
		if p.Epoch, p.Seq, err = srv.Hub().PublishEvent(topic, []byte(fmt.Sprint(i)), 0); err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			pos = p
		}
	}
	j := srv.Hub().Journal()
	if _, err := j.ReadFrom(context.Background(), topic, pos, 1); !errors.Is(err, recovery.ErrPositionTooOld) {
		t.Fatalf("reading after event 6 of 50, keeping 10: %v, want ErrPositionTooOld", err)
	}
	es, err := j.ReadFrom(context.Background(), topic, recovery.Position{Seq: 40, Epoch: pos.Epoch}, 100)
	if err != nil || len(es) != 10 || es[0].Seq != 41 {
		t.Fatalf("after 40: %d entries from %v, %v; want 41..50", len(es), es, err)
	}
}

// TestMemoryRetentionBytes: the default in-memory journal bounds each topic
// in bytes too (Config.MemoryRetentionBytes), whatever its event count
// bound: a topic of big events holds at most twice the bound, and a client
// whose position is behind what it dropped gets a history-lost marker, then
// every event retained, in order.
func TestMemoryRetentionBytes(t *testing.T) {
	const (
		event = 16 << 10
		keep  = 128 << 10
	)
	srv, url := startServer(t, Config{MemoryRetentionBytes: keep})
	const topic = "alerts.big"
	var head recovery.Position
	for i := range 64 { // 1 MiB
		data := make([]byte, event)
		data[0] = byte(i)
		p := recovery.Position{}
		var err error
		if p.Epoch, p.Seq, err = srv.Hub().PublishEvent(topic, data, 0); err != nil {
			t.Fatal(err)
		}
		head = p
	}
	j := srv.Hub().Journal()
	_, err := j.ReadFrom(context.Background(), topic, recovery.Position{Seq: 2, Epoch: head.Epoch}, 1)
	var pe *recovery.PositionError
	if !errors.As(err, &pe) || !errors.Is(err, recovery.ErrPositionTooOld) {
		t.Fatalf("reading after event 2 of 64 events of %d KiB, keeping %d KiB: %v, want ErrPositionTooOld", event>>10, keep>>10, err)
	}
	if held := int(head.Seq-pe.First+1) * event; held < keep || held >= 2*keep {
		t.Fatalf("the journal holds events %d..%d (%d KiB), want [%d, %d) KiB", pe.First, head.Seq, held>>10, keep>>10, 2*keep>>10)
	}

	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{topic}, Positions: []protocol.StreamPosition{{Topic: topic, Seq: 2, Epoch: head.Epoch}}}); err != nil {
		t.Fatal(err)
	}
	var marker *protocol.Event
	next := pe.First
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		e, ok := f.(*protocol.Event)
		switch {
		case !ok:
		case marker == nil:
			marker = e
		case e.Seq != next || int(e.Data[0]) != int(next-1):
			t.Fatalf("after the marker: event %d (payload %d), want %d", e.Seq, e.Data[0], next)
		default:
			next++
		}
		return next > head.Seq
	})
	if marker.Flags != protocol.EventHistoryLost || marker.Seq != pe.First-1 || marker.Epoch != head.Epoch {
		t.Fatalf("first event %+v, want a history-lost marker at %d", marker, pe.First-1)
	}
}
