// Command ohlc is a behaviour (ABI v1) keeping an open-high-low-close bar
// of a trade topic: open is the bar's first trade price, high and low its
// extremes, last its close, volume the sum of its trade sizes and trades
// their count. A publisher starts a new bar by publishing bar_start: a
// bar_start different from the current one resets the bar to this trade.
package main

import "tickwire/behaviours/abi"

func main() {}

//go:wasmexport ohlc
func ohlc(n uint32) int32 { return abi.Merge(n, abi.BarStart+1, merge) }

// merge folds a trade into the current bar.
func merge(cur, in *abi.Record) {
	if start, ok := in.Get(abi.BarStart); ok {
		if prev, had := cur.Get(abi.BarStart); had && prev != start {
			*cur = abi.Record{} // a new bar
		}
		cur.Put(abi.BarStart, start)
	}
	price, hasPrice := in.Get(abi.Last)
	size, hasSize := in.Get(abi.Volume)
	if !hasSize {
		size, hasSize = in.Get(abi.LastSize)
	}
	for i := range abi.MaxSlots {
		switch i {
		case abi.Open, abi.Volume, abi.High, abi.Low, abi.Trades, abi.BarStart:
		default:
			if in.Has(i) {
				cur.Put(i, in.V[i])
			}
		}
	}
	if !hasPrice {
		return
	}
	if !cur.Has(abi.Open) {
		cur.Put(abi.Open, price)
	}
	if hi, ok := cur.Get(abi.High); !ok || price > hi {
		cur.Put(abi.High, price)
	}
	if lo, ok := cur.Get(abi.Low); !ok || price < lo {
		cur.Put(abi.Low, price)
	}
	if hasSize && size > 0 {
		cur.Put(abi.Volume, cur.V[abi.Volume]+size)
	}
	cur.Put(abi.Trades, cur.V[abi.Trades]+1)
}
