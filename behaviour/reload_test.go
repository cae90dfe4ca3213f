package behaviour

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"tickwire/protocol"
)

// volumeAfter merges volumes 3 then 5 and returns the result: 8 under
// sumvol, 5 under maxvol.
func volumeAfter(t *testing.T, b *Behaviour) float64 {
	t.Helper()
	var cur protocol.Quote
	for _, v := range []float64{3, 5} {
		in := trade(1, v)
		if err := b.Merge(&cur, &in); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := cur.Get(protocol.Volume)
	return v
}

func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, Config{})
	path := writeFile(t, "vol.wasm", abiModule(ABIVersion, rawSumVolume).bytes())
	b, err := r.Behaviour(ctx, path, "sumvol")
	if err != nil {
		t.Fatal(err)
	}
	b2, err := r.Behaviour(ctx, path, "sumvol")
	if err != nil {
		t.Fatal(err)
	}
	if b.bind.Load().mod != b2.bind.Load().mod {
		t.Error("two behaviours of one file loaded it twice")
	}
	if b.Name() != "vol.wasm:sumvol" {
		t.Errorf("Name %q", b.Name())
	}
	if v := volumeAfter(t, b); v != 8 {
		t.Fatalf("before reload: volume %v, want 8 (sum)", v)
	}

	replaceFile(t, path, abiModule(ABIVersion, rawMaxVolume).bytes())
	if v := volumeAfter(t, b); v != 8 {
		t.Fatalf("file replaced, not reloaded: volume %v, want 8 (sum)", v)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, bh := range []*Behaviour{b, b2} {
		if v := volumeAfter(t, bh); v != 5 {
			t.Fatalf("after reload: volume %v, want 5 (max)", v)
		}
	}

	// A bad file, or one without the function, fails the reload whole.
	for name, tc := range map[string]struct {
		wasm   []byte
		reason Reason
	}{
		"garbage":      {[]byte("not wasm"), ReasonInvalid},
		"no function":  {abiModule(ABIVersion, rawKeep).bytes(), ReasonABI},
		"abi version":  {abiModule(3, rawSumVolume).bytes(), ReasonABI},
		"trap at init": {rawModule{pages: 1, funcs: []rawFunc{{name: ExportABIVersion, results: []byte{tI32}, body: []byte{opUnreachable}}, {name: ExportBuffer, results: []byte{tI32}, body: i32c(rawBuf)}}}.bytes(), ReasonTrap},
	} {
		replaceFile(t, path, tc.wasm)
		err := r.Reload(ctx)
		wantReason(t, err, tc.reason)
		if v := volumeAfter(t, b); v != 5 {
			t.Fatalf("after the failed reload (%s): volume %v, want 5 (max, unchanged)", name, v)
		}
	}
}

// TestReloadUnderLoad reloads while merges run: none fails, each sees the
// old or the new module, and the old modules close. One instance for four
// goroutines, so most merges wait for it when a reload closes its module.
func TestReloadUnderLoad(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, Config{MaxInstances: 1})
	path := writeFile(t, "vol.wasm", abiModule(ABIVersion, rawSumVolume).bytes())
	b, err := r.Behaviour(ctx, path, "sumvol")
	if err != nil {
		t.Fatal(err)
	}
	first := b.bind.Load().mod

	var stop atomic.Bool
	var wg sync.WaitGroup
	var merges atomic.Int64
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000 && !stop.Load(); i++ {
				var cur protocol.Quote
				in := trade(1, 2)
				if err := b.Merge(&cur, &in); err != nil {
					errs <- err
					return
				}
				merges.Add(1)
			}
		}()
	}
	mods := []rawFunc{rawMaxVolume, rawSumVolume}
	for i := range 12 {
		replaceFile(t, path, abiModule(ABIVersion, mods[i%2]).bytes())
		if err := r.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("merge during reloads: %v", err)
	}
	if merges.Load() == 0 {
		t.Error("no merge ran")
	}
	if v := volumeAfter(t, b); v != 8 {
		t.Errorf("after the last reload (sum): volume %v, want 8", v)
	}
	first.mu.Lock()
	closed, live := first.closed, first.live
	first.mu.Unlock()
	if !closed || live != 0 {
		t.Errorf("the first module: closed %v with %d live instances, want closed with 0", closed, live)
	}
}

func TestConcurrentMerges(t *testing.T) {
	r := newRuntime(t, Config{MaxInstances: 2})
	b := behaviourOf(t, compile(t, r, abiModule(ABIVersion, rawSumVolume)), "sumvol")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cur protocol.Quote
			for range 200 {
				in := trade(1, float64(g))
				if err := b.Merge(&cur, &in); err != nil {
					t.Error(err)
					return
				}
			}
			if v, _ := cur.Get(protocol.Volume); v != float64(200*g) {
				t.Errorf("goroutine %d: volume %v, want %v", g, v, 200*g)
			}
		}()
	}
	wg.Wait()
	m := b.bind.Load().mod
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live > 2 {
		t.Errorf("%d instances, over MaxInstances 2", m.live)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	r, err := NewRuntime(ctx, Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "vol.wasm", abiModule(ABIVersion, rawSumVolume).bytes())
	b, err := r.Behaviour(ctx, path, "sumvol")
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile(ctx, "other.wasm", abiModule(ABIVersion, rawSumVolume).bytes())
	if err != nil {
		t.Fatal(err)
	}
	mb := behaviourOf(t, m, "sumvol")
	m.Close(ctx)
	var cur protocol.Quote
	in := trade(1, 1)
	wantReason(t, mb.Merge(&cur, &in), ReasonClosed)

	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantReason(t, b.Merge(&cur, &in), ReasonClosed)
	_, err = r.Behaviour(ctx, path, "sumvol")
	wantReason(t, err, ReasonClosed)
	wantReason(t, r.Reload(ctx), ReasonClosed)
	if err := r.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
