package recovery

import (
	"crypto/rand"
	"encoding/hex"
)

// NewEpoch mints a random epoch: 16 hex digits (64 random bits), unique
// across histories for all practical purposes. Journals call it when a
// stream's history is created; a replicated journal mints it on the leader
// and replicates it with the stream's first append.
func NewEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
