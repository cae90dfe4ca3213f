package ticks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The timing tests allow generous slack for a noisy 2-core CI box running
// -race: a tick must never be early, and may be late by up to slack.
const slack = 500 * time.Millisecond

var t0 = time.Date(2024, 8, 8, 23, 54, 0, 0, time.UTC)

// spaced returns n ticks gap apart starting at t0.
func spaced(n int, gap time.Duration) []Tick {
	ts := make([]Tick, n)
	for i := range ts {
		ts[i] = Tick{Time: t0.Add(time.Duration(i) * gap), Symbol: "EURUSD", Kind: KindQuote, Bid: float64(i)}
	}
	return ts
}

// sliceOpener opens ts afresh on each call and counts opens and closes.
type sliceOpener struct {
	ts             []Tick
	opens, closes  atomic.Int32
	failOpen       error
	sourceAfterErr error // if set, the source returns it instead of io.EOF
}

func (o *sliceOpener) open() (Source, error) {
	o.opens.Add(1)
	if o.failOpen != nil {
		return nil, o.failOpen
	}
	var s Source = FromSlice(o.ts)
	if o.sourceAfterErr != nil {
		s = &errSource{ts: append([]Tick(nil), o.ts...), err: o.sourceAfterErr}
	}
	return &countingCloser{closeSource: &closeSource{Source: s}, o: o}, nil
}

type countingCloser struct {
	*closeSource
	o *sliceOpener
}

func (c *countingCloser) Close() error { c.o.closes.Add(1); return c.closeSource.Close() }

func TestReplayTiming(t *testing.T) {
	ts := spaced(11, 100*time.Millisecond)
	o := &sliceOpener{ts: ts}
	var offs []time.Duration
	start := time.Now()
	st, err := Replay(context.Background(), o.open, ReplayOptions{Speed: 10}, func(tk Tick) error {
		offs = append(offs, time.Since(start))
		if !tk.Time.Equal(ts[len(offs)-1].Time) {
			t.Errorf("tick %d time changed: %v", len(offs)-1, tk.Time)
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ticks != 11 || st.Loops != 1 || len(offs) != 11 {
		t.Fatalf("stats %+v, %d emits", st, len(offs))
	}
	for i, off := range offs {
		due := time.Duration(i) * 10 * time.Millisecond
		if off < due || off > due+slack {
			t.Errorf("tick %d emitted at %v, due %v", i, off, due)
		}
	}
	if want := 100 * time.Millisecond; elapsed < want || elapsed > want+slack {
		t.Errorf("elapsed %v, want within [%v, %v]", elapsed, want, want+slack)
	}
	if st.MaxDrift < 0 || st.MaxDrift > slack {
		t.Errorf("MaxDrift %v", st.MaxDrift)
	}
	if o.closes.Load() != 1 {
		t.Errorf("source closed %d times, want 1", o.closes.Load())
	}
	t.Logf("elapsed %v, max drift %v", elapsed, st.MaxDrift)
}

// TestReplaySlowEmitCatchesUp: a slow emit makes later ticks late, but the
// schedule is kept from the start, so the replay catches up instead of
// accumulating the delay.
func TestReplaySlowEmitCatchesUp(t *testing.T) {
	ts := spaced(21, 10*time.Millisecond) // 200ms at speed 1
	start := time.Now()
	n := 0
	st, err := Replay(context.Background(), (&sliceOpener{ts: ts}).open, ReplayOptions{Speed: 1}, func(Tick) error {
		n++
		if n == 2 {
			time.Sleep(60 * time.Millisecond) // ticks 2..7 become due meanwhile
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil || st.Ticks != 21 {
		t.Fatalf("%+v %v", st, err)
	}
	if want := 200 * time.Millisecond; elapsed < want || elapsed > want+slack {
		t.Errorf("elapsed %v, want about %v: lateness accumulated?", elapsed, want)
	}
	if st.MaxDrift < 40*time.Millisecond {
		t.Errorf("MaxDrift %v, want >= 40ms after a 60ms stall", st.MaxDrift)
	}
}

func TestReplayAsFastAsPossible(t *testing.T) {
	ts := spaced(10000, time.Hour) // over a year of ticks
	for _, speed := range []float64{0, -1} {
		start := time.Now()
		st, err := Replay(context.Background(), (&sliceOpener{ts: ts}).open, ReplayOptions{Speed: speed}, func(Tick) error { return nil })
		if err != nil || st.Ticks != len(ts) || st.MaxDrift != 0 {
			t.Fatalf("speed %v: %+v %v", speed, st, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("speed %v took %v", speed, d)
		}
	}
}

func TestReplayFromTo(t *testing.T) {
	ts := spaced(10, time.Second) // t0+0s .. t0+9s
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []float64 // Bid = index = second
	}{
		{"both", sec(3), sec(7), []float64{3, 4, 5, 6}},
		{"from only", sec(8), time.Time{}, []float64{8, 9}},
		{"to only", time.Time{}, sec(2), []float64{0, 1}},
		{"from between ticks", sec(3).Add(time.Millisecond), sec(5).Add(time.Millisecond), []float64{4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The source fails after its last tick: with a To bound the
			// replay must stop before reading that far.
			o := &sliceOpener{ts: ts, sourceAfterErr: errors.New("read past the end")}
			var got []float64
			st, err := Replay(context.Background(), o.open, ReplayOptions{From: tc.from, To: tc.to}, func(tk Tick) error {
				got = append(got, tk.Bid)
				if !tk.Time.Equal(sec(int(tk.Bid))) {
					t.Errorf("time changed: %v", tk.Time)
				}
				return nil
			})
			if tc.to.IsZero() {
				if err == nil || !strings.Contains(err.Error(), "read past the end") {
					t.Fatalf("err = %v, want the source error", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || st.Ticks != len(tc.want) {
				t.Fatalf("got %v (stats %+v), want %v", got, st, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestReplayFromIsTimeZero: pacing starts at the first tick in the window,
// not at the first tick of the file.
func TestReplayFromIsTimeZero(t *testing.T) {
	ts := spaced(10, time.Second)
	start := time.Now()
	var first time.Duration
	st, err := Replay(context.Background(), (&sliceOpener{ts: ts}).open,
		ReplayOptions{Speed: 100, From: t0.Add(5 * time.Second), To: t0.Add(8 * time.Second)},
		func(Tick) error {
			if first == 0 {
				first = time.Since(start)
			}
			return nil
		})
	elapsed := time.Since(start)
	if err != nil || st.Ticks != 3 {
		t.Fatalf("%+v %v", st, err)
	}
	if first > slack/2 {
		t.Errorf("first tick after %v, want at once", first)
	}
	if want := 20 * time.Millisecond; elapsed < want || elapsed > want+slack {
		t.Errorf("elapsed %v, want about %v", elapsed, want)
	}
}

func TestReplayLoop(t *testing.T) {
	ms := time.Millisecond
	ts := []Tick{
		{Time: t0, Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(100 * ms), Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(200 * ms), Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(1000 * ms), Symbol: "A", Kind: KindQuote},
	}
	// Gaps 100, 100, 800ms: the typical (median) gap is 100ms, so each pass
	// starts 100ms after the previous one's last tick: a period of 1.1s.
	want := []time.Duration{0, 100, 200, 1000, 1100, 1200, 1300, 2100, 2200, 2300, 2400, 3200}
	for _, speed := range []float64{0, 100} {
		o := &sliceOpener{ts: ts}
		ctx, cancel := context.WithCancel(context.Background())
		var got []time.Duration
		start := time.Now()
		st, err := Replay(ctx, o.open, ReplayOptions{Speed: speed, Loop: true}, func(tk Tick) error {
			got = append(got, tk.Time.Sub(t0)/ms)
			if len(got) == len(want) {
				cancel()
			}
			return nil
		})
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(err, context.Canceled) || err != ctx.Err() {
			t.Fatalf("speed %v: err = %v, want ctx.Err()", speed, err)
		}
		if st.Ticks != len(want) || st.Loops != 2 || o.opens.Load() != 3 || o.closes.Load() != 3 {
			t.Errorf("speed %v: stats %+v, opens %d closes %d; want 12 ticks, 2 loops, 3 opens and closes",
				speed, st, o.opens.Load(), o.closes.Load())
		}
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Fatalf("speed %v: emitted times (ms) %v, want %v", speed, got, want)
			}
		}
		if speed > 0 {
			// 3.2s of tick time at speed 100.
			if w := 32 * ms; elapsed < w || elapsed > w+slack {
				t.Errorf("speed %v: elapsed %v, want about %v", speed, elapsed, w)
			}
		}
	}
}

func TestReplayLoopSingleTick(t *testing.T) {
	// No gap to learn from: passes are defaultLoopGap apart.
	o := &sliceOpener{ts: spaced(1, 0)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []time.Time
	_, err := Replay(ctx, o.open, ReplayOptions{Loop: true}, func(tk Tick) error {
		got = append(got, tk.Time)
		if len(got) == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for i, tm := range got {
		if want := t0.Add(time.Duration(i) * defaultLoopGap); !tm.Equal(want) {
			t.Errorf("pass %d at %v, want %v", i, tm, want)
		}
	}
}

func TestReplayCancel(t *testing.T) {
	ts := spaced(5, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	st, err := Replay(ctx, (&sliceOpener{ts: ts}).open, ReplayOptions{Speed: 1, Loop: true}, func(Tick) error { return nil })
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 50*time.Millisecond+slack {
		t.Errorf("returned after %v", d)
	}
	if st.Ticks != 1 || st.Loops != 0 {
		t.Errorf("stats %+v, want 1 tick, 0 loops", st)
	}

	// Deadline, and a context cancelled before the start.
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer dcancel()
	if _, err := Replay(dctx, (&sliceOpener{ts: ts}).open, ReplayOptions{Speed: 1}, func(Tick) error { return nil }); err != context.DeadlineExceeded {
		t.Fatalf("deadline: err = %v", err)
	}
	o := &sliceOpener{ts: ts}
	if _, err := Replay(ctx, o.open, ReplayOptions{}, func(Tick) error { return nil }); err != context.Canceled || o.opens.Load() != 0 {
		t.Fatalf("pre-cancelled: err = %v, opens %d", err, o.opens.Load())
	}
}

func TestReplayErrors(t *testing.T) {
	ts := spaced(5, time.Millisecond)
	stop := errors.New("client gone")
	o := &sliceOpener{ts: ts}
	st, err := Replay(context.Background(), o.open, ReplayOptions{Loop: true}, func(tk Tick) error {
		if tk.Bid == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || err == stop || st.Ticks != 2 {
		t.Errorf("emit error: %v (stats %+v), want it wrapped after 2 ticks", err, st)
	}
	if o.closes.Load() != 1 {
		t.Errorf("source not closed after emit error")
	}

	noFile := errors.New("no such file")
	if _, err := Replay(context.Background(), (&sliceOpener{failOpen: noFile}).open, ReplayOptions{}, func(Tick) error { return nil }); !errors.Is(err, noFile) {
		t.Errorf("open error: %v", err)
	}

	// A bad row in a real Reader surfaces as a *ParseError.
	bad := "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n2014-05-08T00:00:00.287Z,NZDUSD,oops,0.86501\n"
	open := func() (Source, error) { return NewReader(strings.NewReader(bad), "bad.csv", Options{}) }
	st, err = Replay(context.Background(), open, ReplayOptions{}, func(Tick) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || st.Ticks != 1 {
		t.Errorf("source error: %v (stats %+v)", err, st)
	}
}

func TestReplayNoTicks(t *testing.T) {
	for _, loop := range []bool{false, true} {
		o := &sliceOpener{ts: spaced(3, time.Second)}
		st, err := Replay(context.Background(), o.open, ReplayOptions{Loop: loop, From: t0.Add(time.Hour)}, func(Tick) error { return nil })
		if !errors.Is(err, ErrNoTicks) || st.Ticks != 0 || o.opens.Load() != 1 {
			t.Errorf("loop=%v: %v, %+v, %d opens; want ErrNoTicks after one open", loop, err, st, o.opens.Load())
		}
	}
}

func TestReplayReader(t *testing.T) {
	st, err := Replay(context.Background(), Opener(oandaTestdata, Options{}), ReplayOptions{}, func(Tick) error { return nil })
	if err != nil || st.Ticks != 50 || st.Loops != 1 {
		t.Fatalf("%+v %v", st, err)
	}
}

func TestScaleDuration(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		speed float64
		want  time.Duration
	}{
		{time.Second, 1, time.Second},
		{time.Second, 10, 100 * time.Millisecond},
		{time.Second, 0.5, 2 * time.Second},
		{time.Hour * 1e5, 1e-9, 1<<63 - 1},
		{-time.Hour * 1e5, 1e-9, -1 << 63},
	} {
		if got := scaleDuration(tc.d, tc.speed); got != tc.want {
			t.Errorf("scaleDuration(%v, %v) = %v, want %v", tc.d, tc.speed, got, tc.want)
		}
	}
}

// TestReplayBatches: ticks due together go to emit in one batch, in order, up
// to maxBatch; ticks due later wait for their time; MaxDone and Observe see
// the lateness when emit returned, which a slow emit makes larger than
// MaxDrift.
func TestReplayBatches(t *testing.T) {
	// Groups of 3 ticks with equal times, 50 ms apart: at speed 1 each group
	// is one batch; with maxBatch 2 each group is a batch of 2 and one of 1.
	var ts []Tick
	for g := range 4 {
		for i := range 3 {
			ts = append(ts, Tick{Time: t0.Add(time.Duration(g) * 50 * time.Millisecond), Symbol: "X", Kind: KindQuote, Bid: float64(g*3 + i)})
		}
	}
	for _, c := range []struct {
		maxBatch int
		sizes    []int
	}{{8, []int{3, 3, 3, 3}}, {2, []int{2, 1, 2, 1, 2, 1, 2, 1}}} {
		// The batch sizes depend on the replay keeping its 50 ms schedule:
		// a stall of the machine longer than a gap makes two groups due
		// together, which the replay rightly batches as one (seen under
		// -race in CI). So the sizes must hold in one of three runs; a wrong
		// batching fails every run. Values, order and lateness hold in each.
		sizesOK := false
		var lastSizes []int
		for attempt := 0; attempt < 3 && !sizesOK; attempt++ {
			var sizes []int
			var got []float64
			var observed []time.Duration
			opt := ReplayOptions{Speed: 1, Observe: func(due, late time.Duration) { observed = append(observed, due) }}
			st, err := ReplayBatches(context.Background(), (&sliceOpener{ts: ts}).open, opt, c.maxBatch, func(b []Tick) error {
				sizes = append(sizes, len(b))
				for _, tk := range b {
					got = append(got, tk.Bid)
				}
				time.Sleep(5 * time.Millisecond) // a slow publish: MaxDone includes it
				return nil
			})
			if err != nil || st.Ticks != len(ts) || st.Loops != 1 {
				t.Fatalf("maxBatch %d: %+v %v", c.maxBatch, st, err)
			}
			sizesOK, lastSizes = slices.Equal(sizes, c.sizes), sizes
			for i, b := range got {
				if b != float64(i) {
					t.Fatalf("maxBatch %d: tick %d is %v: out of order", c.maxBatch, i, b)
				}
			}
			if st.MaxDone < st.MaxDrift+5*time.Millisecond {
				t.Errorf("maxBatch %d: MaxDone %v, want >= MaxDrift %v + the 5ms emit", c.maxBatch, st.MaxDone, st.MaxDrift)
			}
			if len(observed) != len(ts) || observed[0] != 0 || observed[len(ts)-1] != 150*time.Millisecond {
				t.Errorf("maxBatch %d: observed due offsets %v", c.maxBatch, observed)
			}
		}
		if !sizesOK {
			t.Errorf("maxBatch %d: batches of %v in the last of 3 runs, want %v", c.maxBatch, lastSizes, c.sizes)
		}
	}

	// As fast as possible every batch is full but the last.
	var sizes []int
	st, err := ReplayBatches(context.Background(), (&sliceOpener{ts: spaced(10, time.Hour)}).open, ReplayOptions{}, 4, func(b []Tick) error {
		sizes = append(sizes, len(b))
		return nil
	})
	if err != nil || st.Ticks != 10 || !slices.Equal(sizes, []int{4, 4, 2}) || st.MaxDone != 0 {
		t.Errorf("unpaced: batches %v, %+v %v", sizes, st, err)
	}
}

// TestReplayBatchesBadRow: a bad row read while filling a batch ends the
// replay with its error after the good ticks before it are emitted.
func TestReplayBatchesBadRow(t *testing.T) {
	bad := "ts_utc,symbol,bid,ask\n2014-05-08T00:00:00.036Z,NZDUSD,0.86478,0.86503\n" +
		"2014-05-08T00:00:00.287Z,NZDUSD,0.86478,0.86501\n2014-05-08T00:00:00.298Z,NZDUSD,oops,0.86501\n"
	open := func() (Source, error) { return NewReader(strings.NewReader(bad), "bad.csv", Options{}) }
	var emitted int
	st, err := ReplayBatches(context.Background(), open, ReplayOptions{}, 256, func(b []Tick) error {
		emitted += len(b)
		return nil
	})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || st.Ticks != 2 || emitted != 2 {
		t.Errorf("err %v, stats %+v, emitted %d; want line 4 after 2 ticks", err, st, emitted)
	}
}

// TestReplayResume: a resumed replay starts its first pass at Resume, its
// later passes at the beginning, LoopGap apart (not a gap learned from the
// partial first pass), and an anchored one waits for the wall clock.
func TestReplayResume(t *testing.T) {
	ms := time.Millisecond
	ts := []Tick{
		{Time: t0, Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(100 * ms), Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(200 * ms), Symbol: "A", Kind: KindQuote},
		{Time: t0.Add(1000 * ms), Symbol: "A", Kind: KindQuote},
	}
	want := []time.Duration{200, 1000, 1300, 1400, 1500, 2300, 2600}
	o := &sliceOpener{ts: ts}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []time.Duration
	_, err := Replay(ctx, o.open, ReplayOptions{Loop: true, Resume: t0.Add(150 * ms), LoopGap: 300 * ms}, func(tk Tick) error {
		got = append(got, tk.Time.Sub(t0)/ms)
		if len(got) == len(want) {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("emitted times (ms) %v, want %v", got, want)
	}

	// Anchored: the tick at t0+100ms is due 30ms from now (speed 1), so
	// the first emitted one (t0+200ms) 130ms from now, not at once.
	start := time.Now()
	var first time.Duration
	_, err = Replay(context.Background(), (&sliceOpener{ts: ts[:3]}).open,
		ReplayOptions{Speed: 1, Resume: t0.Add(150 * ms), AnchorAt: start.Add(30 * ms), AnchorTick: t0.Add(100 * ms)},
		func(tk Tick) error {
			first = time.Since(start)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if first < 130*ms {
		t.Errorf("the first tick came %v after the start, want >= 130ms (anchored)", first)
	}
}
