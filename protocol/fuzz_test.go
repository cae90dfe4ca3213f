package protocol

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, every
// error must wrap ErrMalformed, and every frame it accepts must re-encode to
// something that decodes to the same frame.
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
	f.Fuzz(func(t *testing.T, msg []byte) {
		dec := NewDecoder()
		dec.Reset(msg)
		for dec.More() {
			fr, err := dec.Next()
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error does not wrap ErrMalformed: %v", err)
				}
				return
			}
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
