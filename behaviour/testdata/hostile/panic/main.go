// Command panic is a hostile behaviour: its merges trap.
package main

import "tickwire/behaviours/abi"

func main() {}

var zero int

//go:wasmexport boom
func boom(n uint32) int32 { panic("boom") }

//go:wasmexport divide
func divide(n uint32) int32 { return int32(1 / zero) }

//go:wasmexport nilptr
func nilptr(n uint32) int32 {
	var r *abi.Record
	return int32(r.N)
}
