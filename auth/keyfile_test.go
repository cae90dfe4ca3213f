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

// TestLoadPublicKeys: every key, in order; one bad path fails it all,
// named.
func TestLoadPublicKeys(t *testing.T) {
	_, pub1, err := WriteKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, pub2, err := WriteKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys([]string{pub1, pub2})
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	if k, _ := LoadPublicKey(pub2); KeyID(keys[1]) != KeyID(k) || KeyID(keys[0]) == KeyID(keys[1]) {
		t.Error("keys out of order or the same")
	}
	if _, err := LoadPublicKeys([]string{pub1, "/does/not/exist.pub"}); err == nil || !strings.Contains(err.Error(), "/does/not/exist.pub") {
		t.Errorf("missing key: %v", err)
	}
	if keys, err := LoadPublicKeys(nil); err != nil || keys != nil {
		t.Errorf("no paths: %v, %v", keys, err)
	}
}
