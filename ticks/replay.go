package ticks

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// ReplayOptions configures Replay. The zero value replays once, as fast as
// possible, every tick.
type ReplayOptions struct {
	// Speed scales time: 1 is real time, 10 is ten times faster, 0.5 half
	// speed. <= 0 (or NaN) replays as fast as possible, without sleeping.
	Speed float64
	// Loop restarts from the beginning after the last tick, forever, until
	// ctx is cancelled or an error occurs.
	Loop bool
	// From and To bound the replayed window to ticks with From <= Time < To,
	// compared on the recorded tick time. A zero value is unbounded. Ticks
	// before From are read and dropped; the pass ends at the first tick at
	// or after To (sources are in time order).
	From, To time.Time
}

// ReplayStats reports what Replay did.
type ReplayStats struct {
	// Ticks is the number of ticks passed to emit (over all passes).
	Ticks int
	// Loops is the number of completed passes over the source: 1 after a
	// full non-looping replay, 0 if cancelled during the first pass.
	Loops int
	// MaxDrift is the largest lateness of an emit against its due time
	// (0 when Speed <= 0). It includes time spent in emit by earlier ticks,
	// since a slow emit makes the following ticks late.
	MaxDrift time.Duration
}

// maxGapSamples bounds the gaps kept from the first pass to estimate the
// file's typical gap (their median).
const maxGapSamples = 8192

// defaultLoopGap separates passes when the first pass has no positive gap
// between ticks (one tick, or all at the same time).
const defaultLoopGap = time.Second

// Replay opens a Source with open (again on each loop), and calls emit for
// each tick at the tick's time offset from the first tick scaled by 1/Speed,
// measured against a monotonic clock. It sleeps until each due time and
// schedules every tick from the start time, not from the previous tick, so
// lateness never accumulates: a tick that is already due (the replay fell
// behind, or emit was slow) is emitted at once, and the replay catches up.
// Ticks with equal times are emitted back to back.
//
// Looping keeps time moving forward: each later pass is shifted so that its
// first tick comes one typical gap (the median positive gap between ticks of
// the first pass, or 1s if there is none) after the previous pass's last
// tick. Emitted ticks carry the shifted Time; on the first pass Time is
// unchanged. Pacing continues across passes on the same schedule.
//
// Replay closes each Source that implements io.Closer at the end of its
// pass. It returns ctx.Err() when cancelled, ErrNoTicks when a pass emits no
// tick (which stops an endless loop over an empty window), and wrapped
// errors from open, from the Source and from emit, which stop the replay.
// The stats are valid in every case. emit runs on the calling goroutine.
func Replay(ctx context.Context, open func() (Source, error), opt ReplayOptions, emit func(Tick) error) (ReplayStats, error) {
	r := &replayer{opt: opt, emit: emit, paced: opt.Speed > 0}
	if r.paced {
		r.timer = time.NewTimer(time.Hour)
		r.timer.Stop()
		defer r.timer.Stop()
	}
	for {
		if err := ctx.Err(); err != nil {
			return r.st, err
		}
		src, err := open()
		if err != nil {
			return r.st, fmt.Errorf("ticks: replay: open: %w", err)
		}
		err = r.pass(ctx, src)
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return r.st, err
		}
		r.st.Loops++
		if !opt.Loop {
			return r.st, nil
		}
	}
}

type replayer struct {
	opt   ReplayOptions
	emit  func(Tick) error
	paced bool
	timer *time.Timer
	st    ReplayStats

	started bool          // the first tick was emitted
	start   time.Time     // wall clock (with monotonic reading) of the first emit
	base    time.Time     // tick time of the first emit
	shift   time.Duration // added to recorded times in the current pass
	lastOut time.Time     // (shifted) time of the last emitted tick
	gaps    []time.Duration
	gap     time.Duration // typical gap, set after the first pass
}

// pass replays src once.
func (r *replayer) pass(ctx context.Context, src Source) error {
	done := ctx.Done()
	n := 0
	var prev time.Time // recorded time of the previous emitted tick
	for {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		t, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("ticks: replay: %w", err)
		}
		if !r.opt.From.IsZero() && t.Time.Before(r.opt.From) {
			continue
		}
		if !r.opt.To.IsZero() && !t.Time.Before(r.opt.To) {
			break
		}
		rec := t.Time
		if n == 0 && r.st.Loops > 0 {
			r.shift = r.lastOut.Add(r.gap).Sub(rec)
		}
		if n > 0 && r.st.Loops == 0 && len(r.gaps) < maxGapSamples {
			if g := rec.Sub(prev); g > 0 {
				r.gaps = append(r.gaps, g)
			}
		}
		prev = rec
		t.Time = rec.Add(r.shift)

		if !r.started {
			r.started = true
			r.base = t.Time
			r.start = time.Now()
		}
		if r.paced {
			due := r.start.Add(scaleDuration(t.Time.Sub(r.base), r.opt.Speed))
			if d := time.Until(due); d > 0 {
				r.timer.Reset(d)
				select {
				case <-done:
					r.timer.Stop()
					return ctx.Err()
				case <-r.timer.C:
				}
			}
			if late := time.Since(due); late > r.st.MaxDrift {
				r.st.MaxDrift = late
			}
		}
		if err := r.emit(t); err != nil {
			return fmt.Errorf("ticks: replay: emit: %w", err)
		}
		r.st.Ticks++
		n++
		r.lastOut = t.Time
	}
	if n == 0 {
		return ErrNoTicks
	}
	if r.st.Loops == 0 {
		r.gap = median(r.gaps)
		r.gaps = nil
	}
	return nil
}

// median returns the median of gs (all > 0), or defaultLoopGap if empty.
func median(gs []time.Duration) time.Duration {
	if len(gs) == 0 {
		return defaultLoopGap
	}
	slices.Sort(gs)
	return gs[len(gs)/2]
}

// scaleDuration returns d/speed, saturating instead of overflowing.
func scaleDuration(d time.Duration, speed float64) time.Duration {
	if speed == 1 {
		return d
	}
	f := float64(d) / speed
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(f)
}
