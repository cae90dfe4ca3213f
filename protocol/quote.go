package protocol

import "math/bits"

// Field indexes a value in a Quote.
type Field uint8

// Quote fields, in wire order.
const (
	Bid Field = iota
	Ask
	BidSize
	AskSize
	Last     // last trade price
	LastSize // last trade size
	Volume   // traded volume
	High     // highest trade price
	Low      // lowest trade price
	// The fields after Low came with behaviours (docs/behaviours.md): values
	// a topic's behaviour derives. They travel in a trailing element that
	// a decoder of an earlier revision skips (docs/protocol.md).
	Open     // first trade price (OHLC)
	VWAP     // volume-weighted average price
	Trades   // number of trades
	Mid      // (bid+ask)/2
	Spread   // ask-bid
	BarStart // start of the current bar, Unix seconds
	NumFields
)

var fieldNames = [NumFields]string{"bid", "ask", "bid_size", "ask_size", "last", "last_size", "volume", "high", "low",
	"open", "vwap", "trades", "mid", "spread", "bar_start"}

// FieldByName returns the field called name (as in JSON and docs).
func FieldByName(name string) (Field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// String returns the field's name as used in JSON and docs.
func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "field?"
}

// Mask is a set of fields, bit i for Field i.
type Mask uint16

// AllFields is the mask of every defined field.
const AllFields Mask = 1<<NumFields - 1

// BaseFields are the fields of the first revision, bid to low: a Price's
// mask element holds only these, so every decoder of version 1 reads it.
// The others travel in the trailing ext element (docs/protocol.md).
const BaseFields Mask = 1<<(Low+1) - 1

// Has reports whether f is in the mask.
func (m Mask) Has(f Field) bool { return m&(1<<f) != 0 }

// Count returns the number of fields in the mask.
func (m Mask) Count() int { return bits.OnesCount16(uint16(m)) }

// Quote is a price value: a fixed array of fields and the set of those present.
// It is a value type with no pointers, so copying it allocates nothing.
type Quote struct {
	Set Mask
	V   [NumFields]float64
}

// Get returns field f and whether it is present.
func (q *Quote) Get(f Field) (float64, bool) { return q.V[f], q.Set.Has(f) }

// Put sets field f to v.
func (q *Quote) Put(f Field, v float64) {
	q.V[f] = v
	q.Set |= 1 << f
}

// Apply copies the fields present in d into q: it rebuilds a full value from a delta.
func (q *Quote) Apply(d *Quote) {
	for m := d.Set; m != 0; m &= m - 1 {
		f := bits.TrailingZeros16(uint16(m))
		q.V[f] = d.V[f]
	}
	q.Set |= d.Set
}

// Changed returns the fields of q that differ from prev or are absent in prev.
func (q *Quote) Changed(prev *Quote) Mask {
	var m Mask
	for f := Field(0); f < NumFields; f++ {
		if q.Set.Has(f) && (!prev.Set.Has(f) || q.V[f] != prev.V[f]) {
			m |= 1 << f
		}
	}
	return m
}

// Only returns a copy of q restricted to the fields in m.
func (q *Quote) Only(m Mask) Quote {
	out := Quote{Set: q.Set & m}
	for f := Field(0); f < NumFields; f++ {
		if out.Set.Has(f) {
			out.V[f] = q.V[f]
		}
	}
	return out
}
