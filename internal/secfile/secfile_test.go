package secfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// otherUID is a uid no test user has.
const otherUID = 54321

// chownOther gives path to another user. Only root can: elsewhere the
// sub-test is skipped (CI runs the tests as root, so it never is there).
func chownOther(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (CI runs as root)")
	}
	if err := os.Chown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  Kind
		dir   bool
		mode  fs.FileMode
		other bool   // owned by another user
		fix   string // in the refusal; "" accepted
	}{
		{name: "private 0600", kind: Private, mode: 0o600},
		{name: "private 0400", kind: Private, mode: 0o400},
		{name: "private world-readable", kind: Private, mode: 0o644, fix: "lets other users read it; chmod 600"},
		{name: "private group-readable", kind: Private, mode: 0o640, fix: "chmod 600"},
		{name: "private group-writable", kind: Private, mode: 0o620, fix: "lets other users change it; chmod 600"},
		{name: "private world-writable", kind: Private, mode: 0o666, fix: "chmod 600"},
		{name: "private another owner", kind: Private, mode: 0o600, other: true, fix: "chown"},
		{name: "public 0644", kind: Public, mode: 0o644},
		{name: "public group-writable", kind: Public, mode: 0o664, fix: "chmod go-w"},
		{name: "public world-writable", kind: Public, mode: 0o646, fix: "chmod go-w"},
		{name: "public another owner", kind: Public, mode: 0o644, other: true, fix: "chown"},
		{name: "dir 0700", kind: Dir, dir: true, mode: 0o700},
		{name: "dir 0755", kind: Dir, dir: true, mode: 0o755},
		{name: "dir group-writable", kind: Dir, dir: true, mode: 0o770, fix: "chmod go-w"},
		{name: "dir world-writable", kind: Dir, dir: true, mode: 0o777, fix: "chmod go-w"},
		{name: "dir sticky world-writable", kind: Dir, dir: true, mode: 0o777 | fs.ModeSticky, fix: "chmod go-w"},
		{name: "dir another owner", kind: Dir, dir: true, mode: 0o700, other: true, fix: "chown"},
		{name: "private dir 0700", kind: PrivateDir, dir: true, mode: 0o700},
		{name: "private dir 0755", kind: PrivateDir, dir: true, mode: 0o755, fix: "lets other users read it; chmod 700"},
		{name: "private dir group-writable", kind: PrivateDir, dir: true, mode: 0o730, fix: "lets other users change it; chmod 700"},
		{name: "private dir another owner", kind: PrivateDir, dir: true, mode: 0o700, other: true, fix: "chown"},
		{name: "dir that is a file", kind: Dir, mode: 0o600, fix: "not a directory"},
		{name: "private that is a dir", kind: Private, dir: true, mode: 0o700, fix: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x")
			var err error
			if tc.dir {
				err = os.Mkdir(path, 0o700)
			} else {
				err = os.WriteFile(path, []byte("secret\n"), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.other {
				chownOther(t, path)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			err = CheckPath(path, tc.kind)
			if tc.kind == Private && !tc.dir {
				b, rerr := ReadPrivate(path)
				if (rerr == nil) != (err == nil) || rerr == nil && string(b) != "secret\n" {
					t.Errorf("ReadPrivate = %q, %v; CheckPath = %v", b, rerr, err)
				}
			}
			switch {
			case tc.fix == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.fix != "" && err == nil:
				t.Fatalf("accepted; want a refusal saying %q", tc.fix)
			case tc.fix != "" && (!strings.Contains(err.Error(), tc.fix) || !strings.Contains(err.Error(), path)):
				t.Fatalf("refusal %q: want the path and %q", err, tc.fix)
			}
		})
	}
}

func TestMkdirAll(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := MkdirAll(dir, PrivateDir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != DirMode {
			t.Errorf("%s: %v, %v; want mode %v", d, fi.Mode(), err, DirMode)
		}
	}
	if err := MkdirAll(dir, PrivateDir); err != nil {
		t.Fatalf("an existing private directory: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir, Dir); err == nil || !strings.Contains(err.Error(), "chmod go-w "+dir) {
		t.Fatalf("an existing world-writable directory: %v", err)
	}
}

func TestReadPrivateMissing(t *testing.T) {
	if _, err := ReadPrivate(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err %v: want fs.ErrNotExist", err)
	}
}

// TestOpenAppend: a new log is private and appended to; one others could
// change is refused, naming the fix; a device is taken as it is.
func TestOpenAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	for _, line := range []string{"a\n", "b\n"} {
		f, err := OpenAppend(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\n" {
		t.Errorf("log %q, %v", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenAppend(path); err == nil || !strings.Contains(err.Error(), "chmod go-w "+path) {
		t.Errorf("a log others can change: %v", err)
		if f != nil {
			f.Close()
		}
	}
	f, err := OpenAppend(os.DevNull)
	if err != nil {
		t.Fatalf("%s: %v", os.DevNull, err)
	}
	f.Close()
}
