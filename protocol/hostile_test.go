package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// allocated returns the bytes allocated by one call of decode, the least of a
// few tries (each on a fresh Decoder, made outside the measurement), so that
// another goroutine's allocation cannot be counted against it.
func allocated(decode func(*Decoder)) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	best := ^uint64(0)
	for range 3 {
		dec := NewDecoder()
		best = min(best, allocs(func() { decode(dec) }))
	}
	return best
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeclaredLengthsChecked: a str, bin or array header declaring more than
// its limit or than the message holds is refused before anything is allocated
// for it. The first case is issue 17's: 12 bytes that made the decoder
// allocate 4 GiB and take 12 s to refuse.
func TestDeclaredLengthsChecked(t *testing.T) {
	cases := []struct{ name, hex string }{
		{"bin32 of 4 GiB", "96 0d a1 74 a0 00 00 c6 ff ff ff ff"},
		{"bin32 within the limit, past the message", "96 0d a1 74 a0 00 00 c6 00 00 80 00 01"},
		{"bin16 past the message", "96 0d a1 74 a0 00 00 c5 ff ff"},
		{"str16 past the message", "95 01 01 da ff ff"},
		{"str32 of 4 GiB", "95 01 01 db ff ff ff ff"},
		{"topic str16 past the message", "92 03 91 da ff ff"},
		{"1024 topics in 2 bytes", "92 03 dc 04 00"},
		{"1024 positions in 2 bytes", "94 03 90 00 dc 04 00"},
		{"frame of 64 elements in 1 byte", "dc 00 40 07"},
		{"reason str8 past the message", "94 09 cd 03 e8 d9 ff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := unhex(t, c.hex)
			var err error
			var took time.Duration
			n := allocated(func(dec *Decoder) {
				start := time.Now()
				dec.Reset(msg)
				_, err = dec.Next()
				took = time.Since(start)
			})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			// A refusal costs its error message, nothing proportional to
			// the declared length.
			if n > decodeBudget(len(msg)) {
				t.Errorf("refusing %s allocated %d bytes, over %d (%v)", c.hex, n, decodeBudget(len(msg)), err)
			}
			if took > time.Second {
				t.Errorf("refusing %s took %s", c.hex, took)
			}
		})
	}
}

// nested returns a Ping carrying a trailing element of depth nested arrays.
func nested(depth int) []byte {
	msg := append([]byte{0x93, 0x07, 0x05}, bytes.Repeat([]byte{0x91}, depth)...)
	return append(msg, 0xc0)
}

// TestSkipBounded: unknown trailing elements are skipped without recursion:
// a 64 KiB Ping carrying 65,000 nested arrays (which grew the reader's stack
// to 8.5 MB) is refused for its depth, as is a map declaring more entries
// than the message holds; shallow trailing elements of every kind still
// decode, as a later revision may append them.
func TestSkipBounded(t *testing.T) {
	dec := NewDecoder()
	for name, msg := range map[string][]byte{
		"65,000 nested arrays": nested(65000),
		"nested past the cap":  nested(maxSkipDepth + 1),
		"map of 2^32-1 pairs":  {0x93, 0x07, 0x05, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"array past the end":   {0x93, 0x07, 0x05, 0x93, 0x01, 0x02},
		"ext past the end":     {0x93, 0x07, 0x05, 0xc7, 0xff, 0x01},
		"never-used code":      {0x93, 0x07, 0x05, 0xc1},
	} {
		dec.Reset(msg)
		if f, err := dec.Next(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %#v, %v; want ErrMalformed", name, f, err)
		}
	}
	ok := map[string][]byte{
		"nested to the cap": nested(maxSkipDepth),
		"every kind": unhex(t, "9f 07 05"+ // a Ping of 15 elements: 13 trailing
			" 82 a1 6b 92 01 c3 c4 01 00 81 c0 90"+ // {"k": [1, true], bin: {nil: []}}
			" cb 3f f0 00 00 00 00 00 00 ca 00 00 00 00"+ // float64, float32
			" d3 00 00 00 00 00 00 00 01 ce 00 00 00 01 cd 00 01 cc 01 e0"+ // int64, uint32, uint16, uint8, negative fixint
			" d4 01 02 c7 02 01 aa bb"+ // fixext1, ext8
			" d9 01 78 dc 00 01 c2 de 00 00"), // str8, array16 [false], map16 {}
	}
	for name, msg := range ok {
		dec.Reset(msg)
		f, err := dec.Next()
		if p, isPing := f.(*Ping); err != nil || !isPing || p.Nonce != 5 || dec.More() {
			t.Errorf("%s: got %#v, %v, more=%v; want Ping 5", name, f, err, dec.More())
		}
	}
}
