package auth

import (
	"os"
	"strings"
	"testing"
)

// TestLoadPrivateKeyTrust: a signing key others could change, or that
// another user owns, is refused like one others could read.
func TestLoadPrivateKeyTrust(t *testing.T) {
	privPath, _, err := WriteKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(privPath, 0o620); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(privPath); err == nil || !strings.Contains(err.Error(), "chmod 600 "+privPath) {
		t.Fatalf("group-writable private key: %v", err)
	}
	if err := os.Chmod(privPath, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("another owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("giving a file to another user needs root (CI runs as root)")
		}
		if err := os.Chown(privPath, 54321, 54321); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrivateKey(privPath); err == nil || !strings.Contains(err.Error(), "chown") {
			t.Fatalf("private key of another user: %v", err)
		}
	})
}
