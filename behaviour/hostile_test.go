package behaviour

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/protocol"
)

// Hostile modules: each is refused at load or fails its call with a clear
// reason, leaves the value untouched, and the behaviour (or a fresh
// instance of it) works again afterwards.

// writeFile writes b to a file in a temp dir and returns its path.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadRefuses(t *testing.T) {
	r := newRuntime(t, Config{MaxModuleBytes: 4096})
	ctx := context.Background()
	valid := abiModule(ABIVersion, rawKeep).bytes()
	cases := []struct {
		name   string
		wasm   []byte
		reason Reason
		detail string
	}{
		{"text", []byte("#!/bin/sh\necho not a module\n"), ReasonInvalid, "not a WebAssembly module"},
		{"empty", nil, ReasonInvalid, "not a WebAssembly module"},
		{"truncated", valid[:len(valid)-3], ReasonInvalid, ""},
		{"too large", append(valid, make([]byte, 4096)...), ReasonInvalid, "over the 4096 byte limit"},
		{"abi version 2", abiModule(2, rawKeep).bytes(), ReasonABI, "ABI version 2"},
		{"abi version 0", abiModule(0, rawKeep).bytes(), ReasonABI, "ABI version 0"},
		{"no version export", rawModule{pages: 1, funcs: []rawFunc{{name: ExportBuffer, results: []byte{tI32}, body: i32c(rawBuf)}, rawKeep}}.bytes(),
			ReasonABI, "does not export " + ExportABIVersion},
		{"no memory", rawModule{noMem: true, funcs: abiModule(ABIVersion).funcs}.bytes(), ReasonABI, "exports 0 memories"},
		{"buffer outside memory", rawModule{pages: 1, funcs: []rawFunc{
			{name: ExportABIVersion, results: []byte{tI32}, body: i32c(ABIVersion)},
			{name: ExportBuffer, results: []byte{tI32}, body: i32c(65536 - 100)}}}.bytes(), ReasonABI, "outside"},
		{"imports a file", rawModule{pages: 1,
			imports: []rawImport{{module: "wasi_snapshot_preview1", name: "path_open",
				params: []byte{tI32, tI32, tI32, tI32, tI32, tI64, tI64, tI32, tI32}, results: []byte{tI32}}},
			funcs: abiModule(ABIVersion, rawKeep).funcs}.bytes(), ReasonABI, "path_open, which is not granted"},
		{"imports the host", rawModule{pages: 1,
			imports: []rawImport{{module: "env", name: "system", params: []byte{tI32}, results: []byte{tI32}}},
			funcs:   abiModule(ABIVersion, rawKeep).funcs}.bytes(), ReasonABI, "env.system"},
		{"a command", rawModule{pages: 1, funcs: append(abiModule(ABIVersion, rawKeep).funcs, rawFunc{name: "_start"})}.bytes(),
			ReasonABI, "build it with -buildmode=c-shared"},
		{"memory over the cap", rawModule{pages: 600, funcs: abiModule(ABIVersion, rawKeep).funcs}.bytes(), ReasonInvalid, "over limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, how := range []string{"Compile", "Load"} {
				var err error
				if how == "Compile" {
					_, err = r.Compile(ctx, "bad.wasm", c.wasm)
				} else {
					_, err = r.Load(ctx, writeFile(t, "bad.wasm", c.wasm))
				}
				wantReason(t, err, c.reason)
				if !strings.Contains(err.Error(), c.detail) || !strings.Contains(err.Error(), "bad.wasm") {
					t.Errorf("%s: error %q does not say %q about bad.wasm", how, err, c.detail)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := r.Load(ctx, filepath.Join(t.TempDir(), "nope.wasm"))
		wantReason(t, err, ReasonInvalid)
	})
	t.Run("directory", func(t *testing.T) {
		_, err := r.Load(ctx, t.TempDir())
		wantReason(t, err, ReasonInvalid)
	})
}

func TestBehaviourRefuses(t *testing.T) {
	r := newRuntime(t, Config{})
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawBadSignature))
	for fn, detail := range map[string]string{
		"nope":           `does not export "nope"`,
		"badsig":         "want (i32) -> i32",
		ExportABIVersion: "reserved",
		ExportBuffer:     "reserved",
	} {
		_, err := m.Behaviour(fn)
		wantReason(t, err, ReasonABI)
		if !strings.Contains(err.Error(), detail) {
			t.Errorf("Behaviour(%q): %q does not say %q", fn, err, detail)
		}
	}
}

// checkRecovers shows the module still merges after a failure: the failed
// instance was either kept (bad results) or replaced by a fresh one.
func checkRecovers(t *testing.T, m *Module) {
	t.Helper()
	mergeSoon(t, behaviourOf(t, m, "keep"))
}

// mergeSoon merges with b and fails unless it succeeds. Tests with a short
// budget retry a timeout a few times: the budget is wall-clock time, and a
// starved test machine can stall an honest call past it (each retry gets a
// fresh instance, which is what this shows).
func mergeSoon(t *testing.T, b *Behaviour) {
	t.Helper()
	var err error
	for range 5 {
		cur := trade(5, 1)
		in := trade(6, 2)
		if err = b.Merge(&cur, &in); err == nil {
			if v, _ := cur.Get(protocol.Last); v != 5 && v != 6 {
				t.Fatalf("merge after the failure: last %v, want 5 or 6", v)
			}
			return
		}
		if ReasonOf(err) != ReasonTimeout {
			break
		}
	}
	t.Fatalf("merge after the failure: %v", err)
}

func TestBadResults(t *testing.T) {
	r := newRuntime(t, Config{})
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawNaN, rawInf, rawWrongLength, rawWideMask, rawStatus))
	for fn, detail := range map[string]string{
		"nan":      "result slot 4 (last) is NaN",
		"inf":      "result slot 4 (last) is +Inf",
		"wronglen": "result has 3 slots",
		"widemask": "result mask 0xffff names slots beyond",
		"status":   "status 7",
	} {
		t.Run(fn, func(t *testing.T) {
			b := behaviourOf(t, m, fn)
			cur := trade(100, 1)
			before := cur
			in := trade(101, 2)
			err := b.Merge(&cur, &in)
			wantReason(t, err, ReasonBadResult)
			if !strings.Contains(err.Error(), detail) || !strings.Contains(err.Error(), "raw.wasm:"+fn) {
				t.Errorf("error %q does not say %q of raw.wasm:%s", err, detail, fn)
			}
			if cur != before {
				t.Errorf("dst changed by a failed merge: %+v, was %+v", cur, before)
			}
			checkRecovers(t, m)
		})
	}
}

func TestTraps(t *testing.T) {
	r := newRuntime(t, Config{})
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawUnreachable, rawDivZero, rawOutOfBounds))
	for fn, detail := range map[string]string{
		"unreachable": "unreachable",
		"divzero":     "integer divide by zero",
		"oob":         "out of bounds memory access",
	} {
		t.Run(fn, func(t *testing.T) {
			b := behaviourOf(t, m, fn)
			cur := trade(100, 1)
			before := cur
			in := trade(101, 2)
			err := b.Merge(&cur, &in)
			wantReason(t, err, ReasonTrap)
			if !strings.Contains(err.Error(), detail) {
				t.Errorf("error %q does not say %q", err, detail)
			}
			if cur != before {
				t.Errorf("dst changed by a failed merge")
			}
			checkRecovers(t, m)
		})
	}
}

// TestTimeout waits for the watchdog: it polls nothing, the Merge returns
// when the instance is closed, bounded by the test's own deadline.
func TestTimeout(t *testing.T) {
	const budget = 40 * time.Millisecond
	r := newRuntime(t, Config{CallBudget: budget})
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawLoop))
	b := behaviourOf(t, m, "loop")
	for range 2 { // a second runaway gets a fresh instance and is stopped too
		cur := trade(100, 1)
		before := cur
		in := trade(101, 2)
		start := time.Now()
		err := b.Merge(&cur, &in)
		took := time.Since(start)
		wantReason(t, err, ReasonTimeout)
		if took < budget {
			t.Errorf("stopped after %v, before the %v budget", took, budget)
		}
		if cur != before {
			t.Errorf("dst changed by a failed merge")
		}
		checkRecovers(t, m)
	}
}

func TestMemoryCap(t *testing.T) {
	// A long budget: growing memory is slow under wazero (milliseconds per
	// MiB here), and this test is about the cap, not the clock.
	r := newRuntime(t, Config{MemoryLimitPages: 64, CallBudget: 10 * time.Second})
	m := compile(t, r, abiModule(ABIVersion, rawKeep, rawGrow))
	b := behaviourOf(t, m, "grow")
	cur := trade(100, 1)
	in := trade(101, 2)
	wantReason(t, b.Merge(&cur, &in), ReasonMemory)
	checkRecovers(t, m)
}

// TestGoHostile runs hostile modules built by the Go toolchain, whose
// runtime turns panics and out-of-memory into proc_exit.
func TestGoHostile(t *testing.T) {
	ctx := context.Background()
	path := goModule(t, "hostile")
	load := func(t *testing.T, cfg Config) *Module {
		m, err := newRuntime(t, cfg).Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close(ctx) })
		return m
	}
	t.Run("spin", func(t *testing.T) {
		m := load(t, Config{CallBudget: 50 * time.Millisecond})
		cur, in := trade(1, 1), trade(2, 1)
		wantReason(t, behaviourOf(t, m, "spin").Merge(&cur, &in), ReasonTimeout)
		mergeSoon(t, behaviourOf(t, m, "ok"))
	})
	// A long budget for the rest: a Go panic prints every goroutine's stack
	// through fd_write before it exits, slow under -race; and growing memory
	// is slow (see TestMemoryCap).
	t.Run("panic", func(t *testing.T) {
		m := load(t, Config{CallBudget: 10 * time.Second})
		for fn, detail := range map[string]string{
			"boom":   "panic: boom",
			"divide": "integer divide by zero",
			"nilptr": "nil pointer dereference",
		} {
			cur, in := trade(1, 1), trade(2, 1)
			err := behaviourOf(t, m, fn).Merge(&cur, &in)
			wantReason(t, err, ReasonTrap)
			if !strings.Contains(err.Error(), detail) {
				t.Errorf("%s: error %q does not carry the module's %q", fn, err, detail)
			}
		}
		mergeSoon(t, behaviourOf(t, m, "ok"))
	})
	t.Run("hog", func(t *testing.T) {
		// A small cap (6 MiB; the Go runtime starts at about 2.3) keeps this
		// quick: growing memory copies it, slow under -race.
		m := load(t, Config{CallBudget: time.Minute, MemoryLimitPages: 96})
		cur, in := trade(1, 1), trade(2, 1)
		err := behaviourOf(t, m, "hog").Merge(&cur, &in)
		wantReason(t, err, ReasonMemory)
		if !strings.Contains(err.Error(), "out of memory") {
			t.Errorf("error %q does not carry the module's out of memory", err)
		}
		mergeSoon(t, behaviourOf(t, m, "ok"))
	})
}
