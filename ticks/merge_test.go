package ticks

import (
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// at builds a tick at second s, labelled by symbol so order is visible.
func at(s float64, sym string) Tick {
	return Tick{Time: time.Unix(1_700_000_000, 0).UTC().Add(time.Duration(s * float64(time.Second))), Symbol: sym, Kind: KindQuote}
}

func symbols(ts []Tick) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Symbol
	}
	return out
}

func TestMergeOrderAndStability(t *testing.T) {
	a := []Tick{at(1, "a1"), at(2, "a2"), at(2, "a2'"), at(5, "a5")}
	b := []Tick{at(0, "b0"), at(2, "b2"), at(3, "b3")}
	c := []Tick{at(2, "c2"), at(2, "c2'"), at(9, "c9")}
	got, err := ReadAll(Merge(FromSlice(a), FromSlice(b), FromSlice(nil), FromSlice(c)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b0", "a1", "a2", "a2'", "b2", "c2", "c2'", "b3", "a5", "c9"}
	if !slices.Equal(symbols(got), want) {
		t.Fatalf("order %v, want %v", symbols(got), want)
	}
	if got, err := ReadAll(Merge()); err != nil || len(got) != 0 {
		t.Fatalf("Merge() = %v, %v", got, err)
	}
}

// TestMergeRandom checks Merge against a stable sort by time over many
// random sources with heavy time collisions.
func TestMergeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		k := 1 + rng.IntN(8)
		var srcs []Source
		type key struct {
			tick Tick
			src  int
		}
		var all []key
		for s := range k {
			n := rng.IntN(20)
			var ts []Tick
			sec := 0.0
			for i := range n {
				sec += float64(rng.IntN(3)) // many equal times
				tk := at(sec, string(rune('a'+s))+string(rune('0'+i%10)))
				tk.Bid = float64(i)
				ts = append(ts, tk)
				all = append(all, key{tk, s})
			}
			srcs = append(srcs, FromSlice(ts))
		}
		slices.SortStableFunc(all, func(x, y key) int {
			if c := x.tick.Time.Compare(y.tick.Time); c != 0 {
				return c
			}
			return x.src - y.src
		})
		got, err := ReadAll(Merge(srcs...))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) {
			t.Fatalf("iter %d: %d ticks, want %d", iter, len(got), len(all))
		}
		for i := range got {
			if !tickEqual(got[i], all[i].tick) {
				t.Fatalf("iter %d: tick %d = %+v, want %+v", iter, i, got[i], all[i].tick)
			}
		}
	}
}

func TestMergeTestdata(t *testing.T) {
	ts := testdataMerged(t)
	if len(ts) != 120 {
		t.Fatalf("%d ticks, want 120", len(ts))
	}
	if !slices.IsSortedFunc(ts, func(a, b Tick) int { return a.Time.Compare(b.Time) }) {
		t.Fatal("not in time order")
	}
	// 2014 OANDA ticks all come before the 2024 Binance ones.
	if ts[49].Symbol != "NZDUSD" || ts[50].Symbol != "ETHUSDT" {
		t.Fatalf("boundary: %v, %v", ts[49], ts[50])
	}
}

type errSource struct {
	ts  []Tick
	err error
}

func (s *errSource) Next() (Tick, error) {
	if len(s.ts) == 0 {
		return Tick{}, s.err
	}
	t := s.ts[0]
	s.ts = s.ts[1:]
	return t, nil
}

type closeSource struct {
	Source
	closed int
}

func (c *closeSource) Close() error { c.closed++; return nil }

func TestMergeError(t *testing.T) {
	boom := errors.New("boom")
	m := Merge(FromSlice([]Tick{at(0, "a0"), at(5, "a5")}), &errSource{ts: []Tick{at(1, "b1"), at(2, "b2")}, err: boom})
	var got []string
	var err error
	for {
		var tk Tick
		tk, err = m.Next()
		if err != nil {
			break
		}
		got = append(got, tk.Symbol)
	}
	// b2 was read before b's error surfaced; it is still delivered.
	if !errors.Is(err, boom) || !slices.Equal(got, []string{"a0", "b1", "b2"}) {
		t.Fatalf("got %v then %v", got, err)
	}
	if _, err2 := m.Next(); err2 != err {
		t.Fatalf("not sticky: %v", err2)
	}
	// An error while priming is returned at once.
	if _, err := Merge(&errSource{err: boom}).Next(); !errors.Is(err, boom) {
		t.Fatalf("priming error: %v", err)
	}
}

func TestMergeClose(t *testing.T) {
	a := &closeSource{Source: FromSlice(nil)}
	b := &closeSource{Source: FromSlice(nil)}
	m := Merge(a, FromSlice(nil), b)
	if _, err := m.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if err := m.(io.Closer).Close(); err != nil || a.closed != 1 || b.closed != 1 {
		t.Fatalf("Close: %v, closed %d %d", err, a.closed, b.closed)
	}
}
