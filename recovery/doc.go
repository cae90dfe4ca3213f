// Package recovery is tickwire's durable journal: per-stream, sequenced,
// append-only histories of order events, and the positions clients resume
// from.
//
// # Positions
//
// A [Position] is a sequence number plus an epoch. Sequence numbers are
// assigned by the journal, per stream, contiguous from 1. The epoch is minted
// when a stream's history is created and changes whenever that history is
// lost (a wiped data directory, a different journal file, a fresh in-memory
// journal). A position is only meaningful inside its epoch: reading from a
// position of another epoch fails with [ErrEpochMismatch], reading from a
// position whose successors were trimmed fails with [ErrPositionTooOld], and a
// position beyond the head fails with [ErrPositionAhead]. In all three cases
// the caller cannot recover precisely and must re-snapshot.
//
// # Implementations
//
//   - [BoltJournal] (OpenBolt): bbolt file, group commit, fsync policy.
//   - [MemJournal] (NewMem): in memory, for tests of other packages and as a
//     cache; same semantics, no durability.
//
// Both pass the conformance suite in package recovery/journaltest, which a
// replicated (raft) implementation is meant to pass as well.
//
// # Replay to live handover
//
// [Journal.Subscribe] delivers entries committed after it returns; [Cursor]
// and [Catchup] combine a history read with a subscription so that a reader
// sees every entry after its position exactly once, in order, with no gap,
// while appends continue. Use them rather than hand-rolling the merge.
//
// # Concurrency
//
// All methods of [BoltJournal], [MemJournal] and [Subscription] are safe for
// concurrent use. A [Cursor] is owned by one goroutine. Entries returned by
// ReadFrom belong to the caller; entries delivered on a subscription share
// their Data with other subscribers and must be treated as read-only.
//
// See docs/recovery.md for the durability contract (what is durable when).
package recovery
