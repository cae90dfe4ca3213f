package behaviour

import (
	"runtime"
	"testing"
	"time"
)

// TestGCDoesNotWaitForRunaway: a garbage collection does not wait for a
// spinning module to be stopped. wazero's compiled code is not preempted
// by Go, but under WithCloseOnContextDone every loop header leaves it for a
// Go function, where the goroutine can be stopped: forced GCs complete in
// a fraction of a long budget while the module spins (docs/behaviours.md,
// "What a runaway module costs the other topics").
func TestGCDoesNotWaitForRunaway(t *testing.T) {
	const budget = 3 * time.Second
	r := newRuntime(t, Config{CallBudget: budget, CallWallLimit: budget})
	b := behaviourOf(t, compile(t, r, abiModule(ABIVersion, rawKeep, rawLoop)), "loop")
	done := make(chan error, 1)
	go func() {
		cur, in := trade(1, 1), trade(2, 1)
		done <- b.Merge(&cur, &in)
	}()
	// Wait until the call runs (its instance is stamped).
	deadline := time.Now().Add(budget)
	for running := false; !running; {
		if time.Now().After(deadline) {
			t.Fatal("the call did not start")
		}
		r.mu.Lock()
		for in := range r.instances {
			running = running || in.started.Load() != 0
		}
		r.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	var worst time.Duration
	for range 10 {
		start := time.Now()
		runtime.GC()
		worst = max(worst, time.Since(start))
	}
	t.Logf("worst runtime.GC while the module spun: %v", worst)
	if worst > budget/3 {
		t.Errorf("a GC took %v while a module spun under a %v budget: it waited for the module", worst, budget)
	}
	select {
	case err := <-done:
		t.Fatalf("the loop returned during the GCs: %v", err)
	default:
	}
	wantReason(t, <-done, ReasonTimeout)
}
