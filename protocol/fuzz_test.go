package protocol

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
)

// decodeBudget is the most decoding a message of n bytes may allocate: what
// the frames hold is at most a small multiple of the bytes that declare it
// (a 1-byte empty topic becomes a 16-byte string header; a 7-byte Price a
// 144-byte struct), plus an error's text. A length trusted before it is
// checked costs far more: 4 GiB for 12 bytes in issue 17.
func decodeBudget(n int) uint64 { return 32*uint64(n) + 4096 }

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, it must
// allocate no more than decodeBudget for the message, every error must wrap
// ErrMalformed, and every frame it accepts must re-encode to something that
// decodes to the same frame. The client and the server share this decoder.
func FuzzDecode(f *testing.F) {
	enc := NewEncoder()
	for _, fr := range sampleFrames() {
		b, err := enc.Append(nil, fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x92, 0x03, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x96, 0x0d, 0xa1, 0x74, 0xa0, 0x00, 0x00, 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Add(nested(100))
	f.Fuzz(func(t *testing.T, msg []byte) {
		dec := NewDecoder()
		frames := make([]Frame, 0, len(msg)/3) // a frame takes at least 3 bytes
		var err error
		decode := func() {
			frames = frames[:0]
			dec.Reset(msg)
			for dec.More() {
				var fr Frame
				if fr, err = dec.Next(); err != nil {
					return
				}
				frames = append(frames, fr)
			}
		}
		// Over budget, the lesser of two runs counts: a one-off allocation
		// elsewhere in the process (a pool refilled after a GC) is not the
		// decoder's.
		n := allocs(decode)
		if n > decodeBudget(len(msg)) {
			n = min(n, allocs(decode))
		}
		if n > decodeBudget(len(msg)) {
			t.Fatalf("decoding %d bytes allocated %d (budget %d)", len(msg), n, decodeBudget(len(msg)))
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		for _, fr := range frames {
			b, err := NewEncoder().Append(nil, fr)
			if err != nil {
				t.Fatalf("re-encode %#v: %v", fr, err)
			}
			d2 := NewDecoder()
			d2.Reset(b)
			again, err := d2.Next()
			if err != nil {
				t.Fatalf("re-decode %#v: %v", fr, err)
			}
			if !reflect.DeepEqual(normalize(fr), normalize(again)) {
				t.Fatalf("round trip changed %#v into %#v", fr, again)
			}
		}
	})
}

// allocs returns the bytes allocated while f runs.
func allocs(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// normalize makes NaN fields comparable.
func normalize(f Frame) Frame {
	if p, ok := f.(*Price); ok {
		c := *p
		for i, v := range c.Quote.V {
			if v != v {
				c.Quote.V[i] = 0
			}
		}
		return &c
	}
	return f
}
