package recovery

import "sync"

// DefaultSubscribeBuffer is used by Subscribe when buffer <= 0.
const DefaultSubscribeBuffer = 1024

// Hub fans committed entries out to live subscribers. Journal
// implementations own one and call Publish after each commit, in commit
// order, from one goroutine at a time per stream (or under a lock): that is
// what makes subscriptions gap-free. Publish never blocks: a subscriber whose
// buffer is full is dropped with ErrLagged.
//
// It is exported so that journals outside this package (the replicated one)
// share the exact semantics the conformance suite checks.
type Hub struct {
	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{} // guarded by mu
	closed bool                                  // guarded by mu
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{subs: make(map[string]map[*Subscription]struct{})}
}

// Subscription is a live feed of one stream's committed entries. C is closed
// when the subscription ends; Err then says why.
type Subscription struct {
	C <-chan Entry

	c      chan Entry
	hub    *Hub
	stream string
	err    error // guarded by hub.mu; set when c is closed
	done   bool  // guarded by hub.mu
}

// Subscribe registers a subscriber to stream with the given channel buffer
// (DefaultSubscribeBuffer if <= 0).
func (h *Hub) Subscribe(stream string, buffer int) (*Subscription, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if buffer <= 0 {
		buffer = DefaultSubscribeBuffer
	}
	c := make(chan Entry, buffer)
	s := &Subscription{C: c, c: c, hub: h, stream: stream}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	m := h.subs[stream]
	if m == nil {
		m = make(map[*Subscription]struct{})
		h.subs[stream] = m
	}
	m[s] = struct{}{}
	return s, nil
}

// HasSubscribers reports whether stream has subscribers, so that a journal
// can skip building entries nobody will receive. It is only a hint: a
// subscriber added right after it returns false misses nothing that it was
// promised (entries committed after Subscribe returned), as long as the
// caller checks after the commit.
func (h *Hub) HasSubscribers(stream string) bool {
	h.mu.Lock()
	n := len(h.subs[stream])
	h.mu.Unlock()
	return n > 0
}

// Publish delivers entries (all of one stream, in sequence order) to the
// stream's subscribers.
func (h *Hub) Publish(stream string, entries []Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[stream] {
		for _, e := range entries {
			select {
			case s.c <- e:
			default:
				h.endLocked(s, ErrLagged)
			}
			if s.done {
				break
			}
		}
	}
}

// Close ends every subscription with ErrClosed and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, m := range h.subs {
		for s := range m {
			h.endLocked(s, ErrClosed)
		}
	}
}

// endLocked removes s and closes its channel. Lock must be held.
func (h *Hub) endLocked(s *Subscription, err error) {
	if s.done {
		return
	}
	s.done = true
	s.err = err
	close(s.c)
	m := h.subs[s.stream]
	delete(m, s)
	if len(m) == 0 {
		delete(h.subs, s.stream)
	}
}

// Close ends the subscription; C is closed and Err returns nil. Entries
// already buffered in C can still be received.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	s.hub.endLocked(s, nil)
	s.hub.mu.Unlock()
}

// Err returns why the subscription ended: nil (closed by Close), ErrLagged
// or ErrClosed. It returns nil while the subscription is live.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}
