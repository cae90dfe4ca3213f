// Command vwap is a behaviour (ABI v1) for trade topics: the last trade's
// price and size, traded volume, high and low, the number of trades, and the
// volume-weighted average price, all from trades published one at a time
// with last and last_size (volume, if present, is the trade's size).
package main

import "tickwire/behaviours/abi"

func main() {}

//go:wasmexport vwap
func vwap(n uint32) int32 { return abi.Merge(n, abi.VWAP+1, merge) }

// merge folds one trade (or a conflated run of them) into cur.
func merge(cur, in *abi.Record) {
	price, hasPrice := in.Get(abi.Last)
	size, hasSize := in.Get(abi.Volume)
	if !hasSize {
		size, hasSize = in.Get(abi.LastSize)
	}
	// Fields this behaviour does not compute: the newer value wins.
	for i := range abi.MaxSlots {
		switch i {
		case abi.Volume, abi.High, abi.Low, abi.VWAP, abi.Trades:
		default:
			if in.Has(i) {
				cur.Put(i, in.V[i])
			}
		}
	}
	if !hasPrice || !hasSize || size <= 0 {
		return // not a trade: nothing to accumulate
	}
	vol, _ := cur.Get(abi.Volume)
	avg, ok := cur.Get(abi.VWAP)
	if !ok || vol <= 0 {
		avg, vol = price, 0
	}
	total := vol + size
	cur.Put(abi.VWAP, avg+(price-avg)*(size/total)) // = (avg*vol + price*size)/total, without the large product
	cur.Put(abi.Volume, total)
	hi, ok := cur.Get(abi.High)
	if !ok || price > hi {
		hi = price
	}
	cur.Put(abi.High, hi)
	lo, ok := cur.Get(abi.Low)
	if !ok || price < lo {
		lo = price
	}
	cur.Put(abi.Low, lo)
	if t, ok := in.Get(abi.Trades); ok && t > 0 {
		cur.Put(abi.Trades, cur.V[abi.Trades]+t) // a conflated run counts all its trades
	} else {
		cur.Put(abi.Trades, cur.V[abi.Trades]+1)
	}
}
