package recovery

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A request's state: the committer takes it (pending -> taken) or the caller
// gives up on it (pending -> cancelled), never both. So a caller that gets
// ctx.Err() knows its records were not written.
const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// request is one Append or Trim waiting for the committer.
type request struct {
	stream  string
	recs    []Record // Append; read by the committer while the caller waits
	size    int      // payload bytes
	queued  int64    // Append: when it was called (UnixNano), for the journal's lag
	trim    bool
	through uint64 // Trim

	state atomic.Int32
	off   int // offset of the first record in the batch arena
	pos   Position
	err   error
	done  chan struct{} // closed when pos/err are set
}

// trimChunk bounds the deletions of one Trim transaction, so that trimming a
// long history does not build one huge transaction.
const trimChunk = 1 << 16

// run is the committer goroutine: the only writer of the bbolt file and of
// j.streams. It takes a request, gathers every append already queued behind
// it (up to MaxBatchRecords/MaxBatchBytes) and commits them in one
// transaction, so concurrent appenders share one fsync: while a commit is
// being fsynced, new appends queue up and form the next batch. A lone
// appender pays one commit per Append and never waits for company; with
// several, the committer may linger briefly (see MaxBatchDelay).
func (j *BoltJournal) run() {
	defer close(j.done)
	var carry *request
	batch := make([]*request, 0, 64)
	var timer *time.Timer
	prevReqs := 0                // requests in the previous batch
	var lastCommit time.Duration // duration of the previous commit
	for {
		r := carry
		carry = nil
		if r == nil {
			var ok bool
			if r, ok = j.next(); !ok {
				return
			}
		}
		if r.trim {
			j.trim(r)
			continue
		}
		j.oldestPending.Store(r.queued) // FIFO: the oldest not yet committed
		batch = append(batch[:0], r)
		n, size := len(r.recs), r.size
		// add takes r into the batch unless it does not fit (or is a
		// trim): then it is carried over to the next round.
		add := func(r *request) bool {
			if r.trim || n+len(r.recs) > j.opts.MaxBatchRecords || size+r.size > j.opts.MaxBatchBytes {
				carry = r
				return false
			}
			batch = append(batch, r)
			n += len(r.recs)
			size += r.size
			return true
		}
	gather:
		for {
			select {
			case r := <-j.reqs:
				if !add(r) {
					break gather
				}
			default:
				break gather
			}
		}
		// Linger: the callers answered by the previous commit are waking up
		// and will append again within microseconds; waiting a little for
		// them (at most MaxBatchDelay, and at most a quarter of the last
		// commit's duration) keeps batches full instead of alternating big
		// and small. A lone appender (prevReqs 1) never waits.
		if carry == nil && len(batch) < prevReqs && j.opts.MaxBatchDelay > 0 && !j.stopping() {
			if d := min(j.opts.MaxBatchDelay, lastCommit/4); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
			linger:
				for len(batch) < prevReqs {
					select {
					case r := <-j.reqs:
						if !add(r) {
							break linger
						}
					case <-timer.C:
						break linger
					}
				}
				timer.Stop()
			}
		}
		start := time.Now()
		j.commit(batch)
		lastCommit = time.Since(start)
		j.lastCommit.Store(int64(lastCommit))
		j.oldestPending.Store(0)
		prevReqs = len(batch)
		clear(batch)
	}
}

func (j *BoltJournal) stopping() bool {
	select {
	case <-j.stop:
		return true
	default:
		return false
	}
}

// next waits for a request. After Close it drains what was queued and then
// reports false.
func (j *BoltJournal) next() (*request, bool) {
	select {
	case r := <-j.reqs:
		return r, true
	case <-j.stop:
		select {
		case r := <-j.reqs:
			return r, true
		default:
			return nil, false
		}
	}
}

// commit writes one group of appends in one transaction and answers them.
func (j *BoltJournal) commit(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	answer := func(err error) {
		for _, r := range live {
			r.err = err
			close(r.done)
		}
	}
	if err := j.failed(); err != nil {
		answer(err)
		return
	}
	states, arena, nrec, err := j.write(live)
	if err != nil {
		answer(err)
		return
	}
	j.commits.Add(1)
	j.records.Add(uint64(nrec))
	if j.opts.Sync != SyncAlways {
		j.lag.committed(uint64(nrec), live[0].queued)
	}
	j.mu.Lock()
	for name, st := range states {
		j.streams[name] = st
	}
	j.mu.Unlock()
	// Publish before answering, in batch order (sequence order per stream),
	// so that a returned Append is already queued to every subscriber.
	for _, r := range live {
		if j.hub.HasSubscribers(r.stream) {
			j.hub.Publish(r.stream, batchEntries(r, arena))
		}
		close(r.done)
	}
}

// write runs the transaction of one batch. It returns the streams' new
// states (fresh copies, installed by the caller) and the arena holding the
// keys, times and payloads, which published entries share.
//
// Arena layout per record: seq (8 bytes BE) | time (8 bytes BE) | payload.
// The first 8 bytes are the bbolt key, the rest the value; bbolt keeps
// references to both until the commit, and nothing writes them afterwards.
func (j *BoltJournal) write(live []*request) (map[string]*streamState, []byte, int, error) {
	total, nrec := 0, 0
	for _, r := range live {
		total += r.size + 16*len(r.recs)
		nrec += len(r.recs)
	}
	arena := make([]byte, 0, total)
	states := make(map[string]*streamState, 1)
	buckets := make(map[string]*bolt.Bucket, 1)
	now := time.Now().UnixNano()

	tx, err := j.db.Begin(true)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("recovery: journal %s: begin: %w", j.path, err)
	}
	sb, eb := tx.Bucket(bucketStreams), tx.Bucket(bucketEntries)
	for _, r := range live {
		st, b := states[r.stream], buckets[r.stream]
		if st == nil {
			j.mu.RLock()
			cached := j.streams[r.stream]
			j.mu.RUnlock()
			if cached != nil {
				c := *cached
				st = &c
				b = eb.Bucket([]byte(r.stream))
			} else {
				// A new history: mint its epoch.
				st = &streamState{epoch: NewEpoch(), first: 1}
				if b, err = eb.CreateBucket([]byte(r.stream)); err != nil {
					_ = tx.Rollback()
					return nil, nil, 0, fmt.Errorf("recovery: journal %s: create stream %q: %w", j.path, r.stream, err)
				}
			}
			b.FillPercent = 1.0 // append-only keys: pack pages full
			states[r.stream], buckets[r.stream] = st, b
		}
		r.off = len(arena)
		for _, rec := range r.recs {
			st.head++
			t := rec.Time
			if t == 0 {
				t = now
			}
			off := len(arena)
			arena = binary.BigEndian.AppendUint64(arena, st.head)
			arena = binary.BigEndian.AppendUint64(arena, uint64(t))
			arena = append(arena, rec.Data...)
			if err := b.Put(arena[off:off+8:off+8], arena[off+8:len(arena):len(arena)]); err != nil {
				_ = tx.Rollback()
				return nil, nil, 0, fmt.Errorf("recovery: journal %s: put %q seq %d: %w", j.path, r.stream, st.head, err)
			}
			if rec.Key != "" {
				if err := putKey(tx, r.stream, arena[off:off+8:off+8], rec.Key); err != nil {
					_ = tx.Rollback()
					return nil, nil, 0, fmt.Errorf("recovery: journal %s: put key of %q seq %d: %w", j.path, r.stream, st.head, err)
				}
			}
		}
		r.pos = Position{Seq: st.head, Epoch: st.epoch}
	}
	for name, st := range states {
		if err := sb.Put([]byte(name), encodeState(st)); err != nil {
			_ = tx.Rollback()
			return nil, nil, 0, fmt.Errorf("recovery: journal %s: put state %q: %w", j.path, name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		// Failed commits may have written part of the pages and a failed
		// fsync leaves the page cache in an unknown state: stop writing.
		return nil, nil, 0, j.fail(fmt.Errorf("commit: %w", err))
	}
	return states, arena, nrec, nil
}

// trimKeys deletes the keys of stream's records up to seq through.
func trimKeys(tx *bolt.Tx, stream []byte, through uint64) error {
	kb := tx.Bucket(bucketKeys)
	if kb == nil {
		return nil
	}
	b := kb.Bucket(stream)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil && (len(k) != 8 || binary.BigEndian.Uint64(k) <= through); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// putKey stores the key of stream's record seq (8 bytes BE), making the
// buckets on first use.
func putKey(tx *bolt.Tx, stream string, seq []byte, key string) error {
	kb, err := tx.CreateBucketIfNotExists(bucketKeys)
	if err != nil {
		return err
	}
	b, err := kb.CreateBucketIfNotExists([]byte(stream))
	if err != nil {
		return err
	}
	b.FillPercent = 1.0 // append-only keys
	return b.Put(seq, []byte(key))
}

// batchEntries builds the entries of r from the batch arena.
func batchEntries(r *request, arena []byte) []Entry {
	es := make([]Entry, len(r.recs))
	seq := r.pos.Seq - uint64(len(r.recs))
	off := r.off
	for i, rec := range r.recs {
		end := off + 16 + len(rec.Data)
		es[i] = Entry{
			Stream: r.stream,
			Seq:    seq + 1 + uint64(i),
			Epoch:  r.pos.Epoch,
			Time:   int64(binary.BigEndian.Uint64(arena[off+8:])),
			Data:   arena[off+16 : end : end],
			Key:    rec.Key,
		}
		off = end
	}
	return es
}

// trim executes one Trim request, in chunks of trimChunk entries per
// transaction.
func (j *BoltJournal) trim(r *request) {
	if !r.state.CompareAndSwap(reqPending, reqTaken) {
		return
	}
	defer close(r.done)
	if r.err = j.failed(); r.err != nil {
		return
	}
	j.mu.RLock()
	cached := j.streams[r.stream]
	j.mu.RUnlock()
	st := streamState{first: 1}
	if cached != nil {
		st = *cached
	}
	if r.through > st.head {
		r.err = &PositionError{Stream: r.stream, Pos: Position{Seq: r.through, Epoch: st.epoch},
			Head: Position{Seq: st.head, Epoch: st.epoch}, First: st.first, Err: ErrPositionAhead}
		return
	}
	name := []byte(r.stream)
	for st.first <= r.through {
		end := min(r.through, st.first+trimChunk-1)
		next := st
		next.first = end + 1
		err := j.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketEntries).Bucket(name)
			k := make([]byte, 8)
			for s := st.first; s <= end; s++ {
				binary.BigEndian.PutUint64(k, s)
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			if err := trimKeys(tx, name, end); err != nil {
				return err
			}
			return tx.Bucket(bucketStreams).Put(name, encodeState(&next))
		})
		if err != nil {
			r.err = j.fail(fmt.Errorf("trim %q through %d: %w", r.stream, r.through, err))
			return
		}
		st = next
		j.mu.Lock()
		j.streams[r.stream] = &next
		j.mu.Unlock()
	}
}
