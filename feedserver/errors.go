package feedserver

import "errors"

// Errors returned by the Hub's publish methods.
var (
	ErrWrongKind = errors.New("topic kind does not take this publish")
	ErrPaused    = errors.New("topic ingest paused")
	// ErrTopicLimit refuses a client's publish that would make a new topic
	// over the server's or the publisher's topic limit (Config.MaxHubTopics,
	// MaxTopicsPerPublisher).
	ErrTopicLimit = errors.New("topic limit reached")
	// ErrNonFinite refuses a value with a NaN or an infinity, or one whose
	// merge (a sum) would make one: it would poison a merge topic's sums
	// for good, and no price consumer can use it.
	ErrNonFinite = errors.New("value is not a finite number")
)

// ErrKeyConflict refuses a publish whose idempotency key the topic
// remembers for another payload.
var ErrKeyConflict = errors.New("idempotency key already used for another event")

// ErrNoState is returned by a StateSnapshotter that has no state for a topic.
var ErrNoState = errors.New("no state snapshot for this topic")
