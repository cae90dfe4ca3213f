package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"tickwire/demodata"
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

// TestHelpTexts: every help/NAME.txt is some command's --help, printed
// whole (demo's with its excerpt's name filled in), above the flags.
func TestHelpTexts(t *testing.T) {
	entries, err := helpFiles.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".txt")
		args := append(strings.Split(name, "-"), "--help")
		if name == "bench" || name == "token" {
			args = args[:1]
		}
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		got := out.String() + errb.String()
		want := helpText(name)
		if name == "demo" {
			want = fmt.Sprintf(want, demodata.Name)
		}
		if code != 0 && code != 2 || !strings.HasPrefix(got, want) || strings.Contains(got, "%!") {
			t.Errorf("%v: exit %d, printed %q, want it to start with help/%s.txt", args, code, got, e.Name())
		}
	}
}
