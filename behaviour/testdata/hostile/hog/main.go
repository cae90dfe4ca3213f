// Command hog is a hostile behaviour: its merge allocates without bound.
package main

import _ "tickwire/behaviours/abi"

func main() {}

var keep [][]byte

//go:wasmexport hog
func hog(n uint32) int32 {
	for {
		b := make([]byte, 1<<20)
		b[0] = 1
		keep = append(keep, b)
	}
}
