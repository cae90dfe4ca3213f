package fix

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"

	"tickwire/recovery"
)

// The journal message store keeps a FIX session's message store (next
// sender and target MsgSeqNum, creation time, sent messages for resend) in
// one stream of the gateway's journal, so that a gateway on any machine
// holding the journal (a raft follower that becomes the leader, or a copy
// of a bbolt file) continues the session: the same sequence numbers, the
// same creation time (the store epoch the order journal's marks refer to)
// and the sent messages a ResendRequest asks for.
//
// The stream (storeStream) holds binary records, first byte the type:
//
//	'R' ct                  reset: a new history (creation time ct, unix ns), next sender = next target = 1
//	'C' ct sender target    checkpoint: the whole state, so the records before it can be trimmed
//	'M' seq msg             a sent message (saved and next sender = seq+1)
//	'm' seq msg             a message saved without advancing the sender number
//	'S' next                next sender MsgSeqNum set
//	'T' next                next target MsgSeqNum set
//
// (numbers are unsigned varints, ct a signed varint.) The first retained
// record is always an 'R' or a 'C': the store trims only just before a
// checkpoint.
//
// Writes are asynchronous and ordered: each change is applied in memory
// and queued, and one flusher goroutine per store appends everything queued
// in one Append (many messages, one commit; the journal group-commits the
// appends of several sessions and of the order journal). Durability before
// sending is enforced where bytes leave the process: the acceptor's
// connections wait for the stores' queued records to be durable before
// writing to the socket (bufferedConn.durable). So every message the
// counterparty can have seen is in the journal, and a new gateway never
// reuses a sequence number (which makes the counterparty log out) nor
// answers a ResendRequest without a message it sent. A message in the
// journal but never sent is harmless: it was given its number, and the
// counterparty gets it by resend.
//
// A failed Append (or Trim) is sticky: the store refuses every later write,
// the waiting connections are closed, and the gateway is told (onFail) so
// that it stops: for the raft journal this is the fencing of a deposed
// leader.

// Record types of the store stream.
const (
	jsReset      = 'R'
	jsCheckpoint = 'C'
	jsMessage    = 'M'
	jsSaved      = 'm'
	jsSender     = 'S'
	jsTarget     = 'T'
)

// StoreRetention bounds the sent messages a journal message store keeps per
// session. A ResendRequest for older messages is answered with a gap fill.
type StoreRetention struct {
	// MaxMessages keeps about this many newest sent messages (at least
	// this many, and at most a quarter more). Default 50,000.
	MaxMessages int
	// MaxBytes keeps about this many bytes of the newest sent messages.
	// Default 32 MiB.
	MaxBytes int
}

func (r StoreRetention) withDefaults() StoreRetention {
	if r.MaxMessages <= 0 {
		r.MaxMessages = 50_000
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 32 << 20
	}
	return r
}

// storeStreamPrefix starts the name of every store stream.
const storeStreamPrefix = "fix.store."

// storeStream names the journal stream of a session's message store:
// "fix.store.<SenderCompID>-<TargetCompID>[-<SessionQualifier>]", each part
// escaped (letters, digits and '_' as they are, any other byte as %XX) so
// that distinct sessions never share a stream. Only FIX.4.4 sessions exist
// (prepareSettings), so the BeginString is left out.
func storeStream(id quickfix.SessionID) string {
	var b strings.Builder
	b.WriteString(storeStreamPrefix)
	escapeStreamPart(&b, id.SenderCompID)
	b.WriteByte('-')
	escapeStreamPart(&b, id.TargetCompID)
	if id.Qualifier != "" {
		b.WriteByte('-')
		escapeStreamPart(&b, id.Qualifier)
	}
	return b.String()
}

func escapeStreamPart(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// journalStoreFactory creates journal message stores.
type journalStoreFactory struct {
	j      recovery.Journal
	ret    StoreRetention
	clock  func() time.Time
	log    *slog.Logger
	onFail func(error) // called once per store on its first write failure
}

// Create implements quickfix.MessageStoreFactory: it replays the session's
// stream (creating it with a reset record if new).
func (f *journalStoreFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	return openJournalStore(f.j, storeStream(id), f.ret.withDefaults(), f.clock, f.log, f.onFail)
}

// checkpointRef is a checkpoint or reset record that is durable: its
// journal seq and the count and bytes of message records queued before it.
type checkpointRef struct {
	jseq  uint64
	msgs  uint64
	bytes uint64
	reset bool
}

// journalStore is a quickfix.MessageStore in a journal stream (see the
// file comment). All methods are safe for concurrent use.
type journalStore struct {
	j      recovery.Journal
	stream string
	ret    StoreRetention
	clock  func() time.Time
	log    *slog.Logger
	onFail func(error)

	mu      sync.Mutex
	cond    *sync.Cond      // broadcast when durable, err or closing change
	ct      time.Time       // guarded by mu
	sender  int             // next sender MsgSeqNum; guarded by mu
	target  int             // next target MsgSeqNum; guarded by mu
	queue   []queuedRecord  // not yet handed to Append; guarded by mu
	queued  uint64          // records ever queued; guarded by mu
	durable uint64          // records ever made durable; guarded by mu
	msgs    uint64          // message records ever queued; guarded by mu
	bytes   uint64          // their bytes; guarded by mu
	sinceCk uint64          // message records queued since the last checkpoint; guarded by mu
	bytesCk uint64          // their bytes; guarded by mu
	err     error           // sticky write failure; guarded by mu
	closing bool            // guarded by mu
	ckpts   []checkpointRef // durable checkpoints not trimmed, ascending; guarded by mu
	trimmed uint64          // journal seq trimmed through; guarded by mu

	// scan is held for reading by IterateMessages and for writing by a
	// Trim, so that a scan never loses its place.
	scan sync.RWMutex
	done chan struct{} // closed when the flusher exits
}

// queuedRecord is a record waiting for the flusher, with the counters a
// checkpoint needs once its journal seq is known.
type queuedRecord struct {
	rec   recovery.Record
	ck    bool // a checkpoint or reset
	reset bool
	msgs  uint64 // message records queued before it (checkpoints)
	bytes uint64
}

var _ quickfix.MessageStore = (*journalStore)(nil)

// openJournalStore replays stream and starts the flusher.
func openJournalStore(j recovery.Journal, stream string, ret StoreRetention, clock func() time.Time,
	log *slog.Logger, onFail func(error)) (*journalStore, error) {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &journalStore{j: j, stream: stream, ret: ret, clock: clock, log: log, onFail: onFail, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	ctx := context.Background()
	head, err := j.Head(stream)
	if err != nil {
		return nil, fmt.Errorf("fix: message store %s: %w", stream, err)
	}
	if head.Seq == 0 {
		s.ct = s.newCreationTime(time.Time{})
		s.sender, s.target = 1, 1
		pos, err := j.Append(ctx, stream, recovery.Record{Time: clock().UnixNano(), Data: encodeReset(nil, s.ct)})
		if err != nil {
			return nil, fmt.Errorf("fix: message store %s: %w", stream, err)
		}
		s.ckpts = []checkpointRef{{jseq: pos.Seq, reset: true}}
	} else if err := s.replay(ctx); err != nil {
		return nil, err
	}
	go s.flusher()
	return s, nil
}

// newCreationTime returns the time of a new history: now, as unix
// nanoseconds (what the stream keeps), after prev.
func (s *journalStore) newCreationTime(prev time.Time) time.Time {
	ct := time.Unix(0, s.clock().UnixNano())
	if !ct.After(prev) {
		ct = prev.Add(time.Nanosecond)
	}
	return ct
}

// replay rebuilds the state from the retained records.
func (s *journalStore) replay(ctx context.Context) error {
	first := true
	return scanStream(ctx, s.j, s.stream, func(e recovery.Entry) error {
		r, err := decodeStoreRecord(e.Data)
		if err != nil {
			return fmt.Errorf("fix: message store %s seq %d: %w", s.stream, e.Seq, err)
		}
		if first {
			first = false
			s.trimmed = e.Seq - 1
			if r.typ != jsReset && r.typ != jsCheckpoint {
				return fmt.Errorf("fix: message store %s: first retained record (seq %d) is not a checkpoint: the stream was trimmed by something else than the store", s.stream, e.Seq)
			}
		}
		switch r.typ {
		case jsReset:
			s.ct, s.sender, s.target = r.ct, 1, 1
			s.ckpts = append(s.ckpts, checkpointRef{jseq: e.Seq, msgs: s.msgs, bytes: s.bytes, reset: true})
			s.sinceCk, s.bytesCk = 0, 0
		case jsCheckpoint:
			s.ct, s.sender, s.target = r.ct, r.sender, r.target
			s.ckpts = append(s.ckpts, checkpointRef{jseq: e.Seq, msgs: s.msgs, bytes: s.bytes})
			s.sinceCk, s.bytesCk = 0, 0
		case jsMessage, jsSaved:
			if r.typ == jsMessage {
				s.sender = r.seq + 1
			}
			s.msgs++
			s.bytes += uint64(len(r.msg))
			s.sinceCk++
			s.bytesCk += uint64(len(r.msg))
		case jsSender:
			s.sender = r.seq
		case jsTarget:
			s.target = r.seq
		}
		return nil
	})
}

// scanStream calls fn for each retained entry of stream, in order, from
// the first retained one (a trim while it runs restarts it there).
func scanStream(ctx context.Context, j recovery.Journal, stream string, fn func(recovery.Entry) error) error {
	var pos recovery.Position
	for range 3 { // a restart after a concurrent trim; the store's own scans hold scan
		err := scanFrom(ctx, j, stream, pos, fn)
		var pe *recovery.PositionError
		if errors.As(err, &pe) && errors.Is(pe.Err, recovery.ErrPositionTooOld) && pos.IsZero() {
			pos = recovery.Position{Seq: pe.First - 1, Epoch: pe.Head.Epoch}
			continue
		}
		return err
	}
	return fmt.Errorf("fix: message store %s: trimmed while read", stream)
}

func scanFrom(ctx context.Context, j recovery.Journal, stream string, pos recovery.Position, fn func(recovery.Entry) error) error {
	for {
		es, err := j.ReadFrom(ctx, stream, pos, recovery.DefaultReadLimit)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
			pos = e.Position()
		}
		if len(es) < recovery.DefaultReadLimit {
			return nil
		}
	}
}

// enqueueLocked applies nothing: it queues rec for the flusher. Lock must
// be held.
func (s *journalStore) enqueueLocked(data []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.closing {
		return errStoreClosed
	}
	s.queue = append(s.queue, queuedRecord{rec: recovery.Record{Time: s.clock().UnixNano(), Data: data}})
	s.queued++
	s.cond.Broadcast()
	return nil
}

var errStoreClosed = errors.New("fix: message store closed")

// enqueueCheckpointLocked queues a checkpoint or reset record. Lock must be
// held.
func (s *journalStore) enqueueCheckpointLocked(data []byte, reset bool) error {
	if err := s.enqueueLocked(data); err != nil {
		return err
	}
	q := &s.queue[len(s.queue)-1]
	q.ck, q.reset, q.msgs, q.bytes = true, reset, s.msgs, s.bytes
	s.sinceCk, s.bytesCk = 0, 0
	return nil
}

// checkpointDue queues a checkpoint when a quarter of the retention was
// written since the last one. Lock must be held.
func (s *journalStore) checkpointDueLocked() error {
	if s.sinceCk < uint64(max(s.ret.MaxMessages/4, 1)) && s.bytesCk < uint64(max(s.ret.MaxBytes/4, 1)) {
		return nil
	}
	return s.enqueueCheckpointLocked(encodeCheckpoint(nil, s.ct, s.sender, s.target), false)
}

// Bounds of one flush (one Append).
const (
	maxFlushRecords = 4096
	maxFlushBytes   = 1 << 20
)

// flusher appends what is queued, in order, one Append at a time, and
// trims what retention no longer needs.
func (s *journalStore) flusher() {
	defer close(s.done)
	ctx := context.Background()
	var batch []queuedRecord
	var recs []recovery.Record
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing && s.err == nil {
			s.cond.Wait()
		}
		if s.err != nil || len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		// At most maxFlushRecords records and about maxFlushBytes per
		// Append: a journal bounds one command (the raft journal: 4 MiB).
		n, size := 0, 0
		for n < len(s.queue) && n < maxFlushRecords && (n == 0 || size+len(s.queue[n].rec.Data) <= maxFlushBytes) {
			size += len(s.queue[n].rec.Data)
			n++
		}
		batch = append(batch[:0], s.queue[:n]...)
		rest := copy(s.queue, s.queue[n:])
		clear(s.queue[rest:])
		s.queue = s.queue[:rest]
		s.mu.Unlock()

		recs = recs[:0]
		for _, q := range batch {
			recs = append(recs, q.rec)
		}
		pos, err := s.j.Append(ctx, s.stream, recs...)
		var through uint64
		s.mu.Lock()
		if err != nil {
			s.failLocked(fmt.Errorf("fix: message store %s: append: %w", s.stream, err))
			s.mu.Unlock()
			return
		}
		first := pos.Seq + 1 - uint64(len(batch))
		for i, q := range batch {
			if q.ck {
				s.ckpts = append(s.ckpts, checkpointRef{jseq: first + uint64(i), msgs: q.msgs, bytes: q.bytes, reset: q.reset})
			}
		}
		s.durable += uint64(len(batch))
		through = s.trimPointLocked()
		s.cond.Broadcast()
		s.mu.Unlock()
		clear(batch)
		// A resend scanning the stream defers the trim to a later flush
		// rather than stall the appends every connection waits for.
		if through > 0 && s.scan.TryLock() {
			err := s.j.Trim(ctx, s.stream, through)
			s.scan.Unlock()
			s.mu.Lock()
			if err != nil {
				s.failLocked(fmt.Errorf("fix: message store %s: trim: %w", s.stream, err))
				s.mu.Unlock()
				return
			}
			s.trimmed = through
			i := 0
			for i < len(s.ckpts) && s.ckpts[i].jseq <= through {
				i++
			}
			s.ckpts = slices.Delete(s.ckpts, 0, i)
			s.mu.Unlock()
		}
	}
}

// trimPointLocked returns the journal seq to trim through (0: nothing):
// just before the newest checkpoint that still leaves the retention's
// worth of messages after it, or before the newest reset (the messages of
// an older history are never resent). Lock must be held.
func (s *journalStore) trimPointLocked() uint64 {
	var cut uint64
	for _, c := range s.ckpts {
		if c.reset || s.msgs-c.msgs >= uint64(s.ret.MaxMessages) || s.bytes-c.bytes >= uint64(s.ret.MaxBytes) {
			cut = c.jseq
		}
	}
	if cut <= s.trimmed+1 {
		return 0
	}
	return cut - 1
}

// failLocked records the first write failure and tells the gateway. Lock
// must be held.
func (s *journalStore) failLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	s.queue = nil
	s.cond.Broadcast()
	s.log.Error("fix message store failed: the gateway stops", "stream", s.stream, "err", err)
	if s.onFail != nil {
		go s.onFail(err)
	}
}

// fail makes the store refuse every later write (the gateway is stopping
// on another failure: nothing more may be sent).
func (s *journalStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.queue = nil
		s.cond.Broadcast()
	}
}

// waitDurable waits until every record queued before the call is durable.
// It fails on a write failure, or after timeout (> 0).
func (s *journalStore) waitDurable(timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.queued
	if s.durable >= want && s.err == nil {
		return nil
	}
	var expired bool
	if timeout > 0 {
		t := time.AfterFunc(timeout, func() {
			s.mu.Lock()
			expired = true
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		defer t.Stop()
	}
	for s.durable < want && s.err == nil && !expired {
		s.cond.Wait()
	}
	switch {
	case s.err != nil:
		return s.err
	case s.durable < want:
		return fmt.Errorf("fix: message store %s: not durable after %v", s.stream, timeout)
	}
	return nil
}

func (s *journalStore) NextSenderMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sender
}

func (s *journalStore) NextTargetMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.target
}

func (s *journalStore) IncrNextSenderMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setSenderLocked(s.sender + 1)
}

func (s *journalStore) IncrNextTargetMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setTargetLocked(s.target + 1)
}

func (s *journalStore) SetNextSenderMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setSenderLocked(next)
}

func (s *journalStore) SetNextTargetMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setTargetLocked(next)
}

func (s *journalStore) setSenderLocked(next int) error {
	if next < 1 {
		return fmt.Errorf("fix: message store: next sender MsgSeqNum %d", next)
	}
	if err := s.enqueueLocked(encodeNumber(nil, jsSender, next)); err != nil {
		return err
	}
	s.sender = next
	return nil
}

func (s *journalStore) setTargetLocked(next int) error {
	if next < 1 {
		return fmt.Errorf("fix: message store: next target MsgSeqNum %d", next)
	}
	if err := s.enqueueLocked(encodeNumber(nil, jsTarget, next)); err != nil {
		return err
	}
	s.target = next
	return nil
}

// CreationTime is the time of the current history, from the stream: the
// same on every gateway that reads it.
func (s *journalStore) CreationTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ct
}

// SetCreationTime does nothing, as in quickfix's FileStore: the creation
// time changes only with Reset.
func (s *journalStore) SetCreationTime(time.Time) {}

func (s *journalStore) SaveMessage(seq int, msg []byte) error {
	return s.save(jsSaved, seq, msg)
}

func (s *journalStore) SaveMessageAndIncrNextSenderMsgSeqNum(seq int, msg []byte) error {
	return s.save(jsMessage, seq, msg)
}

func (s *journalStore) save(typ byte, seq int, msg []byte) error {
	if seq < 1 {
		return fmt.Errorf("fix: message store: MsgSeqNum %d", seq)
	}
	data := make([]byte, 0, 1+binary.MaxVarintLen64+len(msg))
	data = append(data, typ)
	data = binary.AppendUvarint(data, uint64(seq))
	data = append(data, msg...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enqueueLocked(data); err != nil {
		return err
	}
	if typ == jsMessage {
		s.sender = seq + 1
	}
	s.msgs++
	s.bytes += uint64(len(msg))
	s.sinceCk++
	s.bytesCk += uint64(len(msg))
	return s.checkpointDueLocked()
}

func (s *journalStore) GetMessages(begin, end int) ([][]byte, error) {
	var out [][]byte
	err := s.IterateMessages(begin, end, func(m []byte) error {
		out = append(out, m)
		return nil
	})
	return out, err
}

// IterateMessages gives the retained messages of the current history with
// begin <= MsgSeqNum <= end, each number once (its last copy), in order.
// It waits for the queued records first, then reads the stream.
func (s *journalStore) IterateMessages(begin, end int, cb func([]byte) error) error {
	if err := s.waitDurable(0); err != nil {
		return err
	}
	if end < begin {
		return nil
	}
	s.scan.RLock()
	got := make(map[int][]byte)
	err := scanStream(context.Background(), s.j, s.stream, func(e recovery.Entry) error {
		r, err := decodeStoreRecord(e.Data)
		if err != nil {
			return fmt.Errorf("fix: message store %s seq %d: %w", s.stream, e.Seq, err)
		}
		switch r.typ {
		case jsReset:
			clear(got)
		case jsSender:
			// Numbers from next on will be used again: older copies are stale.
			for q := range got {
				if q >= r.seq {
					delete(got, q)
				}
			}
		case jsMessage, jsSaved:
			if r.seq >= begin && r.seq <= end {
				got[r.seq] = r.msg
			}
		}
		return nil
	})
	s.scan.RUnlock()
	if err != nil {
		return err
	}
	seqs := make([]int, 0, len(got))
	for q := range got {
		seqs = append(seqs, q)
	}
	slices.Sort(seqs)
	for _, q := range seqs {
		if err := cb(got[q]); err != nil {
			return err
		}
	}
	return nil
}

// lastCopyOnly tells gatedStore that IterateMessages already gives each
// number once.
func (s *journalStore) lastCopyOnly() {}

// Refresh waits for the queued records: the store is the stream's only
// writer, so its memory is what the stream holds.
func (s *journalStore) Refresh() error { return s.waitDurable(0) }

// Reset starts a new history: a new creation time, both numbers at 1, no
// messages to resend.
func (s *journalStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ct := s.newCreationTime(s.ct)
	if err := s.enqueueCheckpointLocked(encodeReset(nil, ct), true); err != nil {
		return err
	}
	s.ct, s.sender, s.target = ct, 1, 1
	return nil
}

// Close writes what is queued and stops the flusher. The journal stays
// open (it is the gateway's). It returns the store's write failure, if any.
func (s *journalStore) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// storeRecord is a decoded store record.
type storeRecord struct {
	typ            byte
	ct             time.Time
	seq            int // message seq, or the number of 'S' and 'T'
	sender, target int
	msg            []byte
}

func encodeReset(b []byte, ct time.Time) []byte {
	b = append(b, jsReset)
	return binary.AppendVarint(b, ct.UnixNano())
}

func encodeCheckpoint(b []byte, ct time.Time, sender, target int) []byte {
	b = append(b, jsCheckpoint)
	b = binary.AppendVarint(b, ct.UnixNano())
	b = binary.AppendUvarint(b, uint64(sender))
	return binary.AppendUvarint(b, uint64(target))
}

func encodeNumber(b []byte, typ byte, n int) []byte {
	b = append(b, typ)
	return binary.AppendUvarint(b, uint64(n))
}

// maxStoreSeq bounds a decoded sequence number: int on every platform.
const maxStoreSeq = 1<<31 - 1

func decodeStoreRecord(data []byte) (storeRecord, error) {
	if len(data) == 0 {
		return storeRecord{}, errors.New("empty store record")
	}
	r := storeRecord{typ: data[0]}
	p := data[1:]
	num := func() (int, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 || v < 1 || v > maxStoreSeq {
			return 0, fmt.Errorf("bad number in %q record", r.typ)
		}
		p = p[n:]
		return int(v), nil
	}
	var err error
	switch r.typ {
	case jsReset, jsCheckpoint:
		v, n := binary.Varint(p)
		if n <= 0 {
			return r, fmt.Errorf("bad creation time in %q record", r.typ)
		}
		p = p[n:]
		r.ct = time.Unix(0, v)
		if r.typ == jsCheckpoint {
			if r.sender, err = num(); err != nil {
				return r, err
			}
			if r.target, err = num(); err != nil {
				return r, err
			}
		}
	case jsMessage, jsSaved:
		if r.seq, err = num(); err != nil {
			return r, err
		}
		r.msg, p = p, nil
	case jsSender, jsTarget:
		if r.seq, err = num(); err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("unknown store record type %q", r.typ)
	}
	if len(p) != 0 {
		return r, fmt.Errorf("%d trailing bytes in %q record", len(p), r.typ)
	}
	return r, nil
}
