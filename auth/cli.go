package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// maxTokenInput bounds a token read from stdin.
const maxTokenInput = 64 << 10

// Keygen writes a new key pair into dir (WriteKeyPair) and tells w where,
// with the public key's kid: `tickwire token keygen`.
func Keygen(dir string, w io.Writer) error {
	priv, pub, err := WriteKeyPair(dir)
	if err != nil {
		return err
	}
	k, err := LoadPublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "private key %s (keep it secret)\npublic key  %s (kid %s)\n", priv, pub, KeyID(k))
	return nil
}

// InspectTo writes token's claims to w as indented JSON (Inspect): `tickwire
// token inspect`. A token of "-" is read from stdin (at most 64 KiB);
// surrounding whitespace is ignored. A nil authenticate shows the claims
// unverified.
func InspectTo(w io.Writer, token string, stdin io.Reader, authenticate func(string) (*Principal, error)) error {
	if token == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxTokenInput))
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		token = string(b)
	}
	out, err := Inspect(strings.TrimSpace(token), authenticate)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteAPIKey shows a new API key once and its entry for the --api-keys
// file (NewAPIKeyEntry): `tickwire token apikey`.
func WriteAPIKey(w io.Writer, key string, entry APIKey) error {
	y, err := entry.YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "api key (shown once; the server keeps only its hash):\n%s\n\nentry for the --api-keys file, under \"keys:\":\n%s", key, y)
	return nil
}
