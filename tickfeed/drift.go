package tickfeed

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Drift measures the pacing of a replay: give its Observe method to
// ticks.ReplayOptions.Observe, then WriteReport compares the lateness of
// every publish with that of a bare timer loop and a bare time.Sleep loop on
// the same schedule. It keeps two durations per tick.
type Drift struct {
	late, due []time.Duration
}

// Observe records one tick's due offset from the start and its lateness.
func (d *Drift) Observe(due, late time.Duration) {
	d.due = append(d.due, due)
	d.late = append(d.late, late)
}

// Len returns the number of ticks observed.
func (d *Drift) Len() int { return len(d.late) }

// WriteReport prints the publishes' lateness percentiles and, measured now
// on the same schedule (which takes as long as the replay did), those of a
// bare timer loop and a bare time.Sleep loop, and the ratios.
func (d *Drift) WriteReport(w io.Writer, speed float64) {
	span := time.Duration(0)
	if len(d.due) > 0 {
		span = d.due[len(d.due)-1]
	}
	fmt.Fprintf(w, "pacing drift: %d publishes at speed %g over %s\n", len(d.late), speed, span.Round(time.Millisecond))
	fmt.Fprintf(w, "  measuring the baselines on the same schedule (%s each)...\n", span.Round(time.Millisecond))
	timer := baselineLateness(d.due, true)
	sleep := baselineLateness(d.due, false)
	rep, tim, slp := Percentiles(d.late), Percentiles(timer), Percentiles(sleep)
	fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", "lateness", "p50", "p90", "p99", "max")
	for _, row := range []struct {
		name string
		p    [4]time.Duration
	}{{"replay publish", rep}, {"bare timer", tim}, {"bare time.Sleep", slp}} {
		fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", row.name, FormatLateness(row.p[0]), FormatLateness(row.p[1]), FormatLateness(row.p[2]), FormatLateness(row.p[3]))
	}
	fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", "replay / timer", latenessRatio(rep[0], tim[0]), latenessRatio(rep[1], tim[1]), latenessRatio(rep[2], tim[2]), latenessRatio(rep[3], tim[3]))
}

// baselineLateness waits for each due offset of schedule in turn, with a
// reused timer (as ticks.Replay does) or with time.Sleep, and returns how late
// each wake-up was.
func baselineLateness(schedule []time.Duration, useTimer bool) []time.Duration {
	out := make([]time.Duration, 0, len(schedule))
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	start := time.Now()
	for _, off := range schedule {
		due := start.Add(off)
		if d := time.Until(due); d > 0 {
			if useTimer {
				t.Reset(d)
				<-t.C
			} else {
				time.Sleep(d)
			}
		}
		out = append(out, time.Since(due))
	}
	return out
}

// Percentiles returns p50, p90, p99 and max of ds (nearest rank).
func Percentiles(ds []time.Duration) [4]time.Duration {
	if len(ds) == 0 {
		return [4]time.Duration{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p int) time.Duration { return s[min(len(s)-1, (len(s)*p+99)/100-1)] }
	return [4]time.Duration{at(50), at(90), at(99), s[len(s)-1]}
}

// FormatLateness formats a lateness with a precision that suits its size.
func FormatLateness(d time.Duration) string {
	switch {
	case d < 10*time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	case d < 10*time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

func latenessRatio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}
