package feedserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tickwire/protocol"
	"tickwire/recovery"
)

// Sequenced topics are backed by a recovery.Journal: PublishEvents appends
// to it and returns once the events are in it (durable under the journal's
// sync policy), and the journal assigns their sequence numbers and epoch. The
// topic's ring keeps the newest events encoded, as a cache: a subscriber
// within it is served from memory under the shard lock, one further behind
// (or whose position must first be checked) from the journal by its writer,
// without any lock. A position the journal cannot continue (trimmed, another
// epoch, ahead of the head) gets a history-lost marker, with the topic's
// state from the StateSnapshotter if there is one, and the stream continues
// from there. See docs/recovery.md, "The feed server".

// StateSnapshotter provides the full state of a sequenced topic (the order
// state of an account, say) to clients whose position cannot be continued.
// The FIX gateway implements it; cmd/tickwire wires it in Config.
type StateSnapshotter interface {
	// SnapshotState returns the state of topic as of a position: exactly
	// the result of the topic's events up to and including Position.Seq in
	// Position.Epoch. The position must still be readable from the journal
	// (not older than its retention), so the stream can continue from it.
	// ErrNoState: the snapshotter keeps no state for this topic.
	SnapshotState(ctx context.Context, topic string) (StateSnapshot, error)
}

// StateSnapshot is a topic's state at a position.
type StateSnapshot struct {
	Position recovery.Position
	Data     []byte // the application's encoding (msgpack), at most protocol.MaxSnapshotData
}

// The default in-memory journal keeps, per topic, at least the newest
// memJournalKeep events and memJournalKeepBytes bytes of payload, whichever
// is fewer (Config.MemoryRetention, MemoryRetentionBytes).
const (
	memJournalKeep      = 1 << 16
	memJournalKeepBytes = 8 << 20
)

// journalPage bounds the entries one writer wake-up reads from the journal
// for one subscription; fewer when they are large, so that a read is about
// the bytes the batch has left (readJournal). The first read of a
// subscription, sizes unknown, assumes entries of the largest size.
const journalPage = 256

// snapshotTimeout bounds a StateSnapshotter call.
const snapshotTimeout = 5 * time.Second

// Journal returns the journal behind the hub's sequenced topics.
func (h *Hub) Journal() recovery.Journal { return h.journal }

// loadSequencedLocked sets a new sequenced topic's head and epoch from the
// journal: its ring starts empty, after the head. Caller holds s.mu.
func (h *Hub) loadSequencedLocked(tp *topic) {
	// The ring's buffer is made on the first event (ring.add): a client
	// may subscribe to many names that never get one.
	head, err := h.journal.Head(tp.name)
	if err != nil {
		// A closed or failed journal: readers will get its error from ReadFrom.
		return
	}
	tp.events.head, tp.events.lo, tp.events.epoch = head.Seq, head.Seq+1, head.Epoch
}

// loadJournalTopics creates the sequenced topics the journal has a history
// for, so that they are listed (GET /topics) after a restart.
func (h *Hub) loadJournalTopics() error {
	streams, err := h.journal.Streams()
	if err != nil {
		return err
	}
	for _, name := range streams {
		if protocol.ValidTopic(name) != nil || h.Kind(name) != Sequenced {
			continue
		}
		s := h.shard(name)
		s.mu.Lock()
		h.topicLocked(s, name)
		s.mu.Unlock()
	}
	return nil
}

// insertLocked encodes the events the journal numbered first.. in epoch and
// adds them to tp's ring in sequence order. Events of an Append that returned
// before an earlier one's wait in tp.events.early for the gap to fill;
// meanwhile subscribers at the gap read the journal, which has every event up
// to the newest returned (a commit numbers its events). A gap that does not
// fill (another writer appends to the stream behind the hub's back) is given
// up on once early holds a window's worth: the cache restarts after it. It
// reports whether there is anything new for subscribers. Caller holds s.mu.
func (h *Hub) insertLocked(s *shard, tp *topic, first uint64, epoch string, evs []EventIn) bool {
	r := &tp.events
	if epoch != r.epoch && r.head >= first {
		// Another history under the same name (the journal was replaced):
		// start the cache again. Subscribers of the old epoch are told by
		// their next journal read.
		r.reset(first-1, epoch)
	}
	r.epoch = epoch
	moved := false
	for i := range evs {
		seq := first + uint64(i)
		if seq <= r.head {
			continue // already known from the journal's head when the topic was created
		}
		ev := protocol.Event{Type: protocol.TypeEvent, Topic: tp.name, Epoch: epoch, Seq: seq, Time: evs[i].Time, Data: evs[i].Data}
		var err error
		if s.buf, err = s.enc.AppendEvent(s.buf[:0], &ev); err != nil {
			panic(err) // constant, valid frame type
		}
		e := event{seq: seq, frame: append([]byte(nil), s.buf...)}
		moved = true
		if seq == r.head+1 {
			r.add(e, tp.rule.Window, tp.rule.WindowBytes)
		} else {
			if r.early == nil {
				r.early = make(map[uint64]event)
			}
			r.early[seq] = e
		}
	}
	if len(r.early) > tp.rule.Window {
		lowest := uint64(0)
		for seq := range r.early {
			if lowest == 0 || seq < lowest {
				lowest = seq
			}
		}
		early := r.early
		r.reset(lowest-1, epoch)
		r.early = early
	}
	for len(r.early) > 0 {
		e, ok := r.early[r.head+1]
		if !ok {
			break
		}
		delete(r.early, e.seq)
		r.add(e, tp.rule.Window, tp.rule.WindowBytes)
	}
	return moved
}

// readJournal serves sb from the journal: it checks sb's position (the first
// time, or after a history-lost marker), then appends the events after it
// to the batch, encoded into the arena, up to about budget bytes (at least one
// event). It reports whether to look again (more events may follow). Writer
// goroutine only.
func (w *writer) readJournal(sb *sub, budget int) (more bool, err error) {
	h := w.c.srv.hub
	enc := w.c.srv.encoders.Get().(*protocol.Encoder)
	defer w.c.srv.encoders.Put(enc)
	tp := sb.topic
	after := recovery.Position{Seq: sb.next - 1, Epoch: sb.epoch}
	ctx, cancel := context.WithTimeout(context.Background(), w.c.srv.cfg.WriteTimeout)
	avg := sb.avg
	if avg == 0 {
		avg = protocol.MaxEventData // the first page: bounded by bytes as if every entry were the largest
	}
	es, err := h.journal.ReadFrom(ctx, tp.name, after, min(journalPage, max(1, budget/avg)))
	cancel()
	if err != nil {
		var pe *recovery.PositionError
		if !errors.As(err, &pe) {
			return false, fmt.Errorf("read journal of %q: %w", tp.name, err)
		}
		if w.replicaBehind(sb, pe) {
			return false, nil // the next event applied wakes the writer
		}
		return true, w.historyLost(sb, pe, enc)
	}
	sb.aheadSince = time.Time{}
	size, n := 0, 0
	for ; n < len(es) && (n == 0 || size < budget); n++ {
		// Entries larger than the average so far stop the page early:
		// the rest are read again next time.
		e := &es[n]
		ev := protocol.Event{Type: protocol.TypeEvent, Topic: tp.name, Epoch: e.Epoch, Seq: e.Seq, Time: e.Time, Data: e.Data}
		start := len(w.arena)
		w.appendArena(func(dst []byte) []byte {
			b, err := enc.AppendEvent(dst, &ev)
			if err != nil {
				panic(err) // constant, valid frame type
			}
			return b
		})
		size += len(w.arena) - start
	}
	next, epoch := sb.next, sb.epoch
	if n > 0 {
		next, epoch = es[n-1].Seq+1, es[n-1].Epoch
		sb.avg = max(1, size/n)
	}
	w.setCursor(sb, next, epoch, false)
	sb.lost = 0
	return n > 0, nil
}

// Bounds of a position ahead of a cluster node's journal that is waited for.
const (
	maxReplicaLead  = 1 << 16
	maxReplicaDelay = 10 * time.Second
)

// replicaBehind reports whether sb's position, ahead of the journal's head
// in its epoch, is one this cluster node has yet to apply: a trader that
// moved here from the Active holds events the quorum committed and this
// node's journal is about to apply (raft tells a follower of a commit on
// its next contact). Then the position is kept and served once the journal
// reaches it, rather than reported lost. A position further ahead, or still
// ahead after maxReplicaDelay, is impossible: history lost, as on a single
// node. Writer goroutine only.
func (w *writer) replicaBehind(sb *sub, pe *recovery.PositionError) bool {
	if !w.c.srv.cfg.Cluster || !errors.Is(pe, recovery.ErrPositionAhead) || pe.Pos.Epoch == "" ||
		pe.Pos.Epoch != pe.Head.Epoch || pe.Pos.Seq-pe.Head.Seq > maxReplicaLead {
		return false
	}
	if sb.aheadSince.IsZero() {
		sb.aheadSince = time.Now()
		w.c.logger().Info("position ahead of this node's journal: waiting for it to apply", "topic", sb.topic.name, "position", pe.Pos, "head", pe.Head)
	}
	return time.Since(sb.aheadSince) < maxReplicaDelay
}

// appendArena appends one frame encoded by enc into the arena and to the
// batch. The frame's bytes stay valid for the batch even if the arena grows
// (growing copies to a new array and never writes the old one again); write
// points it at the final array.
func (w *writer) appendArena(enc func([]byte) []byte) {
	start := len(w.arena)
	w.arena = enc(w.arena)
	w.spans = append(w.spans, span{i: len(w.frames), start: start, end: len(w.arena)})
	w.frames = append(w.frames, w.arena[start:])
}

// setCursor moves sb's cursor. The shard lock (read side is enough: only
// this writer moves this cursor) orders it with the reader goroutine, which
// reads the cursor under the write lock when the connection ends.
func (w *writer) setCursor(sb *sub, next uint64, epoch string, verify bool) {
	s := w.c.srv.hub.shard(sb.topic.name)
	s.mu.RLock()
	sb.next, sb.epoch, sb.verify = next, epoch, verify
	s.mu.RUnlock()
}

// historyLost tells the client its position in sb's topic cannot be
// continued: an Error frame first if the position was impossible (it was
// never handed out), then a history-lost marker, with the topic's state if
// the snapshotter has it; the stream continues after the marker's position.
// Writer goroutine only.
func (w *writer) historyLost(sb *sub, pe *recovery.PositionError, enc *protocol.Encoder) error {
	h := w.c.srv.hub
	name := sb.topic.name
	sb.lost++
	if sb.lost > 3 {
		// The history moves faster than we can catch it (retention trimming
		// at the snapshot's heels): give up rather than loop.
		return fmt.Errorf("cannot continue topic %q: %v", name, pe)
	}
	if errors.Is(pe, recovery.ErrPositionAhead) || (pe.Pos.Seq > 0 && pe.Pos.Epoch == "") {
		reason := fmt.Sprintf("position %d@%q is impossible in this history (head %s): continuing after a history-lost marker", pe.Pos.Seq, pe.Pos.Epoch, pe.Head)
		if pe.Pos.Epoch == "" {
			reason = fmt.Sprintf("position %d has no epoch, so it cannot be vouched for: continuing after a history-lost marker", pe.Pos.Seq)
		}
		w.c.logger().Warn("bad position", "topic", name, "reason", reason)
		w.c.srv.errSent.inc(protocol.CodeBadPosition)
		w.appendArena(func(dst []byte) []byte {
			b, _ := enc.Append(dst, &protocol.Error{Code: protocol.CodeBadPosition, Reason: reason, Topic: name})
			return b
		})
	}
	// Without a state, the marker stands before the oldest retained event,
	// and everything retained follows.
	pos := recovery.Position{Seq: pe.First - 1, Epoch: pe.Head.Epoch}
	ev := protocol.Event{Type: protocol.TypeEvent, Topic: name, Time: time.Now().UnixNano(), Flags: protocol.EventHistoryLost}
	if h.snapshotter != nil && sb.lost == 1 {
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		st, err := h.snapshotter.SnapshotState(ctx, name)
		cancel()
		switch {
		case errors.Is(err, ErrNoState):
		case err != nil:
			w.c.logger().Error("state snapshot failed", "topic", name, "err", err)
		case len(st.Data) > protocol.MaxSnapshotData:
			w.c.logger().Error("state snapshot too large", "topic", name, "bytes", len(st.Data), "max", protocol.MaxSnapshotData)
		case st.Position.Epoch != pe.Head.Epoch && st.Position.Seq > 0:
			w.c.logger().Error("state snapshot of another epoch", "topic", name, "snapshot", st.Position, "head", pe.Head)
		default:
			pos = st.Position
			if pos.Seq == 0 {
				pos.Epoch = pe.Head.Epoch
			}
			ev.Flags |= protocol.EventSnapshot
			ev.Data = st.Data
		}
	}
	ev.Seq, ev.Epoch = pos.Seq, pos.Epoch
	if ev.Data == nil {
		ev.Data = []byte{}
	}
	w.c.logger().Info("history lost", "topic", name, "position", pe.Pos, "reason", pe.Err, "continue_after", pos, "snapshot", ev.Flags&protocol.EventSnapshot != 0)
	w.appendArena(func(dst []byte) []byte {
		b, err := enc.AppendEvent(dst, &ev)
		if err != nil {
			panic(err)
		}
		return b
	})
	// Check the new position on the next read: the journal may have moved.
	w.setCursor(sb, pos.Seq+1, pos.Epoch, true)
	return nil
}
