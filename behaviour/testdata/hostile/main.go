// Command hostile is a behaviour module whose merges misbehave, one way per
// export: spin never returns, boom/divide/nilptr panic, hog allocates
// without bound; ok merges normally, to show the module works again.
package main

import "tickwire/behaviours/abi"

func main() {}

var (
	sink int
	zero int
	keep [][]byte
)

//go:wasmexport spin
func spin(n uint32) int32 {
	for i := 0; ; i++ {
		sink = i
	}
}

//go:wasmexport ok
func ok(n uint32) int32 { return abi.Merge(n, 0, func(cur, in *abi.Record) { cur.Set |= in.Set }) }

//go:wasmexport boom
func boom(n uint32) int32 { panic("boom") }

//go:wasmexport divide
func divide(n uint32) int32 { return int32(1 / zero) }

//go:wasmexport nilptr
func nilptr(n uint32) int32 {
	var r *abi.Record
	return int32(r.N)
}

//go:wasmexport hog
func hog(n uint32) int32 {
	for {
		b := make([]byte, 1<<20)
		b[0] = 1
		keep = append(keep, b)
	}
}
