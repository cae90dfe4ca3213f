package client

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// telemetry gathers what the client observes between two reports.
type telemetry struct {
	received atomic.Uint64

	mu      sync.Mutex
	samples []time.Duration // data ages since the last report, at most maxSamples
	seen    int
}

const maxSamples = 1024

// observe records one value's age (receive time - value time).
func (t *telemetry) observe(age time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen++
	if len(t.samples) < maxSamples {
		t.samples = append(t.samples, age)
		return
	}
	// Keep an even spread of the interval once full: replace a slot in turn.
	t.samples[t.seen%maxSamples] = age
}

// p99 returns the 99th percentile age since the last call, and resets.
func (t *telemetry) p99() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.samples) == 0 {
		return 0
	}
	slices.Sort(t.samples)
	p := t.samples[len(t.samples)*99/100]
	t.samples, t.seen = t.samples[:0], 0
	return max(p, 0)
}
