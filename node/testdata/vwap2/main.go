// Command vwap2 is "the next release" of the vwap behaviour in the reload
// tests: its vwap is the last price plus one million, unmistakable.
package main

import "tickwire/behaviours/abi"

func main() {}

//go:wasmexport vwap
func vwap(n uint32) int32 {
	return abi.Merge(n, abi.VWAP+1, func(cur, in *abi.Record) {
		if px, ok := in.Get(abi.Last); ok {
			cur.Put(abi.VWAP, px+1e6)
		}
	})
}
