package tlsconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnsureSelfSignedRefusesUntrustedFiles: clients trust the certificate
// in the directory, so one others could have planted (a 0666 key.pem in a
// 0777 directory, say, under /tmp) or whose key others could read is
// refused, with the fix, and left as it is; a new pair is private.
func TestEnsureSelfSignedRefusesUntrustedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	ss, err := EnsureSelfSigned(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, ss.KeyFile: 0o600, ss.CertFile: 0o644} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	key, _ := os.ReadFile(ss.KeyFile)
	const otherUID = 54321
	for _, tc := range []struct {
		name    string
		path    string
		mode    os.FileMode
		chown   bool
		wantFix string
	}{
		{"world-readable key", ss.KeyFile, 0o644, false, "chmod 600 " + ss.KeyFile},
		{"world-writable key", ss.KeyFile, 0o666, false, "chmod 600 " + ss.KeyFile},
		{"group-writable certificate", ss.CertFile, 0o664, false, "chmod go-w " + ss.CertFile},
		{"world-writable directory", dir, 0o777, false, "chmod go-w " + dir},
		{"sticky world-writable directory", dir, 0o777 | os.ModeSticky, false, "chmod go-w " + dir},
		{"key of another user", ss.KeyFile, 0o600, true, "chown"},
		{"certificate of another user", ss.CertFile, 0o644, true, "chown"},
		{"directory of another user", dir, 0o700, true, "chown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown {
				if os.Geteuid() != 0 {
					t.Skip("giving a file to another user needs root (CI runs as root)")
				}
				if err := os.Chown(tc.path, otherUID, otherUID); err != nil {
					t.Fatal(err)
				}
				defer os.Chown(tc.path, os.Geteuid(), os.Getegid())
			}
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(tc.path, tc.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tc.path, fi.Mode().Perm())
			_, err = EnsureSelfSigned(dir, now)
			if err == nil || !strings.Contains(err.Error(), tc.wantFix) {
				t.Fatalf("EnsureSelfSigned: %v; want a refusal saying %q", err, tc.wantFix)
			}
			if got, _ := os.ReadFile(ss.KeyFile); !bytes.Equal(got, key) {
				t.Fatal("the refused key was replaced")
			}
		})
	}
	// Put right, the same pair is reused.
	if again, err := EnsureSelfSigned(dir, now); err != nil || again.Created {
		t.Fatalf("after the fixes: %+v, %v; want the pair reused", again, err)
	}
}
