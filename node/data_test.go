package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tickwire/recovery"
	"tickwire/sessions"
)

// TestOpenData: a new data directory gets a journal and a secret; opened
// again, the same secret (resume tokens outlive a restart); a directory
// others may write to is refused.
func TestOpenData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	j, secret, err := OpenData(dir, recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Path() != filepath.Join(dir, JournalFile) || len(secret) == 0 {
		t.Errorf("journal %s, secret %d bytes", j.Path(), len(secret))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sessions.SecretFile)); err != nil {
		t.Errorf("secret file: %v", err)
	}
	j, again, err := OpenData(dir, recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = j.Close()
	if !bytes.Equal(again, secret) {
		t.Error("reopened: a new secret, want the stored one")
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenData(open, recovery.BoltOptions{}); err == nil || !strings.Contains(err.Error(), open) {
		t.Errorf("world-writable dir: %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(filepath.Join(open, JournalFile)); err == nil {
		t.Error("a journal was made in the refused directory")
	}
}
