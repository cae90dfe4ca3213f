package tickfeed

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"tickwire/feedserver"
	"tickwire/ticks"
)

// MaxBatch bounds the ticks a Publisher gets at once. As Publish frames they
// are about 60 to 110 bytes each: a batch is one WebSocket message far under
// the server's 64 KiB inbound limit.
const MaxBatch = 256

// A Publisher takes the ticks a replay paces.
type Publisher interface {
	// Publish publishes ticks that are due together, in order (at most
	// MaxBatch). An error stops the replay.
	Publish(ts []ticks.Tick) error
	// Sync returns once the server has handled, applied or refused, every
	// tick published so far.
	Sync(ctx context.Context) error
}

// Replay publishes the ticks of the sources open returns into pub, paced by
// opt (ticks.ReplayBatches: the ticks due together go to pub at once), and
// then waits for the server to have handled them all. Its errors are those
// of ticks.ReplayBatches (ctx.Err() when cancelled) and of pub.
func Replay(ctx context.Context, open func() (ticks.Source, error), opt ticks.ReplayOptions, pub Publisher) (ticks.ReplayStats, error) {
	st, err := ticks.ReplayBatches(ctx, open, opt, MaxBatch, pub.Publish)
	if err == nil {
		err = pub.Sync(ctx)
	}
	return st, err
}

// WriteReplaySummary prints the end of `tickwire replay`: the ticks
// published, loops, the worst drift at speed (the lateness of a tick
// against its due time, and of its publish done), the bad rows skipped and
// the publishes refused, with a line per refusing topic.
func WriteReplaySummary(w io.Writer, st ticks.ReplayStats, speed float64, skipped int, refused *Refusals) {
	loops := "loops"
	if st.Loops == 1 {
		loops = "loop"
	}
	drift := "n/a (as fast as possible)"
	if speed > 0 {
		drift = fmt.Sprintf("%s (%s to publish done)", FormatLateness(st.MaxDrift), FormatLateness(st.MaxDone))
	}
	fmt.Fprintf(w, "tickwire replay: %d ticks, %d %s, max drift %s, %d bad rows skipped, %d publishes refused\n",
		st.Ticks, st.Loops, loops, drift, skipped, refused.Total())
	for _, line := range refused.Lines() {
		fmt.Fprintf(w, "  refused %s\n", line)
	}
}

// HubPublisher publishes ticks in process into a server's hub.
type HubPublisher struct {
	Hub *feedserver.Hub
	// RecordedTime gives each value its tick's recorded time. Without it a
	// value is stamped with the time it is published: a replayed tick is
	// news at the moment it is replayed, and that is the age a trader sees.
	RecordedTime bool
	// Due, when not nil, stamps each value with the time it gives its
	// tick's time (Timeline.Resume: the tick's due time on a cluster's
	// replay timeline). It wins over RecordedTime.
	Due func(tick time.Time) time.Time
	// Refused, if not nil, counts the publishes the hub refuses (a paused
	// topic's, a sequenced topic's); without it they are dropped, by design.
	Refused *Refusals
}

// Publish implements Publisher.
func (p *HubPublisher) Publish(ts []ticks.Tick) error {
	now := time.Now().UnixNano()
	for i := range ts {
		topic, q, err := publishedValue(&ts[i])
		if err != nil {
			return err
		}
		at := now
		switch {
		case p.Due != nil:
			at = p.Due(ts[i].Time).UnixNano()
		case p.RecordedTime:
			at = ts[i].Time.UnixNano()
		}
		if err := p.Hub.Publish(topic, &q, at, 0); err != nil && p.Refused != nil {
			p.Refused.Add(topic, err.Error())
		}
	}
	return nil
}

// Sync implements Publisher: the hub applied every publish before Publish
// returned.
func (p *HubPublisher) Sync(context.Context) error { return nil }

// Refusals counts publishes a server refused, per topic, with the first
// reason for each. The zero value is ready to use; it is safe for concurrent
// use.
type Refusals struct {
	mu    sync.Mutex
	n     int
	by    map[string]int
	first map[string]string
}

// Add counts a refused publish to topic and reports whether it is the
// topic's first.
func (r *Refusals) Add(topic, reason string) (first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by, r.first = make(map[string]int), make(map[string]string)
	}
	r.n++
	r.by[topic]++
	if _, ok := r.first[topic]; !ok {
		r.first[topic] = reason
		return true
	}
	return false
}

// Total returns the number of refused publishes.
func (r *Refusals) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Lines returns "TOPIC: N (first reason)" per topic, sorted.
func (r *Refusals) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.by))
	for topic, n := range r.by {
		out = append(out, fmt.Sprintf("%s: %d (%s)", topic, n, r.first[topic]))
	}
	slices.Sort(out)
	return out
}
