// Command mid is a behaviour (ABI v1) for quote topics: fields take their
// newest value, except that an update which would cross the book (bid at or
// above ask) is dropped, so a bad tick from one source cannot show a crossed
// market; it derives mid = (bid+ask)/2 and spread = ask-bid.
package main

import "tickwire/behaviours/abi"

func main() {}

//go:wasmexport mid
func mid(n uint32) int32 { return abi.Merge(n, abi.Spread+1, merge) }

// merge applies a quote update to cur unless it crosses the book.
func merge(cur, in *abi.Record) {
	next := *cur
	for i := range abi.MaxSlots {
		if in.Has(i) && i != abi.Mid && i != abi.Spread {
			next.Put(i, in.V[i])
		}
	}
	bid, hasBid := next.Get(abi.Bid)
	ask, hasAsk := next.Get(abi.Ask)
	if hasBid && hasAsk && bid >= ask {
		// Crossed: keep the current book, take the rest of the update.
		for _, i := range [...]int{abi.Bid, abi.Ask, abi.BidSize, abi.AskSize} {
			next.V[i] = cur.V[i]
			next.Set = next.Set&^(1<<i) | cur.Set&(1<<i)
		}
		bid, hasBid = next.Get(abi.Bid)
		ask, hasAsk = next.Get(abi.Ask)
	}
	if hasBid && hasAsk {
		next.Put(abi.Mid, (bid+ask)/2)
		next.Put(abi.Spread, ask-bid)
	}
	*cur = next
}
