// Command garbage is a behaviour module (ABI v1) whose merges return
// results the host must refuse: nan puts a NaN VWAP, wide sets a slot
// beyond those the host passed, status returns a failure code.
package main

import (
	"math"

	"tickwire/behaviours/abi"
)

func main() {}

//go:wasmexport nan
func nan(n uint32) int32 {
	return abi.Merge(n, 0, func(cur, in *abi.Record) { cur.Put(abi.VWAP, math.NaN()) })
}

//go:wasmexport wide
func wide(n uint32) int32 {
	return abi.Merge(n, 0, func(cur, in *abi.Record) { cur.Put(abi.MaxSlots-1, 1) })
}

//go:wasmexport status
func status(n uint32) int32 { return 7 }
