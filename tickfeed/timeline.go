package tickfeed

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"tickwire/ticks"
)

// maxGapSamples bounds the gaps read to estimate a file's typical gap (as
// ticks.Replay does).
const maxGapSamples = 8192

// maxTimelineTopics bounds the topics a Timeline remembers.
const maxTimelineTopics = 10_000

// maxKeptTicks bounds the ticks a Timeline keeps in memory (about 100
// bytes each): a resumed replay of them skips to its place at once instead
// of reading and decompressing its files from their start.
const maxKeptTicks = 100_000

// Timeline places a looping, paced replay on the wall clock, the same on
// every node that reads the same files at the same speed: loop k's tick of
// recorded time t is due at the wall time Epoch + (k·Period + t−First)/Speed,
// with Epoch the Unix epoch. A cluster's Active replays on it and stamps
// each value with its tick's due time, so a value's time says which tick of
// which loop it is; a new Active resumes after the newest time its hub holds
// (Resume) instead of from the start of the files: no board goes back to an
// older tick across a failover (docs/HA.md, "Prices across a failover").
type Timeline struct {
	First, Last time.Time     // recorded times of the first and last tick
	Gap         time.Duration // between a pass's last tick and the next's first: the median gap
	Speed       float64       // > 0
	// Topics are the topics the files publish to (TickValue).
	Topics []string

	open func() (ticks.Source, error)
	kept []ticks.Tick // every tick, if at most maxKeptTicks
}

// NewTimeline reads one pass of open's ticks and returns their timeline at
// speed (> 0).
func NewTimeline(open func() (ticks.Source, error), speed float64) (*Timeline, error) {
	if !(speed > 0) {
		return nil, fmt.Errorf("timeline: speed %v: a timeline needs a paced replay (> 0)", speed)
	}
	src, err := open()
	if err != nil {
		return nil, fmt.Errorf("timeline: open: %w", err)
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	tl := &Timeline{Speed: speed, open: open}
	topics := map[string]bool{}
	var gaps []time.Duration
	n := 0
	for {
		t, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("timeline: %w", err)
		}
		if n == 0 {
			tl.First = t.Time
		} else if g := t.Time.Sub(tl.Last); g > 0 && len(gaps) < maxGapSamples {
			gaps = append(gaps, g)
		}
		tl.Last = t.Time
		n++
		if n <= maxKeptTicks {
			tl.kept = append(tl.kept, t)
		} else {
			tl.kept = nil
		}
		if topic, _, ok := TickValue(&t); ok && !topics[topic] && len(topics) < maxTimelineTopics {
			topics[topic] = true
			tl.Topics = append(tl.Topics, topic)
		}
	}
	if n == 0 {
		return nil, errors.New("timeline: no ticks")
	}
	tl.Gap = time.Second
	if len(gaps) > 0 {
		slices.Sort(gaps)
		tl.Gap = gaps[len(gaps)/2]
	}
	slices.Sort(tl.Topics)
	return tl, nil
}

// Open opens the timeline's ticks for a pass: from memory when it kept
// them (a resumed replay then skips to its place in microseconds), else
// from the files.
func (tl *Timeline) Open() (ticks.Source, error) {
	if tl.kept != nil {
		return ticks.FromSlice(tl.kept), nil
	}
	return tl.open()
}

// Period is the recorded time of one pass, its loop gap included.
func (tl *Timeline) Period() time.Duration { return tl.Last.Sub(tl.First) + tl.Gap }

// wallPeriod is the wall time of one pass (at least 1ns).
func (tl *Timeline) wallPeriod() time.Duration {
	return max(1, time.Duration(float64(tl.Period())/tl.Speed))
}

// Position returns where the timeline is at wall time w: the loop and the
// latest recorded time within it (in [First, First+Period)) due at or
// before w, so that the ticks after it are exactly those due after w.
func (tl *Timeline) Position(w time.Time) (loop int64, rec time.Time) {
	d := w.Sub(time.Unix(0, 0))
	p := tl.wallPeriod()
	loop, off := int64(d/p), d%p
	if off < 0 {
		loop, off = loop-1, off+p
	}
	// The largest x with trunc(x/Speed) <= off (Due's rounding).
	x := time.Duration(math.Ceil(float64(off+1)*tl.Speed)) - 1
	return loop, tl.First.Add(min(x, tl.Period()-1))
}

// Due returns the wall time at which loop's tick of recorded time rec is
// due.
func (tl *Timeline) Due(loop int64, rec time.Time) time.Time {
	return time.Unix(0, 0).Add(time.Duration(loop) * tl.wallPeriod()).Add(time.Duration(float64(rec.Sub(tl.First)) / tl.Speed))
}

// Resume returns the options of a looping replay on the timeline that
// starts with the first tick due strictly after wall time after, in its
// loop (or at the next loop's start if after falls in the loop gap), and
// the stamp of its ticks (HubPublisher.Due): the wall time each tick, by
// its time as the replay emits it (shifted by a Period per later pass), is
// due at. Stamps are exact: Position of a stamp is its tick's place.
func (tl *Timeline) Resume(after time.Time) (opt ticks.ReplayOptions, stamp func(time.Time) time.Time) {
	loop, rec := tl.Position(after)
	rec = rec.Add(time.Nanosecond)
	if rec.After(tl.Last) {
		loop, rec = loop+1, tl.First
	}
	opt = ticks.ReplayOptions{Speed: tl.Speed, Loop: true, Resume: rec, LoopGap: tl.Gap,
		AnchorAt: tl.Due(loop, rec), AnchorTick: rec}
	p := tl.Period()
	stamp = func(t time.Time) time.Time {
		o := t.Sub(tl.First)
		return tl.Due(loop+int64(o/p), tl.First.Add(o%p))
	}
	return opt, stamp
}
