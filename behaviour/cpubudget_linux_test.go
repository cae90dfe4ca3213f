package behaviour

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tickwire/protocol"
)

// The CPU budget (Linux): a merge is stopped after about CallBudget of its
// thread's CPU time, not of wall-clock time, so a call on a starved thread
// is not stopped for the time it waits for a CPU, and a runaway one is
// stopped after about the budget of CPU however starved it is.

// Opcodes for rawCount.
const (
	opLocalSet   = 0x21
	opLocalTee   = 0x22
	opLocalGet   = 0x20
	opI32Sub     = 0x6b
	opI32TruncF6 = 0xaa // i32.trunc_f64_s
)

// rawCount counts down from the incoming value's last (at least 1) and
// returns 0, leaving the current value as it is: an honest merge whose CPU
// time the caller chooses.
//
//	local.set 0 (i32.trunc_f64_s (f64.load incoming.last))
//	loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end
//	i32.const 0
var rawCount = mergeFunc("count",
	i32c(slotAddr(1, 4)), []byte{opF64Load, 3, 0, opI32TruncF6, opLocalSet, 0},
	[]byte{opLoop, blockEmpty, opLocalGet, 0}, i32c(1), []byte{opI32Sub, opLocalTee, 0, opBrIf, 0, opEnd},
	i32c(0))

// threadCPUNow is the calling thread's CPU time; the caller has locked its
// goroutine to the thread.
func threadCPUNow(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// measure merges with b on this goroutine's thread and returns the call's
// error, wall-clock time and CPU time.
func measure(t *testing.T, b *Behaviour, count float64) (error, time.Duration, time.Duration) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, in := trade(1, 1), trade(count, 1)
	before := cur
	c0, w0 := threadCPUNow(t), time.Now()
	err := b.Merge(&cur, &in)
	wall, cpu := time.Since(w0), threadCPUNow(t)-c0
	if err != nil && cur != before {
		t.Errorf("dst changed by a failed merge")
	}
	if err == nil {
		if v, _ := cur.Get(protocol.Last); v != 1 {
			t.Errorf("count changed the value: last %v", v)
		}
	}
	return err, wall, cpu
}

// starve runs 4 busy goroutines per P until the test ends: a goroutine
// that wants a CPU waits for several of their time slices.
func starve(t *testing.T) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
			}
		}()
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
}

// TestCPUBudgetStopsLoop: a runaway loop is stopped after its budget of CPU
// (1 to 2 budgets: the watchdog ticks every half budget and counts from its
// first sight of the call), quiet or starved; starved, that takes longer in
// wall-clock time.
func TestCPUBudgetStopsLoop(t *testing.T) {
	const budget = 20 * time.Millisecond
	r := newRuntime(t, Config{CallBudget: budget, CallWallLimit: time.Minute})
	if !r.CPUClock() {
		t.Fatal("no thread CPU clock on Linux")
	}
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawLoop))
	b := behaviourOf(t, m, "loop")
	check := func(how string) {
		err, wall, cpu := measure(t, b, 0)
		wantReason(t, err, ReasonTimeout)
		t.Logf("%s: stopped after %v of CPU, %v of wall-clock time", how, cpu, wall)
		// The upper bound has room for a late watchdog tick: on a loaded
		// machine the watchdog waits for a CPU too.
		if cpu < budget || cpu > 4*budget {
			t.Errorf("%s: stopped after %v of CPU, want %v to about %v", how, cpu, budget, 2*budget)
		}
		checkRecovers(t, m)
	}
	check("quiet")
	starve(t)
	check("starved")
}

// TestCPUBudgetSparesStarvedCall: an honest merge using over half its CPU
// budget, on a thread so starved that it takes several budgets of
// wall-clock time, is not stopped. (With a wall-clock budget it was.)
func TestCPUBudgetSparesStarvedCall(t *testing.T) {
	// The call's CPU time, 5/8 of the budget, is over the Go scheduler's
	// 10ms time slice: it is preempted at least once, and then waits
	// behind the busy goroutines.
	const budget = 40 * time.Millisecond
	r := newRuntime(t, Config{CallBudget: budget, CallWallLimit: time.Minute})
	b := behaviourOf(t, compile(t, r, abiModule(ABIVersion, rawKeep, rawCount)), "count")

	// Calibrate the count to about 5/8 of the budget of CPU.
	count := 1e5
	for {
		err, _, cpu := measure(t, b, count)
		if err != nil {
			t.Fatal(err)
		}
		if cpu >= budget/8 || count > 1e9 {
			count *= float64(budget*5/8) / float64(max(cpu, time.Microsecond))
			break
		}
		count *= 4
	}
	err, wall, cpu := measure(t, b, count)
	t.Logf("count %.0f: quiet, %v of CPU, %v of wall-clock time", count, cpu, wall)
	if err != nil {
		t.Fatal(err)
	}

	starve(t)
	starved := 0
	for range 5 {
		err, wall, cpu = measure(t, b, count)
		t.Logf("starved: %v of CPU, %v of wall-clock time", cpu, wall)
		if err != nil {
			t.Fatalf("an honest call using %v of CPU in %v was stopped: %v", cpu, wall, err)
		}
		if wall >= 2*budget {
			starved++
		}
	}
	if starved == 0 {
		t.Errorf("no call took 2x its %v budget: not starved, the test shows nothing", budget)
	}
}
