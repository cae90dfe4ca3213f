package behaviour

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"tickwire/protocol"
)

// instance is one running copy of a module. It is not safe for concurrent
// use: a Module lends it to one caller at a time.
type instance struct {
	m   *Module
	mod api.Module
	mem api.Memory
	buf uint32 // address of the exchange area

	// ctx is the instance's whole-life context: the watchdog cancels it to
	// stop an overrunning call (wazero closes the module when a call's
	// context ends), so a call needs no context, timer or goroutine of ours.
	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Uint64 // watchdog epoch+1 when the running call began; 0 when idle; expiredMark when stopped
	budget  atomic.Uint64 // ticks the running call may see begin (wall-clock limit)
	cpu     atomic.Int64  // the running call's CPU budget in ns; 0: wall time only
	tid     atomic.Int32  // the OS thread running the call, when cpu > 0
	expired atomic.Bool   // the watchdog stopped the running call

	// The watchdog's own view of the running call (only it touches these):
	// the call it first saw (its started stamp) and its thread's CPU clock
	// then.
	seen uint64
	cpu0 time.Duration

	fns    []api.Function // merge functions by Module.funcs index, resolved on first use
	stack  [1]uint64      // CallWithStack's params and results, reused: no allocation per call
	out    head           // the module's stdout and stderr, first bytes only
	broken bool           // the instance failed and must not be reused
}

// startInstance instantiates m, runs its reactor initialiser under a longer
// budget and checks its ABI version and exchange area.
func startInstance(m *Module) (*instance, error) {
	in := &instance{m: m}
	in.out.max = m.r.cfg.StderrBytes
	in.ctx, in.cancel = context.WithCancel(context.Background())
	if err := m.r.track(in); err != nil {
		in.cancel()
		return nil, &Error{Behaviour: m.name, Reason: ReasonClosed, Err: err}
	}
	fail := func(reason Reason, err error) (*instance, error) {
		in.close()
		return nil, &Error{Behaviour: m.name, Reason: reason, Err: err}
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may coexist
		WithStartFunctions().
		WithStdout(&in.out).
		WithStderr(&in.out)
	mod, err := m.r.wr.InstantiateModule(in.ctx, m.cm, cfg)
	if err != nil {
		return fail(ReasonTrap, err)
	}
	in.mod = mod
	in.mem = mod.ExportedMemory(firstMemory(m.cm))
	if f := mod.ExportedFunction(ExportInitialize); f != nil {
		if err := in.call(f, 0, m.r.startTicks, 0); err != nil {
			return fail(in.reason(err), in.detail("initialize", err))
		}
	}
	if err := in.call(mod.ExportedFunction(ExportABIVersion), 0, m.r.startTicks, 0); err != nil {
		return fail(in.reason(err), in.detail(ExportABIVersion, err))
	}
	if v := uint32(in.stack[0]); v != ABIVersion {
		return fail(ReasonABI, fmt.Errorf("module speaks ABI version %d, this host runs %d", v, ABIVersion))
	}
	if err := in.call(mod.ExportedFunction(ExportBuffer), 0, m.r.startTicks, 0); err != nil {
		return fail(in.reason(err), in.detail(ExportBuffer, err))
	}
	in.buf = uint32(in.stack[0])
	if in.buf%8 != 0 || uint64(in.buf)+2*RecordSize > uint64(in.mem.Size()) {
		return fail(ReasonABI, fmt.Errorf("exchange area at %#x is misaligned or outside the %d byte memory", in.buf, in.mem.Size()))
	}
	return in, nil
}

// firstMemory returns the name of the module's (only) exported memory.
func firstMemory(cm wazero.CompiledModule) string {
	for name := range cm.ExportedMemories() {
		return name
	}
	return ""
}

// call runs f with the instance's stack (param in stack[0], result there
// after), stopped by the watchdog when the ticks'th tick since it began
// comes, or when it has used cpu (if > 0) of its thread's CPU time since the
// watchdog first saw it. With a CPU budget the goroutine is locked to its OS
// thread for the call, so the thread's CPU clock is the call's.
func (in *instance) call(f api.Function, param uint64, ticks uint64, cpu time.Duration) error {
	in.stack[0] = param
	in.budget.Store(ticks)
	in.cpu.Store(int64(cpu))
	if cpu > 0 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		in.tid.Store(threadID())
	}
	in.started.Store(in.m.r.epoch.Load() + 1)
	err := f.CallWithStack(in.ctx, in.stack[:])
	if in.started.Swap(0) == expiredMark && err == nil {
		// It returned as the watchdog stopped it: over budget all the same,
		// and its context is cancelled, so the instance is finished.
		err = errOverran
	}
	return err
}

// expiredMark in started says the watchdog has claimed the running call.
const expiredMark = math.MaxUint64

// errOverran is the detail of a call that returned just as it was stopped.
var errOverran = errors.New("returned after its time budget")

// expireIfOver stops the running call if it began at or before tick
// now-budget, or if its thread has used its CPU budget since the watchdog
// first saw it; called by the watchdog, tick now, under Runtime.mu. Claiming
// the call with a CAS means an instance whose call has just returned is
// never cancelled behind its caller's back.
func (in *instance) expireIfOver(now uint64) {
	s := in.started.Load()
	// s > now: the call began after this tick did; its stamp is not yet
	// unique (another call may begin before the next tick with the same
	// one), so it is left for the next tick. From s <= now on, a stamp
	// names one call.
	if s == 0 || s == expiredMark || s > now {
		return
	}
	if now-(s-1) < in.budget.Load() && !in.overCPU(s) {
		return
	}
	if in.started.CompareAndSwap(s, expiredMark) {
		in.expired.Store(true)
		in.cancel()
	}
}

// overCPU reports whether the call stamped s has used its CPU budget since
// the watchdog first saw it (the first sighting records its thread's clock).
func (in *instance) overCPU(s uint64) bool {
	budget := time.Duration(in.cpu.Load())
	if budget <= 0 {
		return false
	}
	used, ok := threadCPU(in.tid.Load())
	if !ok || in.started.Load() != s {
		// The call ended (its thread's clock read may be another's); a
		// clock that cannot be read leaves the wall-clock limit.
		return false
	}
	if in.seen != s {
		in.seen, in.cpu0 = s, used
		return false
	}
	return used-in.cpu0 >= budget
}

// merge folds src into dst through the module's merge function fn. On error
// dst is unchanged; an instance that trapped or timed out is marked broken.
func (in *instance) merge(fn int, dst, src *protocol.Quote) error {
	set := uint32(dst.Set)
	if err := in.mergeSlots(fn, slots, &set, dst.V[:], uint32(src.Set), src.V[:]); err != nil {
		return err
	}
	dst.Set = protocol.Mask(set)
	return nil
}

// mergeSlots is merge over n generic slots (the ABI does not know protocol's
// fields): dstV and srcV hold at least n values. dstSet and dstV change only
// on success.
func (in *instance) mergeSlots(fn, n int, dstSet *uint32, dstV []float64, srcSet uint32, srcV []float64) error {
	f, err := in.fn(fn)
	if err != nil {
		return err
	}
	area, ok := in.mem.Read(in.buf, 2*RecordSize)
	if !ok { // cannot happen: memory only grows and buf was checked at start
		in.broken = true
		return in.fail(fn, ReasonABI, errors.New("exchange area outside memory"))
	}
	putRecord(area[CurrentOffset:IncomingOffset], n, *dstSet, dstV)
	putRecord(area[IncomingOffset:], n, srcSet, srcV)
	if err := in.call(f, uint64(n), in.m.r.mergeTicks, in.m.r.mergeCPU); err != nil {
		in.broken = true
		return in.fail(fn, in.reason(err), in.detail(in.m.funcName(fn), err))
	}
	if status := int32(uint32(in.stack[0])); status != 0 {
		return in.fail(fn, ReasonBadResult, fmt.Errorf("merge returned status %d", status))
	}
	// Read again: the call may have grown (moved) the memory.
	if area, ok = in.mem.Read(in.buf, RecordSize); !ok {
		in.broken = true
		return in.fail(fn, ReasonABI, errors.New("exchange area outside memory"))
	}
	var out [MaxSlots]float64
	set, err := getRecord(area, n, &out)
	if err != nil {
		return in.fail(fn, ReasonBadResult, err)
	}
	*dstSet = set
	copy(dstV[:n], out[:n])
	return nil
}

// fn returns merge function idx, resolving it on first use.
func (in *instance) fn(idx int) (api.Function, error) {
	if idx < len(in.fns) && in.fns[idx] != nil {
		return in.fns[idx], nil
	}
	name := in.m.funcName(idx)
	f := in.mod.ExportedFunction(name)
	if f == nil { // cannot happen: funcIndex checked the compiled module
		return nil, in.fail(idx, ReasonABI, fmt.Errorf("module does not export %q", name))
	}
	for len(in.fns) <= idx {
		in.fns = append(in.fns, nil)
	}
	in.fns[idx] = f
	return f, nil
}

// fail wraps err as the *Error of merge function idx.
func (in *instance) fail(idx int, reason Reason, err error) error {
	return &Error{Behaviour: in.m.name + ":" + in.m.funcName(idx), Reason: reason, Err: err}
}

// reason classifies a failed call: the watchdog's stop, the memory cap
// (the module failed with its memory at the limit, or said so), a closed
// module, or else a trap.
func (in *instance) reason(err error) Reason {
	if in.expired.Load() {
		return ReasonTimeout
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled {
		return ReasonClosed
	}
	limit := uint64(in.m.r.cfg.MemoryLimitPages) * 65536
	// A Go module grows its heap by up to 4 MiB (an arena) at a time, so a
	// refused grow leaves it up to that far below the limit.
	if in.mem != nil && uint64(in.mem.Size())+4<<20 >= limit || in.out.contains("out of memory") {
		return ReasonMemory
	}
	return ReasonTrap
}

// detail explains a failed call of what: the first line of err (wazero
// follows it with a wasm stack trace) and the start of the module's output (a
// Go module's panic message).
func (in *instance) detail(what string, err error) error {
	return &callError{what: what, err: err, out: in.out.String()}
}

// callError is a failed call's detail; it unwraps to wazero's error.
type callError struct {
	what, out string
	err       error
}

func (e *callError) Error() string {
	msg, _, _ := strings.Cut(e.err.Error(), "\n")
	if e.out == "" {
		return e.what + ": " + msg
	}
	return fmt.Sprintf("%s: %s (module output: %q)", e.what, msg, e.out)
}

func (e *callError) Unwrap() error { return e.err }

// close releases the instance and its memory.
func (in *instance) close() {
	in.cancel()
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
	in.m.r.untrack(in)
}

// putRecord writes an ABI record of n slots: slot count, set mask, every
// slot (absent ones and those from n on as 0, so a module sees no stale data).
func putRecord(b []byte, n int, set uint32, v []float64) {
	_ = b[RecordSize-1]
	binary.LittleEndian.PutUint32(b[0:], uint32(n))
	binary.LittleEndian.PutUint32(b[4:], set)
	for i := range MaxSlots {
		var x float64
		if i < n && set&(1<<i) != 0 {
			x = v[i]
		}
		binary.LittleEndian.PutUint64(b[RecordHeader+8*i:], math.Float64bits(x))
	}
}

// getRecord reads a result record of n slots into v and returns its mask,
// refusing what ABI v1 forbids: a slot count other than n, a mask naming
// slots from n on, a present value that is NaN or infinite.
func getRecord(b []byte, n int, v *[MaxSlots]float64) (uint32, error) {
	_ = b[RecordSize-1]
	if got := binary.LittleEndian.Uint32(b[0:]); got != uint32(n) {
		return 0, fmt.Errorf("result has %d slots, want %d", got, n)
	}
	set := binary.LittleEndian.Uint32(b[4:])
	if set>>n != 0 {
		return 0, fmt.Errorf("result mask %#x names slots beyond the %d in use", set, n)
	}
	for i := range n {
		if set&(1<<i) == 0 {
			continue
		}
		x := math.Float64frombits(binary.LittleEndian.Uint64(b[RecordHeader+8*i:]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("result slot %d (%s) is %v", i, slotName(i), x)
		}
		v[i] = x
	}
	return set, nil
}

// slotName names slot i after protocol's field, if it has one.
func slotName(i int) string {
	if i < slots {
		return protocol.Field(i).String()
	}
	return "unused"
}

// head is an io.Writer keeping the first max bytes written: a module's
// output, kept only to explain its failure (a Go runtime prints the panic
// or fatal error first, then every goroutine's stack).
type head struct {
	mu  sync.Mutex // wazero writes from the calling goroutine; a failing call reads
	max int
	buf []byte
}

// Write keeps what fits of p and claims all of it, so the module goes on.
func (h *head) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// String returns the kept output, trimmed.
func (h *head) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.TrimSpace(string(h.buf))
}

// contains reports whether the kept output contains s.
func (h *head) contains(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Contains(string(h.buf), s)
}
