package ticks

import (
	"errors"
	"io"
)

// Merge returns a Source yielding the ticks of all srcs in time order (a
// k-way merge on Tick.Time). It is stable: ticks with equal times come out
// by source index, lower first, and each source's own order is kept. Each
// source must itself be in time order.
//
// The first Next reads one tick from every source. An error from a source
// is returned by Next after the ticks already read from it; then it is
// sticky. The returned Source implements io.Closer, closing every source
// that is an io.Closer.
func Merge(srcs ...Source) Source {
	return &merger{srcs: srcs}
}

type merger struct {
	srcs    []Source
	heads   []Tick // heads[i]: the next tick of srcs[i], valid while i is in heap
	heap    []int  // indices into srcs; min-heap by (heads[i].Time, i)
	started bool
	err     error // sticky: io.EOF or the first source error
}

func (m *merger) Next() (Tick, error) {
	if m.err != nil {
		return Tick{}, m.err
	}
	if !m.started {
		m.started = true
		m.heads = make([]Tick, len(m.srcs))
		m.heap = make([]int, 0, len(m.srcs))
		for i, s := range m.srcs {
			t, err := s.Next()
			if err == io.EOF {
				continue
			}
			if err != nil {
				m.err = err
				return Tick{}, err
			}
			m.heads[i] = t
			m.heap = append(m.heap, i)
			m.up(len(m.heap) - 1)
		}
	}
	if len(m.heap) == 0 {
		m.err = io.EOF
		return Tick{}, io.EOF
	}
	i := m.heap[0]
	out := m.heads[i]
	t, err := m.srcs[i].Next()
	switch {
	case err == nil:
		m.heads[i] = t
		m.down(0)
	case err == io.EOF:
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
		m.heads[i] = Tick{}
		if last > 0 {
			m.down(0)
		}
	default:
		m.err = err // reported on the next call; out is good
	}
	return out, nil
}

// Close closes every source that implements io.Closer.
func (m *merger) Close() error {
	var errs []error
	for _, s := range m.srcs {
		if c, ok := s.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

func (m *merger) less(a, b int) bool {
	if c := m.heads[a].Time.Compare(m.heads[b].Time); c != 0 {
		return c < 0
	}
	return a < b
}

func (m *merger) up(j int) {
	h := m.heap
	for j > 0 {
		p := (j - 1) / 2
		if !m.less(h[j], h[p]) {
			return
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
}

func (m *merger) down(j int) {
	h := m.heap
	n := len(h)
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.less(h[r], h[l]) {
			c = r
		}
		if !m.less(h[c], h[j]) {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// FromSlice returns a Source yielding ts in order. It does not copy ts.
func FromSlice(ts []Tick) Source { return &sliceSource{ts: ts} }

type sliceSource struct {
	ts []Tick
	i  int
}

func (s *sliceSource) Next() (Tick, error) {
	if s.i >= len(s.ts) {
		return Tick{}, io.EOF
	}
	s.i++
	return s.ts[s.i-1], nil
}

// ReadAll reads src to io.EOF and returns its ticks. On error it returns
// the ticks read so far and the error.
func ReadAll(src Source) ([]Tick, error) {
	var ts []Tick
	for {
		t, err := src.Next()
		if err == io.EOF {
			return ts, nil
		}
		if err != nil {
			return ts, err
		}
		ts = append(ts, t)
	}
}
