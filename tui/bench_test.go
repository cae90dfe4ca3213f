package tui

import (
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
	"tickwire/protocol"
)

// feedInterval is the batching interval cmd/tickwire gives Feed.
const feedInterval = 50 * time.Millisecond

// simulatedSecond returns the second after start of a busy feed: rate
// updates per second for each of symbols, as the client delivers them (boxed
// client.Events, received at even intervals), cut into the batches Feed
// would send. mid holds each symbol's price, walked randomly.
func simulatedSecond(syms []string, rate int, start time.Time, mid []float64, rng *rand.Rand) [][]client.Event {
	nb := int(time.Second / feedInterval)
	per := len(syms) * rate / nb
	out := make([][]client.Event, nb)
	for i := range out {
		for j := range per {
			k := (i*per + j) % len(syms)
			mid[k] += float64(rng.IntN(3)-1) * 0.00001
			var q protocol.Quote
			q.Put(protocol.Bid, mid[k]-0.00006)
			q.Put(protocol.Ask, mid[k]+0.00006)
			at := start.Add(time.Duration(i)*feedInterval + time.Duration(j)*feedInterval/time.Duration(per))
			out[i] = append(out[i], client.PriceEvent{Topic: syms[k], Quote: q, Changed: 3, Received: at})
		}
	}
	return out
}

func benchSymbols(n int) ([]string, []float64, *rand.Rand) {
	syms := make([]string, n)
	mid := make([]float64, n)
	for i := range syms {
		syms[i] = fmt.Sprintf("SYM%03d", i)
		mid[i] = 1 + float64(i)/10
	}
	return syms, mid, rand.New(rand.NewPCG(1, 2))
}

// BenchmarkDashboard measures the dashboard's CPU per simulated second of
// 50 symbols updating 100 times a second each (5000 updates/s): every update
// goes through Feed's Batcher, each 50 ms batch through Update, then View
// (bubbletea renders after every message), plus the 200 ms render ticks. One
// op is one simulated second, so %core = ns/op / 1e7. The 120x60 window
// shows all 50 rows (the worst case); 80x24 shows 10.
func BenchmarkDashboard(b *testing.B) {
	for _, sz := range [][2]int{{120, 60}, {80, 24}} {
		b.Run(fmt.Sprintf("symbols=50/rate=100hz/window=%dx%d", sz[0], sz[1]), func(b *testing.B) {
			benchDashboard(b, 50, 100, sz[0], sz[1])
		})
	}
	b.Run("symbols=50/rate=1000hz/window=120x60", func(b *testing.B) { benchDashboard(b, 50, 1000, 120, 60) })
}

func benchDashboard(b *testing.B, symbols, rate, w, h int) {
	syms, mid, rng := benchSymbols(symbols)
	clk := &clock{t: t0}
	m := New(Config{Symbols: syms, Now: clk.now})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(EventsMsg{connected(testURL, "bench")})
	ticksEvery := int(200 * time.Millisecond / feedInterval)
	var batcher Batcher
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		// The clock runs on across ops; making the events is not timed.
		b.StopTimer()
		start := t0.Add(time.Duration(n) * time.Second)
		second := simulatedSecond(syms, rate, start, mid, rng)
		b.StartTimer()
		for i, evs := range second {
			clk.t = start.Add(time.Duration(i+1) * feedInterval)
			for _, ev := range evs {
				batcher.Add(ev)
			}
			m.Update(batcher.Take())
			_ = m.View()
			if (i+1)%ticksEvery == 0 {
				m.Update(tickMsg(clk.t))
				_ = m.View()
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}

// BenchmarkProgram runs the real thing for one wall-clock second per op: a
// bubbletea program (standard renderer, 60 fps, output discarded) fed by Feed
// from a goroutine producing 5000 price events a second, and reports the
// process's CPU time (user+sys, all goroutines, GC included) per second of
// wall time. The producer's own cost is included, so this overstates the
// dashboard's. Run with -benchtime=3x.
func BenchmarkProgram(b *testing.B) {
	syms, mid, rng := benchSymbols(50)
	second := simulatedSecond(syms, 100, t0, mid, rng)
	m := New(Config{Symbols: syms})
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignals())
	events := make(chan client.Event, 1024)
	go Feed(b.Context(), p, events, feedInterval)
	done := make(chan struct{})
	go func() {
		_, _ = p.Run()
		close(done)
	}()
	p.Send(tea.WindowSizeMsg{Width: 120, Height: 60})
	p.Send(EventsMsg{connected(testURL, "bench")})
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, evs := range second {
			next := time.Now().Add(feedInterval)
			for _, ev := range evs {
				pe := ev.(client.PriceEvent)
				pe.Received = time.Now()
				events <- pe
			}
			time.Sleep(time.Until(next))
		}
	}
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	b.StopTimer()
	p.Quit()
	<-done
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
}
