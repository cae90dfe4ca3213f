// Command abi2 is a module speaking another ABI version than the host's:
// it exports the ABI's names, but says version 2.
package main

import "unsafe"

func main() {}

var area [2][136]byte

//go:wasmexport tickwire_abi_version
func abiVersion() uint32 { return 2 }

//go:wasmexport tickwire_buffer
func buffer() uint32 { return uint32(uintptr(unsafe.Pointer(&area[0]))) }

//go:wasmexport vwap
func vwap(n uint32) int32 { return 0 }
