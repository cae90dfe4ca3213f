package behaviour

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"tickwire/behaviours/abi"
	"tickwire/protocol"
)

// BenchmarkMerge compares a merge per publish: the built-in protocol.Ops
// (native Go) and the same trade merge as a Go-built WebAssembly behaviour,
// plus a hand-written module (the floor of a call) and the vwap example.
func BenchmarkMerge(b *testing.B) {
	trades := [2]protocol.Quote{trade(100, 1), trade(101, 2)}
	b.Run("native/trade", func(b *testing.B) {
		b.ReportAllocs()
		var cur protocol.Quote
		for i := 0; b.Loop(); i++ {
			protocol.OpsTrade.Merge(&cur, &trades[i&1])
		}
	})
	merge := func(b *testing.B, bh *Behaviour) {
		b.ReportAllocs()
		var cur protocol.Quote
		for i := 0; b.Loop(); i++ {
			if err := bh.Merge(&cur, &trades[i&1]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("wasm/trade", func(b *testing.B) {
		merge(b, loadBench(b, "trade", benchConfig))
	})
	b.Run("wasm/trade-no-time-budget", func(b *testing.B) {
		merge(b, loadBench(b, "trade", Config{NoTimeBudget: true}))
	})
	b.Run("wasm/raw-sumvol", func(b *testing.B) {
		r := newRuntime(b, benchConfig)
		merge(b, behaviourOf(b, compile(b, r, abiModule(ABIVersion, rawSumVolume)), "sumvol"))
	})
	b.Run("wasm/vwap-15-slots", func(b *testing.B) {
		bh := loadBench(b, "vwap", benchConfig)
		b.ReportAllocs()
		var cur abi.Record
		ins := [2]abi.Record{rec(abi.Last, 100, abi.LastSize, 1), rec(abi.Last, 101, abi.LastSize, 2)}
		for i := 0; b.Loop(); i++ {
			if err := mergeSlots(bh, exampleSlots, &cur, &ins[i&1]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wasm/trade-parallel", func(b *testing.B) {
		bh := loadBench(b, "trade", benchConfig)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var cur protocol.Quote
			for i := 0; pb.Next(); i++ {
				if err := bh.Merge(&cur, &trades[i&1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkWazeroCall isolates the price of the time budget: the same raw
// merge called straight through wazero, with and without
// WithCloseOnContextDone (which starts a goroutine per call, wazero #2466).
func BenchmarkWazeroCall(b *testing.B) {
	for _, term := range []bool{false, true} {
		name := "no-budget"
		if term {
			name = "close-on-context-done"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			wr := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(term))
			defer wr.Close(ctx)
			mod, err := wr.Instantiate(ctx, abiModule(ABIVersion, rawSumVolume).bytes())
			if err != nil {
				b.Fatal(err)
			}
			f := mod.ExportedFunction("sumvol")
			var stack [1]uint64
			b.ReportAllocs()
			for b.Loop() {
				stack[0] = uint64(slots)
				if err := f.CallWithStack(ctx, stack[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchConfig has a long budget: on a starved shared VM an honest call can
// stall past the default, and a benchmark measures cost, not the watchdog.
var benchConfig = Config{CallBudget: 5 * time.Second}

func loadBench(b *testing.B, name string, cfg Config) *Behaviour {
	b.Helper()
	m, err := newRuntime(b, cfg).Load(context.Background(), goModule(b, name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	return behaviourOf(b, m, name)
}

// BenchmarkCallThread is what the CPU budget adds to a call: locking the
// goroutine to its OS thread, reading the thread's id, unlocking.
func BenchmarkCallThread(b *testing.B) {
	for b.Loop() {
		runtime.LockOSThread()
		_ = threadID()
		runtime.UnlockOSThread()
	}
}
