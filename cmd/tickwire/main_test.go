package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpAndBadFlags(t *testing.T) {
	for _, c := range commands() {
		var out, errb bytes.Buffer
		if code := run([]string{c.name, "--help"}, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d, stderr %q", c.name, code, errb.String())
		}
		if !strings.Contains(out.String(), "Usage: tickwire "+c.name) {
			t.Errorf("%s --help printed %q", c.name, out.String())
		}
		out.Reset()
		errb.Reset()
		if code := run([]string{c.name, "--no-such-flag"}, &out, &errb); code != 2 {
			t.Errorf("%s --no-such-flag: exit %d, want 2", c.name, code)
		}
		if !strings.Contains(errb.String(), "no-such-flag") {
			t.Errorf("%s --no-such-flag: stderr %q does not name the flag", c.name, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"server", "--replay", "/does/not/exist.csv", "--listen", "127.0.0.1:0"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "/does/not/exist.csv") {
		t.Errorf("missing replay file: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"trader", "--server", "http://x"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "ws://") {
		t.Errorf("bad server URL: exit %d, stderr %q", code, errb.String())
	}
}
