package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFIX44(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spec")
	path, err := WriteFIX44(dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "FIX44.xml") {
		t.Fatalf("path %q", path)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != fix44 || !strings.HasPrefix(fix44, "<fix major='4' type='FIX'") {
		t.Fatalf("dictionary not written whole (%d bytes, err %v)", len(got), err)
	}
	// A damaged copy is replaced; no temporary file is left behind.
	if err := os.WriteFile(path, []byte("<fix"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFIX44(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != fix44 {
		t.Fatal("a damaged dictionary was not replaced")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files in %s: %v", dir, ents)
	}
}

func TestRedactPassword(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"8=FIX.4.4\x019=5\x0135=A\x01", "8=FIX.4.4\x019=5\x0135=A\x01"},
		{"35=A\x01553=bob\x01554=s3cret\x0110=000\x01", "35=A\x01553=bob\x01554=***\x0110=000\x01"},
		{"35=A\x01554=a\x01554=bc", "35=A\x01554=***\x01554=***"},           // twice, last unterminated
		{"event: 35=A|554=x", "event: 35=A|554=x"},                          // not a field boundary
		{"35=A\x011554=x\x01", "35=A\x011554=x\x01"},                        // another tag
		{"Logon 35=A\x01554=pw\x0158=hi", "Logon 35=A\x01554=***\x0158=hi"}, // a log line quoting one
	} {
		if got := string(RedactPassword([]byte(c.in))); got != c.want {
			t.Errorf("RedactPassword(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	msg := []byte("35=0\x0110=000\x01")
	if n := testing.AllocsPerRun(100, func() { RedactPassword(msg) }); n != 0 {
		t.Errorf("%v allocations for a message without a password", n)
	}
}
