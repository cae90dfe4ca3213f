package protocol

import (
	"fmt"
	"math/bits"
	"strings"
)

// Op says how a field of a conflated-merge topic combines successive values.
type Op uint8

// Merge operations.
const (
	OpLast Op = iota // the newer value replaces the older
	OpSum            // values add up (traded volume)
	OpMax            // the larger wins (high)
	OpMin            // the smaller wins (low)
)

var opNames = [...]string{"last", "sum", "max", "min"}

// String returns the op's name.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Ops assigns an Op to every field, two bits per field. The zero value is
// OpLast everywhere: plain replacement. Snapshot frames carry a topic's Ops so
// a client applies Updates the way the server merged them.
type Ops uint32

// Op returns the operation for field f.
func (o Ops) Op(f Field) Op { return Op(o >> (2 * f) & 3) }

// With returns o with field f set to op.
func (o Ops) With(f Field, op Op) Ops {
	return o&^(3<<(2*f)) | Ops(op&3)<<(2*f)
}

// Merge folds src into dst, field by field. A field absent from dst takes
// src's value whatever the op.
func (o Ops) Merge(dst, src *Quote) {
	if o == 0 {
		dst.Apply(src)
		return
	}
	for m := src.Set; m != 0; m &= m - 1 {
		f := Field(bits.TrailingZeros16(uint16(m)))
		v := src.V[f]
		if dst.Set.Has(f) {
			switch o.Op(f) {
			case OpSum:
				v += dst.V[f]
			case OpMax:
				v = max(v, dst.V[f])
			case OpMin:
				v = min(v, dst.V[f])
			}
		}
		dst.V[f] = v
	}
	dst.Set |= src.Set
}

// String lists the non-last fields, e.g. "volume=sum,high=max,low=min".
func (o Ops) String() string {
	var parts []string
	for f := Field(0); f < NumFields; f++ {
		if op := o.Op(f); op != OpLast {
			parts = append(parts, f.String()+"="+op.String())
		}
	}
	if len(parts) == 0 {
		return "last"
	}
	return strings.Join(parts, ",")
}

// Named merge operations for topic configuration.
const (
	// OpsQuote: every field keeps its last value (a quote).
	OpsQuote Ops = 0
	// OpsTrade: last price and size are last, volume sums, high and low
	// track the extremes. Publish each trade with volume = its size and
	// high = low = its price.
	OpsTrade = Ops(0) | Ops(OpSum)<<(2*Volume) | Ops(OpMax)<<(2*High) | Ops(OpMin)<<(2*Low)
)
