// Package abi is the guest side of the behaviour ABI v1 (docs/behaviours.md):
// a module imports it for the exchange area and the ABI version export, and
// exports its merge functions with //go:wasmexport, e.g.
//
//	//go:wasmexport vwap
//	func vwap(n uint32) int32 { return Merge(n, myMerge) }
//
// Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package abi

import "unsafe"

// Version is the ABI version this package speaks.
const Version = 1

// MaxSlots is the number of value slots in a Record.
const MaxSlots = 16

// Slots: slot i is the host's protocol.Field i (protocol/quote.go).
const (
	Bid = iota
	Ask
	BidSize
	AskSize
	Last
	LastSize
	Volume
	High
	Low
	Open
	VWAP
	Trades
	Mid
	Spread
	BarStart
)

// SlotNames names each slot as the host's protocol does; the host's tests
// check them against protocol.FieldByName.
var SlotNames = [...]string{"bid", "ask", "bid_size", "ask_size", "last", "last_size", "volume", "high", "low",
	"open", "vwap", "trades", "mid", "spread", "bar_start"}

// Status codes a merge function returns besides 0 (success).
const (
	StatusOK          = 0
	StatusTooFewSlots = 2 // the host passes fewer slots than the behaviour writes
)

// Record is one value as the ABI lays it out in memory: slot count, set
// mask, then the slots (little-endian, as wasm is).
type Record struct {
	N   uint32
	Set uint32
	V   [MaxSlots]float64
}

// Has reports whether slot i is present.
func (r *Record) Has(i int) bool { return r.Set&(1<<i) != 0 }

// Get returns slot i and whether it is present.
func (r *Record) Get(i int) (float64, bool) { return r.V[i], r.Has(i) }

// Put sets slot i.
func (r *Record) Put(i int, v float64) {
	r.V[i] = v
	r.Set |= 1 << i
}

// area is the exchange area: the current value (and result) then the incoming one.
var area [2]Record

//go:wasmexport tickwire_abi_version
func abiVersion() uint32 { return Version }

//go:wasmexport tickwire_buffer
func buffer() uint32 { return uint32(uintptr(unsafe.Pointer(&area[0]))) }

// Merge runs fn on the exchange area for a host passing n slots, and returns
// the status a merge export returns. fn updates cur in place from in; n slots
// are in use (a behaviour writing slot k needs k < n). Merge sets the result's
// slot count.
func Merge(n uint32, need int, fn func(cur, in *Record)) int32 {
	if n > MaxSlots || int(n) < need {
		return StatusTooFewSlots
	}
	fn(&area[0], &area[1])
	area[0].N = n
	return StatusOK
}
