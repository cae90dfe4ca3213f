// Package behaviour runs topic behaviours: merge operations written as
// WebAssembly modules (ABI v1, docs/behaviours.md) and run by wazero, each
// instance isolated so a bad module cannot hurt the server.
//
// A behaviour is a pure function of two values of a topic: merge(current,
// incoming) -> new current. It sees the values as a record of float64 slots
// (slot i is protocol.Field i) and a set mask, may combine them field by field
// or as a whole, and may derive fields (a mid, a VWAP) in slots the incoming
// value did not carry. It keeps no state between calls: instances are pooled,
// replaced after a failure and swapped on reload, so anything a behaviour
// needs to remember must live in the value itself.
//
// Isolation: every instance has a memory cap (Config.MemoryLimitPages), every
// call a budget of CPU time (Config.CallBudget, the calling thread's CPU
// clock on Linux) and of wall time (Config.CallWallLimit) enforced by one
// watchdog goroutine per Runtime that closes an overrunning instance, and a module may import
// nothing but a fixed, deterministic subset of WASI (no files, network, clock
// or randomness from the host). A failed call returns an *Error whose Reason
// says why (trap, timeout, memory, bad_result, abi) and leaves dst untouched,
// so the caller can disable the behaviour for its topic and carry on.
//
// Concurrency: Runtime, Module and Behaviour are safe for concurrent use. A
// Module keeps a pool of instances (at most Config.MaxInstances); a Merge
// borrows one for the call. An instance itself is never shared.
package behaviour

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"tickwire/protocol"
)

// ABI v1: names, sizes and offsets a module and the host agree on. The layout
// is documented in docs/behaviours.md; a change here is a new ABI version.
const (
	// ABIVersion is the only ABI version this host runs.
	ABIVersion = 1

	// ExportABIVersion is the module's export `() -> i32` returning its ABI version.
	ExportABIVersion = "tickwire_abi_version"
	// ExportBuffer is the module's export `() -> i32` returning the address of
	// its exchange area: 2*RecordSize bytes, 8-byte aligned, fixed for the
	// instance's life.
	ExportBuffer = "tickwire_buffer"
	// ExportInitialize is the reactor initialiser (`() -> ()`) a module built
	// with -buildmode=c-shared exports; the host calls it once, first.
	ExportInitialize = "_initialize"

	// MaxSlots is the number of value slots in a record; slot i is
	// protocol.Field i. The host uses the first protocol.NumFields of them and
	// passes that count to the merge function, so the ABI does not change when
	// protocol grows fields (up to 16: a Mask is 16 bits).
	MaxSlots = 16
	// RecordHeader is the size of a record's header: u32 slot count, u32 set mask.
	RecordHeader = 8
	// RecordSize is the size of one record: the header then MaxSlots float64.
	RecordSize = RecordHeader + 8*MaxSlots
	// CurrentOffset is the offset, in the exchange area, of the current value
	// (in) and of the merged result (out).
	CurrentOffset = 0
	// IncomingOffset is the offset, in the exchange area, of the incoming value.
	IncomingOffset = RecordSize
)

// Merge functions: any exported function `(n i32) -> i32` other than the
// names above. n is the number of slots in use; the return value is 0 on
// success or a module-defined nonzero code, reported as ReasonBadResult.

// Reason classifies a failure, for logs and the
// tickwire_behaviour_failures_total{behaviour,reason} label.
type Reason uint8

// Failure reasons.
const (
	ReasonTrap      Reason = iota + 1 // the module trapped (unreachable, divide by zero, out of bounds, panic, exit)
	ReasonTimeout                     // the call overran Config.CallBudget (or CallWallLimit) and the instance was closed
	ReasonMemory                      // the module hit Config.MemoryLimitPages
	ReasonBadResult                   // the result broke the ABI: NaN or Inf, wrong slot count, mask beyond the slots, nonzero status
	ReasonABI                         // the module does not speak ABI v1: version, missing or mistyped exports, imports not granted
	ReasonInvalid                     // the file is not WebAssembly, is too large, or does not compile
	ReasonClosed                      // the module or runtime was closed (e.g. replaced by a reload)
)

var reasonNames = [...]string{"", "trap", "timeout", "memory", "bad_result", "abi", "invalid", "closed"}

// String returns the reason's label value.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && r != 0 {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Error is the error every failing load or call returns.
type Error struct {
	Behaviour string // module name and function, e.g. "vwap.wasm:vwap" (function empty for a load)
	Reason    Reason
	Err       error // detail: the wazero error, the offending value, the module's stderr tail
}

// Error describes the failure.
func (e *Error) Error() string {
	return fmt.Sprintf("behaviour %s: %s: %v", e.Behaviour, e.Reason, e.Err)
}

// Unwrap returns the detail.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of err if it is (or wraps) an *Error, else 0.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

// Config bounds every module a Runtime runs. The zero value is usable: each
// field's comment gives its default.
type Config struct {
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages.
	// Default 512 (32 MiB): a Go c-shared module starts at about 2 MiB.
	MemoryLimitPages uint32
	// CallBudget is the CPU time one merge may use before the watchdog
	// closes its instance: on Linux, the CPU clock of the OS thread running
	// the call (the call is locked to its thread), so a call on a starved
	// thread, waiting for a CPU while it does no work, is not stopped for
	// the time it waits. The watchdog ticks at CallBudget/2 and reads the
	// clock of each running call, so an overrun is stopped after 1 to about
	// 2 budgets of CPU. Without a thread CPU clock (not Linux, or the clock
	// cannot be read: Runtime.CPUClock) it is wall-clock time, stopped
	// after 1 to 1.5 budgets. Default 5ms.
	CallBudget time.Duration
	// CallWallLimit is the wall-clock time a merge may take, whatever CPU
	// it used: a backstop to CallBudget on the CPU clock. Default 1s; at
	// least CallBudget.
	CallWallLimit time.Duration
	// StartBudget is the time starting an instance (the module's
	// _initialize, the ABI checks) may take: a Go runtime's start-up takes
	// tens of milliseconds, more on a loaded host. Default 5s.
	StartBudget time.Duration
	// NoTimeBudget runs calls without a time budget: a merge costs tens of
	// nanoseconds and allocates nothing instead of microseconds (wazero's
	// WithCloseOnContextDone starts a goroutine per call, docs/behaviours.md),
	// but a module that never returns hangs its caller for ever. Only for
	// modules you trust as you trust the server's code. Default false.
	NoTimeBudget bool
	// MaxModuleBytes bounds a module file, checked before it is read.
	// Default 16 MiB.
	MaxModuleBytes int64
	// MaxInstances bounds the instances of one module (each holds its own
	// memory). A Merge waits for one when all are busy. Default 4.
	MaxInstances int
	// StderrBytes is how much of a module's stdout/stderr is kept (per
	// instance, the first bytes: a Go panic's message comes first) to
	// explain a failure. Default 512.
	StderrBytes int
	// CacheDir, if set, keeps compiled modules on disk across runtimes and
	// restarts: compiling a 2 MB Go-built module takes seconds, loading it
	// from the cache milliseconds. Default: compile in memory only.
	CacheDir string
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = 512
	}
	if c.CallBudget <= 0 {
		c.CallBudget = 5 * time.Millisecond
	}
	if c.CallWallLimit <= 0 {
		c.CallWallLimit = time.Second
	}
	c.CallWallLimit = max(c.CallWallLimit, c.CallBudget)
	if c.StartBudget <= 0 {
		c.StartBudget = 5 * time.Second
	}
	if c.MaxModuleBytes <= 0 {
		c.MaxModuleBytes = 16 << 20
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = 4
	}
	if c.StderrBytes <= 0 {
		c.StderrBytes = 512
	}
	return c
}

// Sentinel errors.
var (
	// ErrClosed is the detail of a ReasonClosed error.
	ErrClosed = errors.New("closed")
)

// slots is the number of record slots the host uses: every protocol field.
const slots = int(protocol.NumFields)

// The ABI has room for every protocol field; a protocol that outgrows it
// fails to compile here rather than truncating values.
const _ = uint(MaxSlots - slots)

// Behaviour is one merge function of a module, as a topic rule names it. It
// is safe for concurrent use: each Merge borrows an instance of its module.
type Behaviour struct {
	name string // "module:function", for logs and metrics
	fn   string
	bind atomic.Pointer[binding] // the module and function index; Reload swaps it
}

// binding is the module a Behaviour runs and the index of its function there.
type binding struct {
	mod *Module
	idx int
}

// Name returns "module:function", e.g. "vwap.wasm:vwap".
func (b *Behaviour) Name() string { return b.name }

// Merge folds src into dst under the behaviour: dst = merge(dst, src). On
// error dst is unchanged and the error is an *Error whose Reason says why;
// the instance that failed is replaced, so the behaviour may be retried, but
// a caller normally disables it for the topic.
func (b *Behaviour) Merge(dst, src *protocol.Quote) error {
	bd, in, err := b.borrow()
	if err != nil {
		return err
	}
	err = in.merge(bd.idx, dst, src)
	bd.mod.put(in)
	return err
}

// borrow returns the current binding and an instance of its module. A
// Reload may close the module between loading the binding and borrowing, or
// while the caller waits for one of its instances; then the binding has
// moved on and the next one is tried. Every retry needs a completed Reload
// (a compile), so the bound is never reached in practice.
func (b *Behaviour) borrow() (*binding, *instance, error) {
	var err error
	for range 64 {
		bd := b.bind.Load()
		var in *instance
		if in, err = bd.mod.get(); err == nil {
			return bd, in, nil
		}
		if e, ok := err.(*Error); ok {
			e.Behaviour = b.name
		}
		if ReasonOf(err) != ReasonClosed || b.bind.Load() == bd {
			return nil, nil, err
		}
	}
	return nil, nil, err
}
