package behaviour

import (
	"context"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

const i32 = api.ValueTypeI32

// Module is one compiled behaviour module and its pool of instances (at most
// Config.MaxInstances, started on demand). It is safe for concurrent use.
type Module struct {
	r    *Runtime
	name string
	cm   wazero.CompiledModule

	mu     sync.Mutex
	free   sync.Cond   // signalled when an instance is returned or the module closes
	idle   []*instance // started, not borrowed
	live   int         // started or starting, borrowed or idle
	funcs  []string    // merge functions by index, as Behaviour resolved them
	closed bool
}

func newModule(r *Runtime, name string, cm wazero.CompiledModule) *Module {
	m := &Module{r: r, name: name, cm: cm}
	m.free.L = &m.mu
	return m
}

// Name returns the module's name (its file's base name).
func (m *Module) Name() string { return m.name }

// Behaviour returns the behaviour for the exported merge function fn,
// `(i32) -> i32` (see ExportABIVersion). It is bound to this module and does
// not follow Runtime.Reload.
func (m *Module) Behaviour(fn string) (*Behaviour, error) {
	idx, err := m.funcIndex(fn)
	if err != nil {
		return nil, err
	}
	b := &Behaviour{name: m.name + ":" + fn, fn: fn}
	b.bind.Store(&binding{mod: m, idx: idx})
	return b, nil
}

// funcIndex checks that fn is a merge function and returns its index.
func (m *Module) funcIndex(fn string) (int, error) {
	f, ok := m.cm.ExportedFunctions()[fn]
	if !ok {
		return 0, &Error{Behaviour: m.name + ":" + fn, Reason: ReasonABI, Err: fmt.Errorf("module does not export %q", fn)}
	}
	switch fn {
	case ExportABIVersion, ExportBuffer, ExportInitialize:
		return 0, &Error{Behaviour: m.name + ":" + fn, Reason: ReasonABI, Err: fmt.Errorf("%q is reserved by the ABI, not a merge function", fn)}
	}
	if p, r := f.ParamTypes(), f.ResultTypes(); len(p) != 1 || p[0] != i32 || len(r) != 1 || r[0] != i32 {
		return 0, &Error{Behaviour: m.name + ":" + fn, Reason: ReasonABI, Err: fmt.Errorf("%q is %v -> %v, want (i32) -> i32", fn, p, r)}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, name := range m.funcs {
		if name == fn {
			return i, nil
		}
	}
	m.funcs = append(m.funcs, fn)
	return len(m.funcs) - 1, nil
}

// get borrows an instance: an idle one, else a new one if the pool has room,
// else it waits for one to be returned. Waiting is bounded: a borrower holds
// an instance for at most about 2 CallBudgets of CPU, or CallWallLimit.
func (m *Module) get() (*instance, error) {
	m.mu.Lock()
	for {
		if m.closed {
			m.mu.Unlock()
			return nil, &Error{Behaviour: m.name, Reason: ReasonClosed, Err: ErrClosed}
		}
		if n := len(m.idle); n > 0 {
			in := m.idle[n-1]
			m.idle = m.idle[:n-1]
			m.mu.Unlock()
			return in, nil
		}
		if m.live < m.r.cfg.MaxInstances {
			break
		}
		m.free.Wait()
	}
	m.live++
	m.mu.Unlock()
	in, err := startInstance(m)
	if err != nil {
		m.mu.Lock()
		m.live--
		m.free.Signal()
		m.mu.Unlock()
		return nil, err
	}
	return in, nil
}

// put returns a borrowed instance: to the idle pool if it is healthy and the
// module open, else it is closed and its place freed for a fresh one.
func (m *Module) put(in *instance) {
	m.mu.Lock()
	if !in.broken && !m.closed {
		m.idle = append(m.idle, in)
		m.free.Signal()
		m.mu.Unlock()
		return
	}
	m.live--
	last := m.closed && m.live == 0
	m.free.Signal()
	m.mu.Unlock()
	in.close()
	if last {
		_ = m.cm.Close(context.Background())
	}
}

// Close closes the idle instances now and each borrowed one when it is
// returned, so calls in flight finish (Reload relies on this). Merges that
// start after Close fail with ReasonClosed.
func (m *Module) Close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	idle := m.idle
	m.idle = nil
	m.live -= len(idle)
	last := m.live == 0
	m.free.Broadcast()
	m.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
	if last {
		_ = m.cm.Close(ctx)
	}
}

// funcName returns the name of merge function idx.
func (m *Module) funcName(idx int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.funcs[idx]
}
