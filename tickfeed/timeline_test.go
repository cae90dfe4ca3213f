package tickfeed

import (
	"context"
	"errors"
	"testing"
	"time"

	"tickwire/ticks"
)

// timelineTicks are quotes at 0, 100, 200, 1000 ms (median gap 100 ms: a
// period of 1.1 s) on A and B alternately, Bid = index.
func timelineTicks() []ticks.Tick {
	t0 := time.Date(2014, 5, 8, 12, 0, 0, 0, time.UTC)
	var ts []ticks.Tick
	for i, ms := range []int{0, 100, 200, 1000} {
		sym := "A"
		if i%2 == 1 {
			sym = "B"
		}
		ts = append(ts, ticks.Tick{Time: t0.Add(time.Duration(ms) * time.Millisecond), Symbol: sym, Kind: ticks.KindQuote, Bid: float64(i), Ask: float64(i) + 1})
	}
	return ts
}

func TestTimeline(t *testing.T) {
	ts := timelineTicks()
	open := func() (ticks.Source, error) { return ticks.FromSlice(ts), nil }
	tl, err := NewTimeline(open, 3) // a speed that does not divide evenly
	if err != nil {
		t.Fatal(err)
	}
	if tl.Period() != 1100*time.Millisecond || len(tl.Topics) != 2 || tl.Topics[0] != "A" || tl.Topics[1] != "B" {
		t.Fatalf("timeline %+v, period %v", tl, tl.Period())
	}
	// Position inverts Due: a tick's due time maps back to a place at or
	// after it and before the next tick.
	for _, loop := range []int64{0, 1, 5_000_000, -3} {
		for _, tk := range ts {
			due := tl.Due(loop, tk.Time)
			l, rec := tl.Position(due)
			if l != loop || rec.Before(tk.Time) || !rec.Before(tk.Time.Add(100*time.Millisecond)) {
				t.Fatalf("Position(Due(%d, %v)) = %d, %v", loop, tk.Time, l, rec)
			}
			if tl.Due(l, rec) != due {
				t.Fatalf("Due(Position(%v)) = %v", due, tl.Due(l, rec))
			}
		}
	}
	if _, err := NewTimeline(open, 0); err == nil {
		t.Error("a timeline at speed 0: want an error")
	}
	if _, err := NewTimeline(func() (ticks.Source, error) { return ticks.FromSlice(nil), nil }, 1); err == nil {
		t.Error("a timeline of no ticks: want an error")
	}
}

// TestTimelineResume replays on the timeline after a tick's stamp, in the
// loop's middle and in its gap: every value comes after the stamp, in the
// same loop or the next one, and each stamp is its tick's due time.
func TestTimelineResume(t *testing.T) {
	ts := timelineTicks()
	open := func() (ticks.Source, error) { return ticks.FromSlice(ts), nil }
	tl, err := NewTimeline(open, 1000)
	if err != nil {
		t.Fatal(err)
	}
	const loop = 7_000_000
	for _, tc := range []struct {
		name  string
		after time.Time
		bids  []float64 // the first ticks replayed
		loops []int64
	}{
		{"after tick 1", tl.Due(loop, ts[1].Time), []float64{2, 3, 0, 1}, []int64{loop, loop, loop + 1, loop + 1}},
		{"in the loop gap", tl.Due(loop, ts[3].Time).Add(50 * time.Microsecond), []float64{0, 1, 2}, []int64{loop + 1, loop + 1, loop + 1}},
		{"before tick 0", tl.Due(loop, ts[0].Time).Add(-time.Nanosecond), []float64{0, 1}, []int64{loop, loop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, stamp := tl.Resume(tc.after)
			opt.Speed = 0 // as fast as possible: the stamps do not depend on pacing
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got []ticks.Tick
			_, err := ticks.Replay(ctx, open, opt, func(tk ticks.Tick) error {
				got = append(got, tk)
				if len(got) == len(tc.bids) {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			for i, tk := range got {
				at := stamp(tk.Time)
				l, rec := tl.Position(at)
				if tk.Bid != tc.bids[i] || l != tc.loops[i] || !at.After(tc.after) {
					t.Fatalf("tick %d: bid %v at %v (loop %d, %v), want bid %v in loop %d after %v",
						i, tk.Bid, at, l, rec, tc.bids[i], tc.loops[i], tc.after)
				}
				if want := tl.Due(tc.loops[i], ts[int(tk.Bid)].Time); !at.Equal(want) {
					t.Fatalf("tick %d stamped %v, want its due time %v", i, at, want)
				}
			}
		})
	}
}

// TestTimelineOpen: a timeline of few ticks replays them from memory, the
// same ticks as its files.
func TestTimelineOpen(t *testing.T) {
	files := &Files{Names: []string{Embedded}}
	tl, err := NewTimeline(files.Open, 10)
	if err != nil {
		t.Fatal(err)
	}
	if tl.kept == nil {
		t.Fatal("the embedded file's ticks not kept")
	}
	src, err := files.Open()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ticks.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := tl.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ticks.ReadAll(mem)
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("from memory: %d ticks (err %v), want %d", len(got), err, len(want))
	}
}
