package behaviour

import (
	"context"
	"testing"

	"tickwire/behaviours/abi"
	"tickwire/protocol"
)

// The shipped examples, run over the ABI's generic slots with the guest's
// slot numbering (all 15 fields), whatever this protocol revision has.

const exampleSlots = abi.BarStart + 1

func loadExample(t *testing.T, r *Runtime, name string) *Behaviour {
	t.Helper()
	m, err := r.Load(context.Background(), goModule(t, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return behaviourOf(t, m, name)
}

// rec returns a record with the given slots set.
func rec(kv ...float64) abi.Record {
	var r abi.Record
	for i := 0; i+1 < len(kv); i += 2 {
		r.Put(int(kv[i]), kv[i+1])
	}
	return r
}

func fold(t *testing.T, b *Behaviour, ins ...abi.Record) abi.Record {
	t.Helper()
	var cur abi.Record
	for _, in := range ins {
		if err := mergeSlots(b, exampleSlots, &cur, &in); err != nil {
			t.Fatal(err)
		}
	}
	return cur
}

func wantSlots(t *testing.T, got abi.Record, kv ...float64) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		s := int(kv[i])
		if v, ok := got.Get(s); !ok || v != kv[i+1] {
			t.Errorf("%s = %v (present %v), want %v", abi.SlotNames[s], v, ok, kv[i+1])
		}
	}
}

func TestExampleVWAP(t *testing.T) {
	b := loadExample(t, newRuntime(t, Config{}), "vwap")
	tr := func(p, s float64) abi.Record { return rec(abi.Last, p, abi.LastSize, s) }
	got := fold(t, b, tr(100, 1), tr(102, 3), rec(abi.Bid, 99))
	wantSlots(t, got, abi.Last, 102, abi.LastSize, 3, abi.Volume, 4, abi.High, 102, abi.Low, 100,
		abi.Trades, 2, abi.VWAP, (100*1+102*3)/4.0, abi.Bid, 99)

	// A host with fewer slots than vwap writes: refused, not truncated.
	var cur, in abi.Record = abi.Record{}, tr(100, 1)
	wantReason(t, mergeSlots(b, 9, &cur, &in), ReasonBadResult)

	// Through protocol.Quote: derived iff this protocol has the vwap field.
	q, qin := protocol.Quote{}, trade(100, 2)
	err := b.Merge(&q, &qin)
	if protocol.NumFields > abi.VWAP {
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := q.Get(protocol.Field(abi.VWAP)); !ok || v != 100 {
			t.Errorf("quote vwap %v %v, want 100", v, ok)
		}
	} else {
		wantReason(t, err, ReasonBadResult)
	}
}

func TestExampleOHLC(t *testing.T) {
	b := loadExample(t, newRuntime(t, Config{}), "ohlc")
	tr := func(bar, p, s float64) abi.Record {
		return rec(abi.BarStart, bar, abi.Last, p, abi.LastSize, s)
	}
	got := fold(t, b, tr(60, 100, 1), tr(60, 105, 2), tr(60, 95, 1), tr(60, 101, 4))
	wantSlots(t, got, abi.Open, 100, abi.High, 105, abi.Low, 95, abi.Last, 101,
		abi.Volume, 8, abi.Trades, 4, abi.BarStart, 60)

	got = fold(t, b, tr(60, 100, 1), tr(60, 105, 2), tr(120, 50, 7))
	wantSlots(t, got, abi.Open, 50, abi.High, 50, abi.Low, 50, abi.Last, 50,
		abi.Volume, 7, abi.Trades, 1, abi.BarStart, 120)
}

func TestExampleMid(t *testing.T) {
	b := loadExample(t, newRuntime(t, Config{}), "mid")
	got := fold(t, b, rec(abi.Bid, 99, abi.Ask, 101, abi.BidSize, 5, abi.AskSize, 6))
	wantSlots(t, got, abi.Mid, 100, abi.Spread, 2, abi.Bid, 99, abi.BidSize, 5)

	// A bid through the ask is dropped; the rest of the update is taken.
	got = fold(t, b, rec(abi.Bid, 99, abi.Ask, 101), rec(abi.Bid, 102, abi.BidSize, 9, abi.Last, 100.5))
	wantSlots(t, got, abi.Bid, 99, abi.Ask, 101, abi.Mid, 100, abi.Last, 100.5)
	if got.Has(abi.BidSize) {
		t.Errorf("bid size %v from a dropped crossed update", got.V[abi.BidSize])
	}

	// Both sides moving up together is not crossed.
	got = fold(t, b, rec(abi.Bid, 99, abi.Ask, 101), rec(abi.Bid, 102, abi.Ask, 103))
	wantSlots(t, got, abi.Bid, 102, abi.Ask, 103, abi.Mid, 102.5, abi.Spread, 1)
}
