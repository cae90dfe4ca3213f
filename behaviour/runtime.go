package behaviour

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// wasmMagic is the preamble of every WebAssembly 1.0 binary: "\0asm" and version 1.
var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// grantedWASI is every WASI function a module may import: what the Go
// toolchain's wasip1 runtime needs to start. The host answers them
// deterministically from wazero's defaults: no arguments or environment, a
// fake clock that advances 1ms per reading, a seeded (not secret) random
// source, sleeps that return at once, stdout/stderr into a small buffer that
// explains failures, and no files (no preopens) or sockets.
var grantedWASI = map[string]bool{
	"args_get": true, "args_sizes_get": true,
	"environ_get": true, "environ_sizes_get": true,
	"clock_time_get": true, "random_get": true,
	"fd_write": true, "proc_exit": true,
	"sched_yield": true, "poll_oneoff": true,
}

// Runtime compiles and runs behaviour modules under one Config. It owns the
// wazero runtime, the watchdog that stops overrunning calls, and the modules
// registered by Behaviour so Reload can replace them.
type Runtime struct {
	cfg   Config
	wr    wazero.Runtime
	cache wazero.CompilationCache // nil without Config.CacheDir
	epoch atomic.Uint64           // watchdog ticks; an instance's call start is stamped with it

	startTicks uint64        // StartBudget in watchdog ticks
	mergeTicks uint64        // a merge's wall-clock limit in watchdog ticks
	mergeCPU   time.Duration // a merge's CPU budget; 0 without a thread CPU clock (wall time only)

	stop     context.CancelFunc
	watchEnd chan struct{}

	mu        sync.Mutex
	closed    bool
	instances map[*instance]struct{} // live instances, scanned by the watchdog
	paths     map[string]*pathEntry  // registered modules by path, for Reload
}

// pathEntry is a registered module file and the behaviours bound to it.
type pathEntry struct {
	mod        *Module
	behaviours []*Behaviour
}

// NewRuntime returns a Runtime under cfg (zero fields take their defaults)
// and starts its watchdog; Close stops it.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(!cfg.NoTimeBudget)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("behaviour runtime: cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	wr := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wr); err != nil {
		_ = wr.Close(ctx)
		if cache != nil {
			_ = cache.Close(ctx)
		}
		return nil, fmt.Errorf("behaviour runtime: wasi: %w", err)
	}
	wctx, stop := context.WithCancel(context.Background())
	r := &Runtime{
		cfg:       cfg,
		wr:        wr,
		cache:     cache,
		stop:      stop,
		watchEnd:  make(chan struct{}),
		instances: make(map[*instance]struct{}),
		paths:     make(map[string]*pathEntry),
	}
	tick := cfg.CallBudget / 2
	r.startTicks = uint64((cfg.StartBudget+tick-1)/tick) + 1
	if _, ok := threadCPU(threadID()); ok && !cfg.NoTimeBudget {
		// CPU time, with the wall-clock limit as a backstop.
		r.mergeCPU = cfg.CallBudget
		r.mergeTicks = uint64((cfg.CallWallLimit+tick-1)/tick) + 1
	} else {
		// Wall time: stopped when the third tick since the call began
		// comes, after one to one and a half CallBudgets.
		r.mergeTicks = 3
	}
	if cfg.NoTimeBudget {
		close(r.watchEnd)
	} else {
		go r.watch(wctx, tick)
	}
	return r, nil
}

// Config returns the runtime's configuration, defaults filled in.
func (r *Runtime) Config() Config { return r.cfg }

// CPUClock reports whether Config.CallBudget is CPU time (the calling
// thread's CPU clock, on Linux) rather than wall-clock time.
func (r *Runtime) CPUClock() bool { return r.mergeCPU > 0 }

// watch ticks every CallBudget/2 and closes the instance of any call that
// has overrun: its CPU budget, read from its thread's CPU clock, or its
// budget of ticks (wall-clock time). One goroutine serves every instance, so
// a call costs a few atomic operations of ours, not a timer or a context.
func (r *Runtime) watch(ctx context.Context, tick time.Duration) {
	defer close(r.watchEnd)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.epoch.Add(1)
		r.mu.Lock()
		for in := range r.instances {
			in.expireIfOver(now)
		}
		r.mu.Unlock()
	}
}

// track adds a live instance to the watchdog's set.
func (r *Runtime) track(in *instance) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.instances[in] = struct{}{}
	return nil
}

// untrack removes a closed instance from the watchdog's set.
func (r *Runtime) untrack(in *instance) {
	r.mu.Lock()
	delete(r.instances, in)
	r.mu.Unlock()
}

// Load reads a module file (its size checked against MaxModuleBytes before
// reading) and compiles it as Compile does. The module is not registered:
// Reload does not touch it.
func (r *Runtime) Load(ctx context.Context, path string) (*Module, error) {
	wasm, err := r.readModule(path)
	if err != nil {
		return nil, err
	}
	return r.Compile(ctx, filepath.Base(path), wasm)
}

// readModule reads path, refusing a file over MaxModuleBytes before it costs memory.
func (r *Runtime) readModule(path string) ([]byte, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: fmt.Errorf("%s is not a regular file", path)}
	}
	if st.Size() > r.cfg.MaxModuleBytes {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid,
			Err: fmt.Errorf("%s is %d bytes, over the %d byte limit", path, st.Size(), r.cfg.MaxModuleBytes)}
	}
	// Read at most one byte past the limit: the file may grow after Stat.
	wasm, err := io.ReadAll(io.LimitReader(f, r.cfg.MaxModuleBytes+1))
	if err != nil {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: err}
	}
	if int64(len(wasm)) > r.cfg.MaxModuleBytes {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid,
			Err: fmt.Errorf("%s grew over the %d byte limit while read", path, r.cfg.MaxModuleBytes)}
	}
	return wasm, nil
}

// Compile checks that wasm is a WebAssembly module speaking ABI v1 and
// importing nothing beyond the granted WASI subset, compiles it, and starts
// one instance to check its ABI version and exchange area. name labels errors
// and metrics (a file's base name).
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Module, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, &Error{Behaviour: name, Reason: ReasonClosed, Err: ErrClosed}
	}
	if len(wasm) < len(wasmMagic) || !bytes.Equal(wasm[:len(wasmMagic)], wasmMagic) {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: errors.New("not a WebAssembly module (no \\0asm version 1 header)")}
	}
	if int64(len(wasm)) > r.cfg.MaxModuleBytes {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid,
			Err: fmt.Errorf("%d bytes, over the %d byte limit", len(wasm), r.cfg.MaxModuleBytes)}
	}
	cm, err := r.wr.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &Error{Behaviour: name, Reason: ReasonInvalid, Err: err}
	}
	if err := checkShape(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, &Error{Behaviour: name, Reason: ReasonABI, Err: err}
	}
	m := newModule(r, name, cm)
	// Start (and keep) one instance now, so a module that cannot start, or
	// reports another ABI version, is refused at load, not at its first merge.
	in, err := m.get()
	if err != nil {
		m.Close(ctx)
		return nil, err
	}
	m.put(in)
	return m, nil
}

// checkShape refuses a module whose imports go beyond the granted WASI subset
// or that lacks the ABI's exports.
func checkShape(cm wazero.CompiledModule) error {
	for _, f := range cm.ImportedFunctions() {
		mod, fn, _ := f.Import()
		if mod != wasi_snapshot_preview1.ModuleName || !grantedWASI[fn] {
			return fmt.Errorf("imports %s.%s, which is not granted", mod, fn)
		}
	}
	if len(cm.ImportedMemories()) != 0 {
		return errors.New("imports a memory; a behaviour must define its own")
	}
	if len(cm.ExportedMemories()) != 1 {
		return fmt.Errorf("exports %d memories, want exactly one", len(cm.ExportedMemories()))
	}
	fns := cm.ExportedFunctions()
	for _, name := range []string{ExportABIVersion, ExportBuffer} {
		f, ok := fns[name]
		if !ok {
			return fmt.Errorf("does not export %s", name)
		}
		if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 1 || f.ResultTypes()[0] != i32 {
			return fmt.Errorf("export %s is not () -> i32", name)
		}
	}
	f, ok := fns[ExportInitialize]
	if ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return fmt.Errorf("export %s is not () -> ()", ExportInitialize)
	}
	if _, start := fns["_start"]; start && !ok {
		// A command, not a reactor: its runtime starts in _start, which
		// runs main and exits, so its exports cannot be called.
		return errors.New("is a command (exports _start, not _initialize): build it with -buildmode=c-shared")
	}
	return nil
}

// Behaviour returns the behaviour for function fn of the module file at path,
// for a topic rule. The first call for a path loads it; every behaviour of
// the path shares that module, and Reload replaces it for all of them.
func (r *Runtime) Behaviour(ctx context.Context, path, fn string) (*Behaviour, error) {
	key := filepath.Clean(path)
	r.mu.Lock()
	e, ok := r.paths[key]
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, &Error{Behaviour: filepath.Base(path) + ":" + fn, Reason: ReasonClosed, Err: ErrClosed}
	}
	if !ok {
		// Compile outside the lock (it takes a while); a concurrent first load
		// of the same path loses the race below and closes its copy.
		m, err := r.Load(ctx, key)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		if prev, ok := r.paths[key]; ok {
			e = prev
			r.mu.Unlock()
			m.Close(ctx)
		} else {
			e = &pathEntry{mod: m}
			r.paths[key] = e
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := e.mod.Behaviour(fn)
	if err != nil {
		return nil, err
	}
	e.behaviours = append(e.behaviours, b)
	return b, nil
}

// Reload recompiles every registered module file and, only if all compile
// and still export the functions their behaviours name, switches every
// behaviour to its new module at once; the old modules close when their
// in-flight calls return. On error nothing changes.
func (r *Runtime) Reload(ctx context.Context) error {
	r.mu.Lock()
	paths := make([]string, 0, len(r.paths))
	for p := range r.paths {
		paths = append(paths, p)
	}
	r.mu.Unlock()

	fresh := make(map[string]*Module, len(paths))
	discard := func() {
		for _, m := range fresh {
			m.Close(ctx)
		}
	}
	for _, p := range paths {
		m, err := r.Load(ctx, p)
		if err != nil {
			discard()
			return fmt.Errorf("reload: %w", err)
		}
		fresh[p] = m
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		discard()
		return &Error{Behaviour: "reload", Reason: ReasonClosed, Err: ErrClosed}
	}
	// Resolve every behaviour in its new module before switching any.
	binds := make(map[*Behaviour]*binding)
	for p, e := range r.paths {
		m, ok := fresh[p]
		if !ok { // registered while we compiled: leave it for the next reload
			continue
		}
		for _, b := range e.behaviours {
			idx, err := m.funcIndex(b.fn)
			if err != nil {
				r.mu.Unlock()
				discard()
				return fmt.Errorf("reload: %w", err)
			}
			binds[b] = &binding{mod: m, idx: idx}
		}
	}
	var old []*Module
	for p, e := range r.paths {
		if m, ok := fresh[p]; ok {
			old = append(old, e.mod)
			e.mod = m
		}
	}
	for b, bd := range binds {
		b.bind.Store(bd)
	}
	r.mu.Unlock()
	for _, m := range old {
		m.Close(ctx)
	}
	return nil
}

// Close closes every module and instance, stops the watchdog and releases
// the wazero runtime. Calls in flight fail with ReasonClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var mods []*Module
	for _, e := range r.paths {
		mods = append(mods, e.mod)
	}
	r.mu.Unlock()
	for _, m := range mods {
		m.Close(ctx)
	}
	r.stop()
	<-r.watchEnd
	err := r.wr.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}
