package ha

import (
	"context"

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
	// TODO
}

var _ recovery.Journal = (*Journal)(nil)

// Append implements recovery.Journal: one raft command, committed by a
// quorum and applied to this (the leader's) state when it returns. On a
// follower it fails with a *NotLeaderError (ErrNotLeader); when leadership
// is lost after the command entered the log, the error wraps
// ErrOutcomeUnknown as well. The context is checked before the command is
// proposed; once proposed, Append waits for raft's verdict (bounded by the
// leader lease: a leader that loses its quorum steps down and fails the
// command).
func (j *Journal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	return recovery.Position{}, nil
}

// ReadFrom implements recovery.Journal from the local state.
func (j *Journal) ReadFrom(ctx context.Context, stream string, after recovery.Position, limit int) ([]recovery.Entry, error) {
	return nil, nil
}

// Head implements recovery.Journal from the local state.
func (j *Journal) Head(stream string) (recovery.Position, error) { return recovery.Position{}, nil }

// Streams implements recovery.Journal from the local state.
func (j *Journal) Streams() ([]string, error) { return nil, nil }

// Subscribe implements recovery.Journal: entries are delivered as this node
// applies them. After a snapshot install (a far-behind follower) the
// subscription may jump over entries the snapshot no longer holds;
// recovery.Cursor sees the gap and reads the journal (ErrPositionTooOld if
// they were trimmed).
func (j *Journal) Subscribe(stream string, buffer int) (*recovery.Subscription, error) {
	return nil, nil
}

// Trim implements recovery.Journal: a leader-only raft command.
func (j *Journal) Trim(ctx context.Context, stream string, through uint64) error { return nil }

// WatchStreams returns a channel that receives the name of every stream
// created on this node after the call (by an applied Append or a snapshot
// install), so a follower's feed server learns new streams without polling.
// buffer bounds the channel; names that do not fit are dropped and counted
// in the returned func's result (call it to stop watching: it closes the
// channel and returns how many names were dropped; a watcher that drops must
// re-read Streams).
func (j *Journal) WatchStreams(buffer int) (<-chan string, func() (dropped uint64)) {
	return nil, nil
}

// LastIndex returns the raft log index of the last command this node's
// journal state has applied (for Node.WaitApplied).
func (j *Journal) LastIndex() uint64 { return 0 }

// Close implements recovery.Journal for this handle: it waits for the
// handle's pending appends, ends its subscriptions with recovery.ErrClosed
// and refuses later calls. The node keeps running.
func (j *Journal) Close() error { return nil }
