// Command trade merges like protocol.OpsTrade (volume sums, high max, low
// min, the rest last): the WebAssembly side of the native-vs-WASM benchmark.
package main

import "tickwire/behaviours/abi"

func main() {}

//go:wasmexport trade
func trade(n uint32) int32 { return abi.Merge(n, abi.Low+1, merge) }

func merge(cur, in *abi.Record) {
	for i := range abi.MaxSlots {
		if !in.Has(i) {
			continue
		}
		v := in.V[i]
		if cur.Has(i) {
			switch i {
			case abi.Volume:
				v += cur.V[i]
			case abi.High:
				v = max(v, cur.V[i])
			case abi.Low:
				v = min(v, cur.V[i])
			}
		}
		cur.Put(i, v)
	}
}
