package sessions

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"tickwire/internal/secfile"
)

// SecretFile is the name of the secret's file in a server's data directory.
const SecretFile = "session.key"

// NewSecret returns a random secret of MinSecret bytes. A server without a
// data directory uses one per process: its tokens do not outlive it.
func NewSecret() []byte {
	b := make([]byte, MinSecret)
	_, _ = rand.Read(b)
	return b
}

// LoadOrCreateSecret reads the secret at path (hex text, as written here) or,
// if there is no file, creates one with a new random secret, atomically (a
// concurrent creator's secret wins and is returned) and durably (the file and
// its directory are fsynced). A file that exists but is not a valid secret is
// an error naming the path; it is never overwritten. The file is mode 0600:
// whoever reads it can forge resume tokens. So a file others may read or
// write, a directory others may write to, or either owned by another user is
// refused, saying how to fix it; the directory is created 0700.
func LoadOrCreateSecret(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := secfile.MkdirAll(dir, secfile.Dir); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	b, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	tmp, err := os.CreateTemp(dir, ".session.key.*")
	if err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	secret := NewSecret()
	_, err = tmp.WriteString(hex.EncodeToString(secret) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("session secret %s: %w", path, err)
	}
	// Link fails if path exists: whoever created it first wins.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSecret(path)
		}
		return nil, fmt.Errorf("session secret %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		_ = d.Close()
		if err != nil {
			return nil, fmt.Errorf("session secret: fsync %s: %w", dir, err)
		}
	}
	return secret, nil
}

func readSecret(path string) ([]byte, error) {
	raw, err := secfile.ReadPrivate(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("session secret: %w", err)
	}
	b, err := hex.DecodeString(string(bytes.TrimSpace(raw)))
	if err != nil || len(b) < MinSecret {
		return nil, fmt.Errorf("session secret %s: not a secret of at least %d bytes in hex; move it away to make a new one (every resume token becomes invalid)", path, MinSecret)
	}
	return b, nil
}
