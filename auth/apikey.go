package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// APIKeyPrefix starts every API key, so a key is recognisable (in a config
// file, a log, a secret scanner) and never mistaken for a token.
const APIKeyPrefix = "twk_"

// apiKeyBytes is the entropy of an API key.
const apiKeyBytes = 32

// NewAPIKey returns a new random API key: APIKeyPrefix and 32 random bytes
// in unpadded base64url.
func NewAPIKey() (string, error) {
	var b [apiKeyBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api key: %w", err)
	}
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashAPIKey returns the hex SHA-256 of key: what the keys file holds. The
// key itself is a random 256-bit secret, so a fast hash is enough: there is
// nothing to guess.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewAPIKeyEntry returns a new random API key (NewAPIKey) and its entry
// for the server's keys file, checked as the server will check it.
func NewAPIKeyEntry(name string, roles, accounts, topics []string) (key string, entry APIKey, err error) {
	if key, err = NewAPIKey(); err != nil {
		return "", APIKey{}, err
	}
	entry = APIKey{Name: name, SHA256: HashAPIKey(key), Roles: roles, Accounts: accounts, Topics: topics}
	if _, err := NewVerifier(Config{APIKeys: []APIKey{entry}}); err != nil {
		return "", APIKey{}, err
	}
	return key, entry, nil
}

// APIKey is one entry of the server's keys file.
type APIKey struct {
	Name     string   `yaml:"name"`   // the principal is "apikey:NAME"
	SHA256   string   `yaml:"sha256"` // HashAPIKey of the key, never the key
	Roles    []string `yaml:"roles,omitempty"`
	Accounts []string `yaml:"accounts,omitempty"`
	Topics   []string `yaml:"topics,omitempty"`
}

// keysFile is the YAML document of a keys file.
type keysFile struct {
	Keys []APIKey `yaml:"keys"`
}

// YAML returns k as an entry of a keys file's list, indented to paste under
// "keys:".
func (k APIKey) YAML() (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode([]APIKey{k}); err != nil {
		return "", err
	}
	_ = enc.Close()
	lines := strings.SplitAfter(strings.TrimRight(buf.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "") + "\n", nil
}

// validate checks one entry.
func (k APIKey) validate() error {
	if k.Name == "" {
		return errors.New("name is empty")
	}
	if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("sha256 %q: want 64 hex digits (the SHA-256 of the key, as `tickwire token apikey` prints it)", k.SHA256)
	}
	if err := validRoles(k.Roles); err != nil {
		return err
	}
	return validPatterns(k.Topics)
}

// LoadAPIKeys reads a keys file:
//
//	keys:
//	  - name: replay
//	    sha256: 9f86d0...
//	    roles: [publisher]
//	    topics: ["EUR*"]
//
// Unknown fields, unknown roles, bad patterns, duplicate names or hashes
// are errors naming the entry.
func LoadAPIKeys(path string) ([]APIKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer f.Close()
	keys, err := ParseAPIKeys(f)
	if err != nil {
		return nil, fmt.Errorf("api keys %s: %w", path, err)
	}
	return keys, nil
}

// ParseAPIKeys parses a keys file's YAML (LoadAPIKeys).
func ParseAPIKeys(r io.Reader) ([]APIKey, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var kf keysFile
	if err := dec.Decode(&kf); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	names, hashes := map[string]bool{}, map[string]bool{}
	for i, k := range kf.Keys {
		k.SHA256 = strings.ToLower(k.SHA256)
		kf.Keys[i] = k
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("key %d (%q): %w", i+1, k.Name, err)
		}
		if names[k.Name] {
			return nil, fmt.Errorf("key %d: name %q used twice", i+1, k.Name)
		}
		if hashes[k.SHA256] {
			return nil, fmt.Errorf("key %d (%q): the same key as another entry", i+1, k.Name)
		}
		names[k.Name], hashes[k.SHA256] = true, true
	}
	return kf.Keys, nil
}
