package behaviour

import (
	"bytes"
	"encoding/binary"
	"math"
)

// This file writes small WebAssembly modules byte by byte (the WAT of each
// body is in its comment), so the hostile cases need no toolchain beyond Go.

// Value types and opcodes used below.
const (
	tI32 = 0x7f
	tI64 = 0x7e

	opUnreachable = 0x00
	opLoop        = 0x03
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opDrop        = 0x1a
	opI32Load     = 0x28
	opF64Load     = 0x2b
	opI32Store    = 0x36
	opF64Store    = 0x39
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opF64Const    = 0x44
	opI32Ne       = 0x47
	opI32DivS     = 0x6d
	opI32Or       = 0x72
	opF64Add      = 0xa0
	opF64Max      = 0xa5
	blockEmpty    = 0x40
)

// rawBuf is where raw modules put their exchange area.
const rawBuf = 1024

type rawFunc struct {
	name            string
	params, results []byte
	body            []byte // instructions, without the final end
}

type rawImport struct {
	module, name    string
	params, results []byte
}

type rawModule struct {
	imports []rawImport
	funcs   []rawFunc
	pages   uint32
	noMem   bool // export no memory
}

// abiModule returns a module speaking ABI version with the given merge functions.
func abiModule(version int32, merges ...rawFunc) rawModule {
	return rawModule{pages: 1, funcs: append([]rawFunc{
		{name: ExportABIVersion, results: []byte{tI32}, body: i32c(version)},
		{name: ExportBuffer, results: []byte{tI32}, body: i32c(rawBuf)},
	}, merges...)}
}

// mergeFunc is a merge function `(i32) -> i32` with body.
func mergeFunc(name string, body ...[]byte) rawFunc {
	return rawFunc{name: name, params: []byte{tI32}, results: []byte{tI32}, body: bytes.Join(body, nil)}
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func i32c(v int32) []byte { return append([]byte{opI32Const}, sleb(int64(v))...) }

func f64c(v float64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{opF64Const}, math.Float64bits(v))
}

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	return append(uleb(uint64(len(items))), bytes.Join(items, nil)...)
}

func section(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

func funcType(params, results []byte) []byte {
	return append(append(append([]byte{0x60}, uleb(uint64(len(params)))...), params...),
		append(uleb(uint64(len(results))), results...)...)
}

// slotAddr is the address of slot i of the current (rec 0) or incoming (rec 1) record.
func slotAddr(rec, i int) int32 { return int32(rawBuf + rec*RecordSize + RecordHeader + 8*i) }

// maskAddr is the address of record rec's set mask.
func maskAddr(rec int) int32 { return int32(rawBuf + rec*RecordSize + 4) }

// bytes encodes the module.
func (m rawModule) bytes() []byte {
	var types, imports, funcs, exports, code [][]byte
	for _, im := range m.imports {
		imports = append(imports, append(append(name(im.module), name(im.name)...), 0x00, byte(len(types))))
		types = append(types, funcType(im.params, im.results))
	}
	for i, f := range m.funcs {
		funcs = append(funcs, uleb(uint64(len(types))))
		types = append(types, funcType(f.params, f.results))
		exports = append(exports, append(name(f.name), 0x00, byte(len(m.imports)+i)))
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, opEnd)
		code = append(code, append(uleb(uint64(len(body))), body...))
	}
	if !m.noMem {
		exports = append(exports, append(name("memory"), 0x02, 0x00))
	}
	out := append([]byte{}, wasmMagic...)
	out = append(out, section(1, vec(types...))...)
	if len(imports) > 0 {
		out = append(out, section(2, vec(imports...))...)
	}
	out = append(out, section(3, vec(funcs...))...)
	if !m.noMem {
		out = append(out, section(5, vec(append([]byte{0x00}, uleb(uint64(m.pages))...)))...)
	}
	out = append(out, section(7, vec(exports...))...)
	out = append(out, section(10, vec(code...))...)
	return out
}

// Merge function bodies. The host has already written both records, so a
// body that leaves record 0 alone returns the current value unchanged.
var (
	// (i32.const 0): keep the current value.
	rawKeep = mergeFunc("keep", i32c(0))
	// volume(cur) += volume(in); set(cur) |= set(in); return 0
	rawSumVolume = mergeFunc("sumvol",
		i32c(slotAddr(0, 6)), i32c(slotAddr(0, 6)), []byte{opF64Load, 3, 0},
		i32c(slotAddr(1, 6)), []byte{opF64Load, 3, 0}, []byte{opF64Add, opF64Store, 3, 0},
		i32c(maskAddr(0)), i32c(maskAddr(0)), []byte{opI32Load, 2, 0},
		i32c(maskAddr(1)), []byte{opI32Load, 2, 0}, []byte{opI32Or, opI32Store, 2, 0},
		i32c(0))
	// as sumvol but volume(cur) = max(volume(cur), volume(in)); named sumvol
	// too, so a reload can swap one for the other
	rawMaxVolume = mergeFunc("sumvol",
		i32c(slotAddr(0, 6)), i32c(slotAddr(0, 6)), []byte{opF64Load, 3, 0},
		i32c(slotAddr(1, 6)), []byte{opF64Load, 3, 0}, []byte{opF64Max, opF64Store, 3, 0},
		i32c(maskAddr(0)), i32c(maskAddr(0)), []byte{opI32Load, 2, 0},
		i32c(maskAddr(1)), []byte{opI32Load, 2, 0}, []byte{opI32Or, opI32Store, 2, 0},
		i32c(0))
	// last(cur) = NaN, present
	rawNaN = mergeFunc("nan",
		i32c(slotAddr(0, 4)), f64c(math.NaN()), []byte{opF64Store, 3, 0},
		i32c(maskAddr(0)), i32c(maskAddr(0)), []byte{opI32Load, 2, 0}, i32c(1<<4), []byte{opI32Or, opI32Store, 2, 0},
		i32c(0))
	// last(cur) = +Inf, present
	rawInf = mergeFunc("inf",
		i32c(slotAddr(0, 4)), f64c(math.Inf(1)), []byte{opF64Store, 3, 0},
		i32c(maskAddr(0)), i32c(maskAddr(0)), []byte{opI32Load, 2, 0}, i32c(1<<4), []byte{opI32Or, opI32Store, 2, 0},
		i32c(0))
	// slot count of the result = 3
	rawWrongLength = mergeFunc("wronglen", i32c(rawBuf), i32c(3), []byte{opI32Store, 2, 0}, i32c(0))
	// mask of the result = 0xffff: slots beyond those in use
	rawWideMask = mergeFunc("widemask", i32c(maskAddr(0)), i32c(0xffff), []byte{opI32Store, 2, 0}, i32c(0))
	// return 7: the module refuses
	rawStatus = mergeFunc("status", i32c(7))
	// unreachable
	rawUnreachable = mergeFunc("unreachable", []byte{opUnreachable})
	// 1 / 0
	rawDivZero = mergeFunc("divzero", i32c(1), i32c(0), []byte{opI32DivS})
	// load from 0xfffffff8: out of bounds
	rawOutOfBounds = mergeFunc("oob", i32c(-8), []byte{opI32Load, 2, 0})
	// loop br 0 end: forever
	rawLoop = mergeFunc("loop", []byte{opLoop, blockEmpty, opBr, 0, opEnd}, i32c(0))
	// loop (memory.grow 16) != -1 br_if 0 end; unreachable: grows until refused
	rawGrow = mergeFunc("grow", []byte{opLoop, blockEmpty}, i32c(16), []byte{opMemoryGrow, 0x00},
		i32c(-1), []byte{opI32Ne, opBrIf, 0, opEnd, opUnreachable})
	// (param i64) (result i32): not a merge function
	rawBadSignature = rawFunc{name: "badsig", params: []byte{tI64}, results: []byte{tI32}, body: i32c(0)}
)
