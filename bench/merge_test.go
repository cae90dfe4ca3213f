package bench

import "testing"

func TestBehaviourFlag(t *testing.T) {
	for _, c := range []struct{ in, file, fn string }{
		{"bin/behaviours/vwap.wasm", "bin/behaviours/vwap.wasm", "vwap"},
		{"bin/behaviours/vwap.wasm:vwap", "bin/behaviours/vwap.wasm", "vwap"},
		{"/tmp/x:y/ohlc.wasm:ohlc", "/tmp/x:y/ohlc.wasm", "ohlc"},
		{"/tmp/x:y/mid.wasm", "/tmp/x:y/mid.wasm", "mid"},
	} {
		var b Behaviour
		if err := b.Set(c.in); err != nil || b.File != c.file || b.Func != c.fn {
			t.Errorf("Set(%q): %+v, %v; want %s, %s", c.in, b, err, c.file, c.fn)
		}
		if !b.On() || b.String() != c.file+":"+c.fn {
			t.Errorf("Set(%q): String %q", c.in, b.String())
		}
	}
	for _, bad := range []string{"", ":vwap", "x.wasm:a,b", "x.wasm:f(1)"} {
		var b Behaviour
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q): %+v, want an error", bad, b)
		}
	}
	var off Behaviour
	if off.On() || off.args() != nil {
		t.Error("zero Behaviour is on")
	}
}
