package order

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"
)

// SnapshotVersion is the version of the Snapshot format.
const SnapshotVersion = 1

// Snapshot is the complete state of a Book: plain data, deterministic (orders
// in creation order, no maps) and encoding/json-able. Restore(b.Snapshot())
// is a book that behaves exactly as b on every future event.
type Snapshot struct {
	Version  int
	Config   Config
	OrderSeq uint64 // last OrderID sequence number issued
	ExecSeq  uint64 // last ExecID sequence number issued
	Orders   []OrderState
}

// Snapshot returns a deep copy of the book's state.
func (b *Book) Snapshot() Snapshot {
	s := Snapshot{
		Version:  SnapshotVersion,
		Config:   b.cfg,
		OrderSeq: b.orderSeq,
		ExecSeq:  b.execSeq,
		Orders:   make([]OrderState, len(b.orders)),
	}
	for i, o := range b.orders {
		s.Orders[i] = o.clone()
	}
	return s
}

// Restore builds a book from a snapshot, after checking it is consistent
// (ErrBadSnapshot otherwise). The snapshot is copied, not retained.
func Restore(s Snapshot) (*Book, error) {
	if s.Version != SnapshotVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadSnapshot, s.Version, SnapshotVersion)
	}
	b := NewBook(s.Config)
	b.orderSeq = s.OrderSeq
	b.execSeq = s.ExecSeq
	var prev uint64
	for i := range s.Orders {
		c := s.Orders[i].clone()
		o := &c
		if err := checkOrder(o, prev, s.OrderSeq); err != nil {
			return nil, err
		}
		prev = o.Seq
		if _, dup := b.byOrderID[o.OrderID]; dup {
			return nil, fmt.Errorf("%w: duplicate OrderID %q", ErrBadSnapshot, o.OrderID)
		}
		b.byOrderID[o.OrderID] = o
		for _, id := range o.ClOrdIDs {
			k := clKey{o.Session, id}
			if _, dup := b.byClOrdID[k]; dup {
				return nil, fmt.Errorf("%w: ClOrdID %q used twice in session %q", ErrBadSnapshot, id, o.Session)
			}
			b.byClOrdID[k] = o
		}
		b.orders = append(b.orders, o)
	}
	return b, nil
}

// checkOrder verifies the invariants Apply maintains.
func checkOrder(o *OrderState, prevSeq, lastSeq uint64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: order %q: %s", ErrBadSnapshot, o.OrderID, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Seq <= prevSeq || o.Seq > lastSeq:
		return bad("Seq %d out of order", o.Seq)
	case o.OrderID == "" || o.Session == "" || o.ClOrdID == "":
		return bad("missing OrderID, Session or ClOrdID")
	case !slices.Contains(o.ClOrdIDs, o.ClOrdID):
		return bad("ClOrdID %q not in ClOrdIDs", o.ClOrdID)
	case o.OrigClOrdID != "" && !slices.Contains(o.ClOrdIDs, o.OrigClOrdID):
		return bad("OrigClOrdID %q not in ClOrdIDs", o.OrigClOrdID)
	}
	if p := o.Pending; p != nil {
		if p.Kind != ChangeCancel && p.Kind != ChangeReplace {
			return bad("pending change of kind %q", p.Kind)
		}
		if !slices.Contains(o.ClOrdIDs, p.ClOrdID) {
			return bad("pending ClOrdID %q not in ClOrdIDs", p.ClOrdID)
		}
		if text, late := tooLate(o, p.Kind, p.OrderQty); late {
			return bad("pending %s %q left unanswered: %s", p.Kind, p.ClOrdID, text)
		}
	}
	cum, notional := decimal.Zero, decimal.Zero
	for _, x := range o.Executions {
		if len(x.ExecIDs) == 0 {
			return bad("execution without ExecID")
		}
		if !x.Busted {
			cum = cum.Add(x.Qty)
			notional = notional.Add(x.Qty.Mul(x.Px))
		}
	}
	if !cum.Equal(o.CumQty) || !notional.Equal(o.Notional) {
		return bad("CumQty %s / Notional %s disagree with the executions (%s / %s)", o.CumQty, o.Notional, cum, notional)
	}
	if !o.Rejected && o.CumQty.Cmp(o.OrderQty) > 0 {
		return bad("CumQty %s above OrderQty %s", o.CumQty, o.OrderQty)
	}
	return nil
}
