package feedserver

import "tickwire/protocol"

// MarkStale marks conflated topic name stale now, as the sweep does when its
// source falls silent: subscribers get the same value, with its time and
// age, flagged FlagStale, and the next publish clears it. A relay whose link
// to its source drops (the price cascade of a standby edge) calls it so its
// prices are never shown fresh while they cannot be. It reports whether the
// topic was marked: false for a topic without a value, a sequenced one, or
// one already stale.
func (h *Hub) MarkStale(name string) bool {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := s.topics[name]
	if tp == nil || tp.cur == nil || tp.stale || tp.rule.Kind == Sequenced {
		return false
	}
	tp.stale = true
	var empty protocol.Quote
	n := h.publishLocked(s, tp, &empty, tp.cur.time, tp.cur.stored, tp.cur.flags|protocol.FlagStale, nil)
	h.enqueued.Add(uint64(n))
	return true
}
