package recovery

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"tickwire/internal/secfile"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SyncPolicy says when appended entries reach stable storage. See
// docs/recovery.md, "What is durable when".
type SyncPolicy int

const (
	// SyncAlways (the default): every commit is fsynced (fdatasync, twice:
	// data pages then meta page) before Append returns. An Append that
	// returned nil survives a process crash and a power loss.
	SyncAlways SyncPolicy = iota
	// SyncInterval: commits are not fsynced; a background goroutine fsyncs
	// every BoltOptions.SyncInterval, and Close fsyncs. Appends survive a
	// process crash (kill -9), but a power loss or kernel crash can lose the
	// last interval's appends and can corrupt the file (bbolt NoSync).
	SyncInterval
	// SyncNone: never fsync except at Close. For benchmarks and tests only.
	SyncNone
)

// String returns "always", "interval" or "none".
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// ParseSyncPolicy returns the policy String names.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	for _, p := range []SyncPolicy{SyncAlways, SyncInterval, SyncNone} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, errors.New("want always, interval or none")
}

// BoltOptions configures OpenBolt. Each field's zero value means the default
// given in its comment.
type BoltOptions struct {
	// Sync is the fsync policy. Default SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the fsync period under SyncInterval. Default 100ms.
	SyncInterval time.Duration

	// MaxBatchRecords caps the records of one group commit. Default 4096.
	// An Append larger than this is committed alone.
	MaxBatchRecords int
	// MaxBatchBytes caps the payload bytes of one group commit. Default
	// 4 MiB. An Append larger than this is committed alone.
	MaxBatchBytes int
	// MaxRecordSize is the largest accepted Record.Data. Default 1 MiB.
	MaxRecordSize int
	// MaxBatchDelay bounds how long the committer waits for the appenders
	// of its previous batch to come back before committing a smaller batch
	// (it never waits longer than a quarter of the previous commit, nor when
	// the previous batch had one Append). Default 200µs; negative: never
	// wait.
	MaxBatchDelay time.Duration
	// QueueLength is the number of Append calls that can wait for the
	// committer before callers block. Default 1024.
	QueueLength int

	// Retention, if not zero, is enforced every RetentionInterval by a
	// background goroutine (through Trim). Default: keep everything.
	Retention Retention
	// RetentionInterval defaults to 1 minute.
	RetentionInterval time.Duration

	// LockTimeout is how long OpenBolt waits for the file lock held by
	// another process (or another BoltJournal) on the same file. Default 1s.
	LockTimeout time.Duration
	// FileMode is the permission of a new file. Default 0o600.
	FileMode fs.FileMode

	// OnBackgroundError, if set, is called with errors of the background
	// goroutines (periodic fsync, retention). It must not call Close.
	// Default: ignored; a failed periodic fsync also makes later Appends
	// fail.
	OnBackgroundError func(error)
}

func (o BoltOptions) withDefaults() (BoltOptions, error) {
	if o.Sync < SyncAlways || o.Sync > SyncNone {
		return o, fmt.Errorf("%w: unknown sync policy %d", ErrInvalidArgument, int(o.Sync))
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBatchRecords, 4096)
	def(&o.MaxBatchBytes, 4<<20)
	def(&o.MaxRecordSize, 1<<20)
	def(&o.QueueLength, 1024)
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = 200 * time.Microsecond
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = time.Minute
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.FileMode == 0 {
		o.FileMode = 0o600
	}
	return o, nil
}

// BoltJournal is a Journal in one bbolt file.
//
// Layout: bucket "meta" holds the format version; bucket "streams" maps a
// stream name to its state (epoch, first retained seq, head seq); bucket
// "entries" holds one nested bucket per stream, keyed by the 8-byte
// big-endian seq, valued by the 8-byte big-endian time followed by the
// payload; bucket "keys" (made by the first keyed Append: a file written
// before keys existed has none, and an older binary ignores it) holds one
// nested bucket per stream that has keyed records, keyed by seq, valued by
// the Record's Key. Entries, keys and states change in the same bbolt
// transaction.
//
// Writes (Append, Trim) go through one committer goroutine, which gathers
// every Append waiting at the time into one transaction and one fsync (group
// commit); each caller waits for its own result. Reads use bbolt read
// transactions and do not wait for the committer.
type BoltJournal struct {
	path string
	db   *bolt.DB
	opts BoltOptions
	hub  *Hub

	mu      sync.RWMutex
	streams map[string]*streamState // guarded by mu; written by the committer only

	// closeMu: Append/Trim hold it for reading while checking closed and
	// queueing; Close holds it for writing to set closed. After closed is
	// set nothing more is queued, so the committer can drain and exit.
	closeMu sync.RWMutex
	closed  bool // guarded by closeMu
	reqs    chan *request
	stop    chan struct{} // closed by Close: drain reqs and exit
	done    chan struct{} // closed when the committer has exited

	failure atomic.Pointer[error] // sticky storage failure

	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	commits atomic.Uint64
	records atomic.Uint64

	// The journal's lag (Stats): records not yet durable.
	pending       atomic.Int64 // records in Append calls not yet answered
	oldestPending atomic.Int64 // UnixNano: Append of the batch being committed; 0 when idle
	lastCommit    atomic.Int64 // duration of the last group commit
	lag           unsyncedLag  // committed, not yet fsynced (SyncInterval, SyncNone)
	syncMu        sync.Mutex   // one fsync at a time: Sync, the periodic one, Close
}

// unsyncedLag counts the records committed but not yet fsynced.
type unsyncedLag struct {
	mu    sync.Mutex
	n     uint64
	since int64 // UnixNano: Append of the oldest of them; 0 when n is 0
}

// committed adds n records of a commit whose oldest Append was at queued.
func (l *unsyncedLag) committed(n uint64, queued int64) {
	l.mu.Lock()
	if l.n == 0 {
		l.since = queued
	}
	l.n += n
	l.mu.Unlock()
}

// snapshot returns the count and the time of the oldest.
func (l *unsyncedLag) snapshot() (uint64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.since
}

// synced removes the n records an fsync started at start has made durable.
// Records committed while it ran may not be: they count from start.
func (l *unsyncedLag) synced(n uint64, start int64) {
	l.mu.Lock()
	l.n -= n
	if l.n == 0 {
		l.since = 0
	} else {
		l.since = max(l.since, start)
	}
	l.mu.Unlock()
}

type streamState struct {
	epoch string
	first uint64 // lowest retained seq; head+1 when nothing is retained
	head  uint64
}

var _ Journal = (*BoltJournal)(nil)

var (
	bucketMeta    = []byte("meta")
	bucketStreams = []byte("streams")
	bucketEntries = []byte("entries")
	bucketKeys    = []byte("keys")
	keyFormat     = []byte("format")
)

const (
	formatVersion = "tickwire-journal/1"
	stateVersion  = 1
)

// OpenBolt opens the journal file at path, creating it (and its directory)
// if it does not exist. A new file is a new history: its streams get new
// epochs. A file that is not a journal (not a bbolt file, a bbolt file with
// other contents, an inconsistent journal) is refused with an error that
// wraps ErrCorrupt and names path; it is not modified.
func OpenBolt(path string, opts BoltOptions) (*BoltJournal, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("recovery: open journal %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("recovery: open journal %s: %w: not a regular file (%s)", path, ErrCorrupt, fi.Mode().Type())
	} else if err == nil {
		// Published events and orders: a journal others can rewrite (or
		// read) is not ours to trust, as the session secret beside it.
		if err := secfile.Check(path, fi, secfile.Private); err != nil {
			return nil, fmt.Errorf("recovery: open journal: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recovery: open journal %s: %w", path, err)
	}
	db, err := bolt.Open(path, opts.FileMode, &bolt.Options{
		Timeout:        opts.LockTimeout,
		NoSync:         opts.Sync != SyncAlways,
		NoFreelistSync: true, // as etcd: rebuilt by a scan at open, one page less per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, fmt.Errorf("recovery: open journal %s: %w: %w", path, ErrCorrupt, err)
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("recovery: open journal %s: locked by another process or journal (waited %v): %w", path, opts.LockTimeout, err)
		}
		return nil, fmt.Errorf("recovery: open journal %s: %w", path, err)
	}
	j := &BoltJournal{
		path:    path,
		db:      db,
		opts:    opts,
		hub:     NewHub(),
		streams: make(map[string]*streamState),
		reqs:    make(chan *request, opts.QueueLength),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if err := j.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("recovery: open journal %s: %w", path, err)
	}
	go j.run()
	ctx, cancel := context.WithCancel(context.Background())
	j.bgCancel = cancel
	if opts.Sync == SyncInterval {
		j.bg.Add(1)
		go j.syncLoop(ctx)
	}
	if !opts.Retention.IsZero() {
		j.bg.Add(1)
		go j.retentionLoop(ctx)
	}
	return j, nil
}

// load checks the file's format, creating the buckets in a new file, and
// loads the streams' states.
func (j *BoltJournal) load() error {
	var fresh bool
	err := j.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			// An empty bbolt file (new, or created by a crashed first
			// open) is ours to initialise; anything else is not.
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return errStop })
			if !empty {
				return fmt.Errorf("%w: bbolt file without a %q bucket (not a tickwire journal)", ErrCorrupt, bucketMeta)
			}
			fresh = true
			return nil
		}
		if v := meta.Get(keyFormat); string(v) != formatVersion {
			return fmt.Errorf("%w: format %q, want %q", ErrCorrupt, v, formatVersion)
		}
		return j.loadStreams(tx)
	})
	if err != nil || !fresh {
		return err
	}
	err = j.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketStreams); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketEntries)
		return err
	})
	if err != nil {
		return err
	}
	// Make the new file's directory entry and first commit durable.
	if err := j.db.Sync(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(j.path))
}

var errStop = errors.New("stop")

func (j *BoltJournal) loadStreams(tx *bolt.Tx) error {
	sb, eb := tx.Bucket(bucketStreams), tx.Bucket(bucketEntries)
	if sb == nil || eb == nil {
		return fmt.Errorf("%w: missing %q or %q bucket", ErrCorrupt, bucketStreams, bucketEntries)
	}
	err := sb.ForEach(func(k, v []byte) error {
		st, err := decodeState(v)
		if err != nil {
			return fmt.Errorf("%w: stream %q: %v", ErrCorrupt, k, err)
		}
		b := eb.Bucket(k)
		if b == nil {
			return fmt.Errorf("%w: stream %q has no entries bucket", ErrCorrupt, k)
		}
		// Entries and state are written in one transaction, so they agree
		// unless the file was tampered with; check the ends.
		c := b.Cursor()
		fk, _ := c.First()
		lk, _ := c.Last()
		if st.first <= st.head {
			if len(fk) != 8 || len(lk) != 8 || binary.BigEndian.Uint64(fk) != st.first || binary.BigEndian.Uint64(lk) != st.head {
				return fmt.Errorf("%w: stream %q: entries do not span %d..%d", ErrCorrupt, k, st.first, st.head)
			}
		} else if fk != nil {
			return fmt.Errorf("%w: stream %q: entries retained beyond its state", ErrCorrupt, k)
		}
		j.streams[string(k)] = st
		return nil
	})
	if err != nil {
		return err
	}
	return eb.ForEachBucket(func(k []byte) error {
		if sb.Get(k) == nil {
			return fmt.Errorf("%w: entries of unknown stream %q", ErrCorrupt, k)
		}
		return nil
	})
}

func encodeState(st *streamState) []byte {
	b := make([]byte, 17, 17+len(st.epoch))
	b[0] = stateVersion
	binary.BigEndian.PutUint64(b[1:], st.first)
	binary.BigEndian.PutUint64(b[9:], st.head)
	return append(b, st.epoch...)
}

func decodeState(b []byte) (*streamState, error) {
	if len(b) < 18 || b[0] != stateVersion {
		return nil, fmt.Errorf("bad state record (%d bytes)", len(b))
	}
	st := &streamState{
		first: binary.BigEndian.Uint64(b[1:]),
		head:  binary.BigEndian.Uint64(b[9:]),
		epoch: string(b[17:]),
	}
	if st.first == 0 || st.first > st.head+1 {
		return nil, fmt.Errorf("bad state record: first %d head %d", st.first, st.head)
	}
	return st, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// Path returns the journal's file.
func (j *BoltJournal) Path() string { return j.path }

// BoltStats counts the work of the committer since OpenBolt, and what is
// not yet durable: the journal's lag.
type BoltStats struct {
	Commits uint64 // bbolt write transactions for appends (each one fsync under SyncAlways)
	Records uint64 // records appended

	// Pending counts the records of Append calls not yet answered: queued
	// for the committer or in the commit (and its fsync) under way.
	Pending uint64
	// Unsynced counts the records committed (readable, acknowledged) but
	// not yet fsynced: always 0 under SyncAlways, whose commits include
	// their fsync; under SyncInterval they wait for the next periodic fsync,
	// under SyncNone for Sync or Close.
	Unsynced uint64
	// OldestNotDurable is when the oldest record of Pending or Unsynced was
	// handed to Append (approximately: see Stats); zero when nothing waits.
	OldestNotDurable time.Time
	// LastCommit is how long the last group commit took, its fsync included
	// under SyncAlways.
	LastCommit time.Duration
}

// Stats returns the committer's counters and the journal's lag. It takes no
// lock the committer holds while writing, so it answers while a commit is
// stuck. Records/Commits is the average group commit size.
func (j *BoltJournal) Stats() BoltStats {
	st := BoltStats{Commits: j.commits.Load(), Records: j.records.Load(), LastCommit: time.Duration(j.lastCommit.Load())}
	st.Pending = uint64(max(j.pending.Load(), 0))
	var since int64
	st.Unsynced, since = j.lag.snapshot()
	// The committer marks the oldest Append of the batch it is committing;
	// Appends still queued behind it are younger.
	if p := j.oldestPending.Load(); p != 0 && st.Pending > 0 && (since == 0 || p < since) {
		since = p
	}
	if since != 0 && st.Pending+st.Unsynced > 0 {
		st.OldestNotDurable = time.Unix(0, since)
	}
	return st
}

// Sync fsyncs what has been committed, making it durable. Under SyncAlways
// every commit is already fsynced and Sync has nothing to do.
func (j *BoltJournal) Sync() error {
	if j.opts.Sync == SyncAlways {
		return nil
	}
	if err := j.failed(); err != nil {
		return err
	}
	if err := j.sync(); err != nil {
		return j.fail(fmt.Errorf("fsync: %w", err))
	}
	return nil
}

// sync fsyncs the file and takes what it made durable off the lag.
func (j *BoltJournal) sync() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	start := time.Now().UnixNano()
	n, _ := j.lag.snapshot()
	if err := j.db.Sync(); err != nil {
		return err
	}
	j.lag.synced(n, start)
	return nil
}

// Append implements Journal; see the interface for its contract. With
// SyncAlways it returns once the records are fsynced.
func (j *BoltJournal) Append(ctx context.Context, stream string, recs ...Record) (Position, error) {
	if err := checkStream(stream); err != nil {
		return Position{}, err
	}
	if len(recs) == 0 {
		return j.Head(stream)
	}
	if err := checkKeys(recs); err != nil {
		return Position{}, err
	}
	size := 0
	for i, r := range recs {
		if len(r.Data) > j.opts.MaxRecordSize {
			return Position{}, fmt.Errorf("%w: record %d is %d bytes, max %d", ErrInvalidArgument, i, len(r.Data), j.opts.MaxRecordSize)
		}
		size += len(r.Data)
	}
	r := &request{stream: stream, recs: recs, size: size, queued: time.Now().UnixNano(), done: make(chan struct{})}
	j.pending.Add(int64(len(recs)))
	defer j.pending.Add(-int64(len(recs))) // answered: committed, failed or given up
	if err := j.do(ctx, r); err != nil {
		return Position{}, err
	}
	return r.pos, nil
}

// Trim implements Journal.
func (j *BoltJournal) Trim(ctx context.Context, stream string, through uint64) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	r := &request{stream: stream, trim: true, through: through, done: make(chan struct{})}
	return j.do(ctx, r)
}

// do queues r for the committer and waits for its result.
func (j *BoltJournal) do(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := j.queue(ctx, r); err != nil {
		return err
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err() // the committer will skip it: not written
		}
		<-r.done // already being committed: its outcome is the answer
		return r.err
	}
}

func (j *BoltJournal) queue(ctx context.Context, r *request) error {
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	if err := j.failed(); err != nil {
		return err
	}
	select {
	case j.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *BoltJournal) failed() error {
	if p := j.failure.Load(); p != nil {
		return *p
	}
	return nil
}

func (j *BoltJournal) fail(err error) error {
	err = fmt.Errorf("recovery: journal %s failed, refusing writes (outcome of in-flight appends unknown): %w", j.path, err)
	j.failure.CompareAndSwap(nil, &err)
	return *j.failure.Load()
}

// ReadFrom implements Journal.
func (j *BoltJournal) ReadFrom(ctx context.Context, stream string, after Position, limit int) ([]Entry, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalidArgument, limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if j.isClosed() {
		return nil, ErrClosed
	}
	var out []Entry
	err := j.db.View(func(tx *bolt.Tx) error {
		name := []byte(stream)
		v := tx.Bucket(bucketStreams).Get(name)
		if v == nil {
			return CheckRead(stream, after, "", 1, 0)
		}
		st, err := decodeState(v)
		if err != nil {
			return fmt.Errorf("%w: %s: stream %q: %v", ErrCorrupt, j.path, stream, err)
		}
		if err := CheckRead(stream, after, st.epoch, st.first, st.head); err != nil {
			return err
		}
		if after.Seq >= st.head {
			return nil
		}
		n := int(min(uint64(limit), st.head-after.Seq))
		vals := make([][]byte, 0, n)
		size := 0
		var keys *bolt.Cursor // nil: the stream has no keyed records
		if kb := tx.Bucket(bucketKeys); kb != nil {
			if b := kb.Bucket(name); b != nil {
				keys = b.Cursor()
			}
		}
		var kk, kv []byte
		if keys != nil {
			kk, kv = keys.Seek(seqKey(after.Seq + 1))
		}
		c := tx.Bucket(bucketEntries).Bucket(name).Cursor()
		want := after.Seq + 1
		for k, v := c.Seek(seqKey(want)); k != nil && len(vals) < n; k, v = c.Next() {
			if len(k) != 8 || binary.BigEndian.Uint64(k) != want || len(v) < 8 {
				return fmt.Errorf("%w: %s: stream %q: bad entry at seq %d", ErrCorrupt, j.path, stream, want)
			}
			vals = append(vals, v)
			size += len(v) - 8
			want++
		}
		// bbolt memory is only valid inside the transaction: copy out, one
		// allocation for all payloads.
		arena := make([]byte, 0, size)
		out = make([]Entry, len(vals))
		for i, v := range vals {
			off := len(arena)
			arena = append(arena, v[8:]...)
			seq := after.Seq + 1 + uint64(i)
			out[i] = Entry{
				Stream: stream,
				Seq:    seq,
				Epoch:  st.epoch,
				Time:   int64(binary.BigEndian.Uint64(v)),
				Data:   arena[off:len(arena):len(arena)],
			}
			if len(kk) == 8 && binary.BigEndian.Uint64(kk) == seq {
				out[i].Key = string(kv)
				kk, kv = keys.Next()
			}
		}
		return nil
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
}

// Head implements Journal. It reflects every Append that has returned.
func (j *BoltJournal) Head(stream string) (Position, error) {
	if err := checkStream(stream); err != nil {
		return Position{}, err
	}
	if j.isClosed() {
		return Position{}, ErrClosed
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	if st := j.streams[stream]; st != nil {
		return Position{Seq: st.head, Epoch: st.epoch}, nil
	}
	return Position{}, nil
}

// Streams implements Journal.
func (j *BoltJournal) Streams() ([]string, error) {
	if j.isClosed() {
		return nil, ErrClosed
	}
	j.mu.RLock()
	out := make([]string, 0, len(j.streams))
	for s := range j.streams {
		out = append(out, s)
	}
	j.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// Subscribe implements Journal. Entries are published after their commit
// (and fsync, under SyncAlways), before the Append that wrote them returns.
func (j *BoltJournal) Subscribe(stream string, buffer int) (*Subscription, error) {
	if j.isClosed() {
		return nil, ErrClosed
	}
	return j.hub.Subscribe(stream, buffer)
}

func (j *BoltJournal) isClosed() bool {
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	return j.closed
}

// Close implements Journal: it commits the appends already queued, stops
// the background goroutines, ends subscriptions, fsyncs (under every
// policy) and closes the file. Closing twice is not an error.
func (j *BoltJournal) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return nil
	}
	j.closed = true
	j.closeMu.Unlock()

	j.bgCancel()
	j.bg.Wait()
	close(j.stop)
	<-j.done
	j.hub.Close()
	var err error
	if j.opts.Sync != SyncAlways && j.failed() == nil {
		err = j.sync()
	}
	if cerr := j.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("recovery: close journal %s: %w", j.path, err)
	}
	return nil
}

func (j *BoltJournal) syncLoop(ctx context.Context) {
	defer j.bg.Done()
	t := time.NewTicker(j.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if j.failed() != nil {
				continue
			}
			if err := j.sync(); err != nil {
				j.background(j.fail(fmt.Errorf("periodic fsync: %w", err)))
			}
		}
	}
}

func (j *BoltJournal) retentionLoop(ctx context.Context) {
	defer j.bg.Done()
	t := time.NewTicker(j.opts.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := EnforceRetention(ctx, j, j.opts.Retention, now); err != nil && ctx.Err() == nil {
				j.background(fmt.Errorf("recovery: journal %s: retention: %w", j.path, err))
			}
		}
	}
}

func (j *BoltJournal) background(err error) {
	if j.opts.OnBackgroundError != nil {
		j.opts.OnBackgroundError(err)
	}
}

// syncDir fsyncs a directory, making a file created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
