package behaviour

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/behaviours/abi"
	"tickwire/protocol"
)

// cacheDir keeps compiled modules for every Runtime of the test process:
// compiling a Go-built module takes seconds, more under -race.
var cacheDir string

// built maps a Go-built module ("vwap", "hostile") to its .wasm file;
// TestMain fills it unless -short.
var built = map[string]string{}

// goModules are built with the toolchain alone, as `make behaviours` does.
var goModules = map[string]string{
	"vwap":    "../behaviours/vwap",
	"ohlc":    "../behaviours/ohlc",
	"mid":     "../behaviours/mid",
	"hostile": "./testdata/hostile",
	"trade":   "./testdata/trade",
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "behaviour-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = filepath.Join(dir, "cache")
	if !testing.Short() {
		if err := buildModules(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildModules builds every Go module into dir, two at a time.
func buildModules(dir string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 2)
	for name, pkg := range goModules {
		out := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".wasm")
		built[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("build %s: %v\n%s", pkg, err, b))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// goModule returns the path of a Go-built module, skipping under -short.
func goModule(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds WebAssembly modules with the Go toolchain (seconds)")
	}
	return built[name]
}

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	// The budget is wall-clock time, and this shared test machine can
	// stall an honest call for a long time (under -race, more): tests that
	// are not about the budget get a long one; those that are set their own.
	if cfg.CallBudget == 0 {
		cfg.CallBudget = 10 * time.Second
	}
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func compile(t testing.TB, r *Runtime, m rawModule) *Module {
	t.Helper()
	mod, err := r.Compile(context.Background(), "raw.wasm", m.bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(context.Background()) })
	return mod
}

func behaviourOf(t testing.TB, m *Module, fn string) *Behaviour {
	t.Helper()
	b, err := m.Behaviour(fn)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantReason fails unless err is an *Error with reason.
func wantReason(t testing.TB, err error, reason Reason) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *Error with reason %s", err, err, reason)
	}
	if e.Reason != reason {
		t.Fatalf("reason %s (%v), want %s", e.Reason, err, reason)
	}
}

// trade returns a value with last, last_size and volume set.
func trade(price, size float64) protocol.Quote {
	var q protocol.Quote
	q.Put(protocol.Last, price)
	q.Put(protocol.LastSize, size)
	q.Put(protocol.Volume, size)
	return q
}

// mergeSlots runs b over n generic slots with abi.Records, as a module
// built for more fields than this protocol has would see them.
func mergeSlots(b *Behaviour, n int, cur, in *abi.Record) error {
	bd, inst, err := b.borrow()
	if err != nil {
		return err
	}
	defer bd.mod.put(inst)
	return inst.mergeSlots(bd.idx, n, &cur.Set, cur.V[:], in.Set, in.V[:])
}

func TestSumVolume(t *testing.T) {
	r := newRuntime(t, Config{})
	b := behaviourOf(t, compile(t, r, abiModule(ABIVersion, rawSumVolume)), "sumvol")
	if b.Name() != "raw.wasm:sumvol" {
		t.Errorf("Name %q", b.Name())
	}
	var cur protocol.Quote
	for i, size := range []float64{1, 2, 3.5} {
		in := trade(100+float64(i), size)
		if err := b.Merge(&cur, &in); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok := cur.Get(protocol.Volume); !ok || v != 6.5 {
		t.Errorf("volume %v %v, want 6.5", v, ok)
	}
	// The raw module only sums volume and ors the masks: last is present
	// but never written (the host passed the absent slot as 0), which shows
	// the module, not the host, merged.
	if v, ok := cur.Get(protocol.Last); !ok || v != 0 {
		t.Errorf("last %v %v, want 0 present (the module never writes it)", v, ok)
	}
}

func TestSlotNamesMatchProtocol(t *testing.T) {
	for f := protocol.Field(0); f < protocol.NumFields; f++ {
		if int(f) >= len(abi.SlotNames) || abi.SlotNames[f] != f.String() {
			t.Errorf("protocol field %d is %q; behaviours/abi names slot %d differently", f, f, f)
		}
	}
	for i, n := range abi.SlotNames {
		if f, ok := protocol.FieldByName(n); ok && int(f) != i {
			t.Errorf("slot %d %q is protocol field %d", i, n, f)
		}
	}
	if int(protocol.NumFields) > MaxSlots || len(abi.SlotNames) > MaxSlots {
		t.Errorf("more fields than the ABI's %d slots", MaxSlots)
	}
}

func TestNoTimeBudget(t *testing.T) {
	r := newRuntime(t, Config{NoTimeBudget: true})
	b := behaviourOf(t, compile(t, r, abiModule(ABIVersion, rawSumVolume, rawUnreachable)), "sumvol")
	var cur protocol.Quote
	for range 3 {
		in := trade(1, 2)
		if err := b.Merge(&cur, &in); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := cur.Get(protocol.Volume); v != 6 {
		t.Errorf("volume %v, want 6", v)
	}
	// Traps and bad results are still caught; only the clock is off.
	in := trade(1, 2)
	wantReason(t, behaviourOf(t, b.bind.Load().mod, "unreachable").Merge(&cur, &in), ReasonTrap)
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.MemoryLimitPages != 512 || c.CallBudget != 5*time.Millisecond || c.CallWallLimit != time.Second || c.StartBudget != 5*time.Second ||
		c.MaxModuleBytes != 16<<20 || c.MaxInstances != 4 || c.StderrBytes != 512 || c.NoTimeBudget {
		t.Errorf("defaults %+v", c)
	}
}
