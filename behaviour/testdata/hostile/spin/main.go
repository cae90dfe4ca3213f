// Command spin is a hostile behaviour: its merge never returns.
package main

import "tickwire/behaviours/abi"

func main() {}

var sink int

//go:wasmexport spin
func spin(n uint32) int32 {
	for i := 0; ; i++ {
		sink = i
	}
}

// ok merges normally, so a test can show the module works again after a timeout.
//
//go:wasmexport ok
func ok(n uint32) int32 { return abi.Merge(n, 0, func(cur, in *abi.Record) { cur.Set |= in.Set }) }
