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
	// Resume, when not zero, starts the first pass at its first tick at
	// or after Resume (recorded time); later passes start at the beginning
	// (unlike From, which bounds every pass). A replay that continues where
	// another stopped (a cluster's new Active) resumes in the same loop.
	Resume time.Time
	// AnchorAt and AnchorTick, when AnchorAt is not zero, pin the pacing
	// to the wall clock: the tick with (shifted) time AnchorTick is due at
	// AnchorAt, and every other tick relative to it, instead of the first
	// tick being due at once. Ticks already due are emitted at once.
	AnchorAt, AnchorTick time.Time
	// LoopGap, when > 0, separates passes (the gap between a pass's last
	// tick and the next pass's first) instead of the gap learned from the
	// first pass, which a Resume'd first pass does not see whole.
	LoopGap time.Duration
	// Observe, if set, is called (when paced) for every tick once the emit
	// that took it has returned, with the tick's due time as an offset from
	// the start and how late that return was against it: the lateness a
	// subscriber sees. It is for measuring pacing; it runs on the calling
	// goroutine.
	Observe func(due, late time.Duration)
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
	// MaxDone is the largest lateness of a tick when the emit that took it
	// returned: MaxDrift plus the time emit took (0 when Speed <= 0).
	MaxDone time.Duration
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
	return ReplayBatches(ctx, open, opt, 1, func(ts []Tick) error { return emit(ts[0]) })
}

// ReplayBatches is Replay for an emit that takes several ticks more cheaply
// at once than one by one (a network publisher sends them in one message):
// when a tick is due, emit gets it with the ticks after it that are due by
// then too, up to maxBatch (at least 1), in order. As fast as possible
// (Speed <= 0) every batch is full but the last of a pass. The slice is
// reused after emit returns. A Source error after some ticks of a batch were
// read ends the replay after they are emitted.
func ReplayBatches(ctx context.Context, open func() (Source, error), opt ReplayOptions, maxBatch int, emit func([]Tick) error) (ReplayStats, error) {
	r := &replayer{opt: opt, emit: emit, paced: opt.Speed > 0, batch: make([]Tick, 0, max(1, maxBatch))}
	if r.paced {
		r.due = make([]time.Time, 0, cap(r.batch))
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
	emit  func([]Tick) error
	paced bool
	timer *time.Timer
	st    ReplayStats
	batch []Tick      // the ticks of the next emit
	due   []time.Time // their due times, when paced

	started bool          // the first tick was emitted
	start   time.Time     // wall clock (with monotonic reading) of the first emit
	base    time.Time     // tick time of the first emit
	shift   time.Duration // added to recorded times in the current pass
	lastOut time.Time     // (shifted) time of the last emitted tick
	gaps    []time.Duration
	gap     time.Duration // typical gap, set after the first pass

	// The current pass.
	src      Source
	n        int       // ticks read in the window
	prev     time.Time // recorded time of the last tick read
	ended    bool      // the source ended or the window closed
	ahead    Tick      // read but not yet due: the next tick to emit,
	hasAhead bool      // when set
}

// pass replays src once.
func (r *replayer) pass(ctx context.Context, src Source) error {
	r.src, r.n, r.ended, r.hasAhead = src, 0, false, false
	done := ctx.Done()
	for {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		t, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !r.started {
			r.started, r.base, r.start = true, t.Time, time.Now()
			if !r.opt.AnchorAt.IsZero() {
				r.base, r.start = r.opt.AnchorTick, r.opt.AnchorAt
			}
		}
		var now time.Time
		if r.paced {
			due := r.dueAt(t.Time)
			if d := time.Until(due); d > 0 {
				r.timer.Reset(d)
				select {
				case <-done:
					r.timer.Stop()
					return ctx.Err()
				case <-r.timer.C:
				}
			}
			now = time.Now()
			r.st.MaxDrift = max(r.st.MaxDrift, now.Sub(due))
			r.due = append(r.due[:0], due)
		}
		r.batch = append(r.batch[:0], t)
		// Take the ticks that are due by now as well, up to a full batch.
		var readErr error
		for len(r.batch) < cap(r.batch) {
			t, ok, err := r.next()
			if err != nil || !ok {
				readErr = err
				break
			}
			if r.paced {
				due := r.dueAt(t.Time)
				if due.After(now) {
					r.ahead, r.hasAhead = t, true
					break
				}
				r.st.MaxDrift = max(r.st.MaxDrift, now.Sub(due))
				r.due = append(r.due, due)
			}
			r.batch = append(r.batch, t)
		}
		if err := r.emit(r.batch); err != nil {
			return fmt.Errorf("ticks: replay: emit: %w", err)
		}
		r.st.Ticks += len(r.batch)
		r.lastOut = r.batch[len(r.batch)-1].Time
		if r.paced {
			doneAt := time.Now()
			for _, due := range r.due {
				late := doneAt.Sub(due)
				r.st.MaxDone = max(r.st.MaxDone, late)
				if r.opt.Observe != nil {
					r.opt.Observe(due.Sub(r.start), late)
				}
			}
		}
		if readErr != nil {
			return readErr
		}
	}
	if r.n == 0 {
		return ErrNoTicks
	}
	if r.st.Loops == 0 {
		r.gap = median(r.gaps)
		if r.opt.LoopGap > 0 {
			r.gap = r.opt.LoopGap
		}
		r.gaps = nil
	}
	return nil
}

// next returns the next tick of the pass's window, with its time shifted for
// the pass; ok is false at the end of the window.
func (r *replayer) next() (t Tick, ok bool, err error) {
	if r.hasAhead {
		r.hasAhead = false
		return r.ahead, true, nil
	}
	for !r.ended {
		t, err := r.src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Tick{}, false, fmt.Errorf("ticks: replay: %w", err)
		}
		if !r.opt.From.IsZero() && t.Time.Before(r.opt.From) {
			continue
		}
		if !r.opt.To.IsZero() && !t.Time.Before(r.opt.To) {
			break
		}
		if r.st.Loops == 0 && !r.opt.Resume.IsZero() && t.Time.Before(r.opt.Resume) {
			continue
		}
		rec := t.Time
		if r.n == 0 && r.st.Loops > 0 {
			r.shift = r.lastOut.Add(r.gap).Sub(rec)
		}
		if r.n > 0 && r.st.Loops == 0 && len(r.gaps) < maxGapSamples {
			if g := rec.Sub(r.prev); g > 0 {
				r.gaps = append(r.gaps, g)
			}
		}
		r.prev = rec
		r.n++
		t.Time = rec.Add(r.shift)
		return t, true, nil
	}
	r.ended = true
	return Tick{}, false, nil
}

// dueAt returns when a tick with (shifted) time t is due.
func (r *replayer) dueAt(t time.Time) time.Time {
	return r.start.Add(scaleDuration(t.Sub(r.base), r.opt.Speed))
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
