package ha

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"tickwire/recovery"
)

// MaxCommandBytes bounds one raft command (an Append's records with their
// keys, or a Trim). The proposer refuses a bigger Append with
// recovery.ErrInvalidArgument; apply records a bigger command (which only a
// bug or a hostile log can contain) as an ErrBadCommand result.
const MaxCommandBytes = 4 << 20

// MaxAppendRecords bounds the records of one Append.
const MaxAppendRecords = 1 << 16

// Journal is a recovery.Journal replicated by raft: a handle on a Node's
// journal state (Node.Journal). Append and Trim are leader-only raft
// commands; ReadFrom, Head, Streams and Subscribe read the local state on
// any node. It passes recovery/journaltest.
type Journal struct {
	n   *Node
	f   *fsm
	hub *recovery.Hub

	mu      sync.Mutex
	closed  bool           // guarded by mu
	pending sync.WaitGroup // Appends and Trims in flight; Add under mu
}

var _ recovery.Journal = (*Journal)(nil)

func newJournal(n *Node) *Journal {
	j := &Journal{n: n, f: n.fsm, hub: recovery.NewHub()}
	j.f.mu.Lock()
	j.f.handles[j] = struct{}{}
	j.f.mu.Unlock()
	return j
}

// begin registers a call in flight, or fails if the handle is closed.
func (j *Journal) begin() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return recovery.ErrClosed
	}
	j.pending.Add(1)
	return nil
}

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Append implements recovery.Journal: one raft command, committed by a
// quorum and applied to this (the leader's) state when it returns. On a
// follower it fails with a *NotLeaderError (ErrNotLeader); when leadership
// is lost after the command entered the log, the error wraps
// ErrOutcomeUnknown as well. The context is checked before the command is
// proposed; once proposed, Append waits for raft's verdict (bounded by the
// leader lease: a leader that loses its quorum steps down and fails the
// command).
func (j *Journal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	if err := checkStream(stream); err != nil {
		return recovery.Position{}, err
	}
	if err := ctx.Err(); err != nil {
		return recovery.Position{}, err
	}
	if len(recs) == 0 {
		return j.Head(stream)
	}
	epoch := j.f.epochOf(stream)
	mint := epoch == ""
	if mint {
		epoch = recovery.NewEpoch()
	}
	size, err := appendSize(stream, epoch, recs)
	if err != nil {
		return recovery.Position{}, fmt.Errorf("ha: append to %q: %w", stream, err)
	}
	if err := j.begin(); err != nil {
		return recovery.Position{}, err
	}
	defer j.pending.Done()
	if !mint {
		epoch = "" // the stream exists: apply keeps its epoch
	}
	cmd := encodeAppend(size, stream, epoch, time.Now().UnixNano(), recs)
	res, err := j.n.apply("append", cmd)
	if err != nil {
		return recovery.Position{}, fmt.Errorf("ha: append to %q: %w", stream, err)
	}
	return res.pos, res.err
}

// ReadFrom implements recovery.Journal from the local state.
func (j *Journal) ReadFrom(ctx context.Context, stream string, after recovery.Position, limit int) ([]recovery.Entry, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", recovery.ErrInvalidArgument, limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if j.isClosed() {
		return nil, recovery.ErrClosed
	}
	j.f.mu.RLock()
	defer j.f.mu.RUnlock()
	s := j.f.streams[stream]
	if s == nil {
		return nil, recovery.CheckRead(stream, after, "", 1, 0)
	}
	if err := recovery.CheckRead(stream, after, s.epoch, s.first, s.head); err != nil {
		return nil, err
	}
	i := after.Seq + 1 - s.first
	if i >= uint64(len(s.entries)) {
		return nil, nil
	}
	n := min(uint64(limit), uint64(len(s.entries))-i)
	return recovery.CloneEntries(s.entries[i : i+n]), nil
}

// Head implements recovery.Journal from the local state.
func (j *Journal) Head(stream string) (recovery.Position, error) {
	if err := checkStream(stream); err != nil {
		return recovery.Position{}, err
	}
	if j.isClosed() {
		return recovery.Position{}, recovery.ErrClosed
	}
	j.f.mu.RLock()
	defer j.f.mu.RUnlock()
	if s := j.f.streams[stream]; s != nil {
		return recovery.Position{Seq: s.head, Epoch: s.epoch}, nil
	}
	return recovery.Position{}, nil
}

// Streams implements recovery.Journal from the local state.
func (j *Journal) Streams() ([]string, error) {
	if j.isClosed() {
		return nil, recovery.ErrClosed
	}
	j.f.mu.RLock()
	out := make([]string, 0, len(j.f.streams))
	for name := range j.f.streams {
		out = append(out, name)
	}
	j.f.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// Subscribe implements recovery.Journal: entries are delivered as this node
// applies them. After a snapshot install (a far-behind follower) the
// subscription may jump over entries the snapshot no longer holds;
// recovery.Cursor sees the gap and reads the journal (ErrPositionTooOld if
// they were trimmed).
func (j *Journal) Subscribe(stream string, buffer int) (*recovery.Subscription, error) {
	if j.isClosed() {
		return nil, recovery.ErrClosed
	}
	return j.hub.Subscribe(stream, buffer)
}

// Trim implements recovery.Journal: a leader-only raft command.
func (j *Journal) Trim(ctx context.Context, stream string, through uint64) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := j.begin(); err != nil {
		return err
	}
	defer j.pending.Done()
	// Nothing to do by the local state: no command. (Ahead of the head is
	// checked again in apply, the state that counts.)
	j.f.mu.RLock()
	s := j.f.streams[stream]
	nothing := s == nil && through == 0 || s != nil && through < s.first
	j.f.mu.RUnlock()
	if nothing {
		return nil
	}
	res, err := j.n.apply("trim", encodeTrim(stream, through))
	if err != nil {
		return fmt.Errorf("ha: trim %q through %d: %w", stream, through, err)
	}
	return res.err
}

// WatchStreams returns a channel that receives the name of every stream
// created on this node after the call (by an applied Append or a snapshot
// install), so a follower's feed server learns new streams without polling.
// buffer bounds the channel (min 1); names that do not fit are dropped and
// counted. stop ends the watch: it closes the channel and returns how many
// names were dropped (a watcher that dropped must re-read Streams).
func (j *Journal) WatchStreams(buffer int) (c <-chan string, stop func() (dropped uint64)) {
	w := &streamWatcher{c: make(chan string, max(buffer, 1))}
	j.f.mu.Lock()
	j.f.watchers[w] = struct{}{}
	j.f.mu.Unlock()
	var once sync.Once
	return w.c, func() uint64 {
		j.f.mu.Lock()
		defer j.f.mu.Unlock()
		once.Do(func() {
			delete(j.f.watchers, w)
			close(w.c)
		})
		return w.dropped
	}
}

// LastIndex returns the raft log index of the last command this node's
// journal state has applied (for Node.WaitApplied).
func (j *Journal) LastIndex() uint64 { return j.f.appliedIndex() }

// Close implements recovery.Journal for this handle: it waits for the
// handle's pending appends, ends its subscriptions with recovery.ErrClosed
// and refuses later calls. The node keeps running.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	j.pending.Wait()
	j.f.mu.Lock()
	delete(j.f.handles, j)
	j.f.mu.Unlock()
	j.hub.Close()
	return nil
}

func checkStream(stream string) error {
	if stream == "" || len(stream) > recovery.MaxStreamName {
		return fmt.Errorf("%w: stream name must be 1..%d bytes, got %d", recovery.ErrInvalidArgument, recovery.MaxStreamName, len(stream))
	}
	return nil
}

// applyErr turns a raft error of a proposed command into ours: not leader
// (nothing written), leadership lost (outcome unknown), shutdown.
func (n *Node) applyErr(op string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return &NotLeaderError{Op: op, Leader: n.Leader(), Err: err}
	case errors.Is(err, raft.ErrLeadershipLost):
		return &NotLeaderError{Op: op, Leader: n.Leader(), Unknown: true, Err: err}
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w (%w): %w", recovery.ErrClosed, ErrOutcomeUnknown, err)
	}
	return err
}

// apply proposes cmd and waits for its result.
func (n *Node) apply(op string, cmd []byte) (applyResult, error) {
	if n.raft.State() != raft.Leader {
		return applyResult{}, &NotLeaderError{Op: op, Leader: n.Leader()}
	}
	fut := n.raft.Apply(cmd, n.timeouts.ApplyTimeout)
	// Raft does not resolve every pending future when it shuts down (one
	// still in its apply queue waits for ever), so wait for the future or
	// for Close, whichever comes first.
	done := make(chan error, 1)
	go func() { done <- fut.Error() }()
	var err error
	select {
	case err = <-done:
	case <-n.stop:
		return applyResult{}, fmt.Errorf("%w (%w): node closed with the %s in flight", recovery.ErrClosed, ErrOutcomeUnknown, op)
	}
	if err != nil {
		return applyResult{}, n.applyErr(op, err)
	}
	res, ok := fut.Response().(applyResult)
	if !ok {
		return applyResult{}, fmt.Errorf("%w: unexpected apply result %T", ErrBadCommand, fut.Response())
	}
	return res, nil
}
