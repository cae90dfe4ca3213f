package feedserver

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"tickwire/protocol"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSequencedTopicsCostLittle: 1,000 one-byte events, each on a new
// sequenced topic, cost the hub (topics, rings, in-memory journal) a few
// hundred bytes apiece, not a window's worth of ring each.
func TestSequencedTopicsCostLittle(t *testing.T) {
	h := NewHub(DefaultTopicRules(), 0)
	before := heapInUse()
	for i := range 1000 {
		if _, _, err := h.PublishEvent(fmt.Sprintf("orders.A%d", i), []byte{1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(heapInUse()) - int64(before)
	runtime.KeepAlive(h)
	if h.Stats().Topics != 1000 {
		t.Fatalf("%d topics, want 1000", h.Stats().Topics)
	}
	const budget = 2 << 20
	t.Logf("1,000 sequenced topics of one event: %d KiB", grown>>10)
	if grown > budget {
		t.Fatalf("1,000 sequenced topics of one event cost %d KiB of heap, want under %d KiB", grown>>10, budget>>10)
	}
}

// TestRingBounds: a sequenced topic's cache grows with its events, doubling
// from a few up to its Window, and holds at most WindowBytes of frames; a
// subscriber from the start still gets every event, in order, the older ones
// from the journal.
func TestRingBounds(t *testing.T) {
	const (
		window      = 20
		windowBytes = 64 << 10
		big         = 16 << 10
	)
	srv, url := startServer(t, Config{Topics: []TopicRule{{Pattern: "seq.*", Kind: Sequenced, Window: window, WindowBytes: windowBytes}}})
	h := srv.Hub()
	ring := func(name string) (size, n, bytes int) {
		s := h.shard(name)
		s.mu.RLock()
		defer s.mu.RUnlock()
		r := &s.topics[name].events
		return len(r.buf), int(r.head + 1 - r.lo), r.bytes
	}
	for i, want := range map[int]int{1: ringMin, ringMin: ringMin, ringMin + 1: 2 * ringMin, 2*ringMin + 1: window, 3 * window: window} {
		name := fmt.Sprintf("seq.small%d", i)
		for range i {
			if _, _, err := h.PublishEvent(name, []byte{1}, 0); err != nil {
				t.Fatal(err)
			}
		}
		if size, n, _ := ring(name); size != want || n != min(i, window) {
			t.Errorf("after %d events: a ring of %d holding %d, want %d holding %d", i, size, n, want, min(i, window))
		}
	}

	const name, events = "seq.big", 30
	for i := range events {
		data := make([]byte, big)
		data[0] = byte(i)
		if _, _, err := h.PublishEvent(name, data, 0); err != nil {
			t.Fatal(err)
		}
		if _, n, bytes := ring(name); bytes > windowBytes || n < 1 {
			t.Fatalf("after %d events of %d KiB: the ring holds %d events, %d KiB; want at most %d KiB", i+1, big>>10, n, bytes>>10, windowBytes>>10)
		}
	}
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: []string{name}}); err != nil {
		t.Fatal(err)
	}
	var next uint64 = 1
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		if e, ok := f.(*protocol.Event); ok {
			if e.Seq != next || e.Flags != 0 || int(e.Data[0]) != int(next-1) {
				t.Fatalf("event %d (flags %d, payload %d), want %d", e.Seq, e.Flags, e.Data[0], next)
			}
			next++
		}
		return next > events
	})
}
