package ha

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLeader: the operation needs the raft leader and this node is not
	// it (or stopped being it before the command entered its log: nothing
	// was written). The error is a *NotLeaderError naming the leader when
	// known. Retry on the leader.
	ErrNotLeader = errors.New("ha: not the raft leader")

	// ErrOutcomeUnknown: the command was in this node's log when it lost
	// leadership (or shut down); it may or may not be committed by the next
	// leader. The caller must not acknowledge it and must not assume it is
	// absent: a FIX gateway stops and lets the new Active replay the journal.
	ErrOutcomeUnknown = errors.New("ha: outcome unknown (leadership lost mid-command)")

	// ErrIdentity: the data directory belongs to another cluster or another
	// node id, or has raft state without an identity file. Nothing was
	// written to it.
	ErrIdentity = errors.New("ha: data directory identity mismatch")

	// ErrCorruptLog: the raft log or stable store in the data directory
	// cannot be opened or read. Nothing was written to it.
	ErrCorruptLog = errors.New("ha: raft log unreadable")

	// ErrBadCommand: a raft log command that does not decode or breaks a
	// bound. Apply records it as the command's result on every node (the
	// same way everywhere) and changes nothing.
	ErrBadCommand = errors.New("ha: bad journal command")
)

// NotLeaderError is returned by leader-only operations on a node that is not
// the leader. It wraps ErrNotLeader, and ErrOutcomeUnknown too when Unknown.
type NotLeaderError struct {
	Op     string     // "append", "trim", "add voter", ...
	Leader LeaderInfo // the leader as this node knows it; zero if unknown
	// Unknown is set when leadership was lost after the command entered
	// this node's log: it may still be committed by the new leader.
	Unknown bool
	Err     error // the raft error behind it, if any
}

func (e *NotLeaderError) Error() string {
	leader := "leader unknown"
	if e.Leader.ID != "" || e.Leader.RaftAddr != "" {
		leader = fmt.Sprintf("leader is %s at %s", e.Leader.ID, e.Leader.RaftAddr)
		if e.Leader.FeedAddr != "" {
			leader += " (feed " + e.Leader.FeedAddr + ")"
		}
	}
	msg := fmt.Sprintf("ha: %s: not the raft leader (%s)", e.Op, leader)
	if e.Unknown {
		msg += ": outcome unknown, the command may or may not be committed by the new leader"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrNotLeader (and ErrOutcomeUnknown when Unknown) and the
// raft error.
func (e *NotLeaderError) Unwrap() []error {
	errs := []error{ErrNotLeader}
	if e.Unknown {
		errs = append(errs, ErrOutcomeUnknown)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
