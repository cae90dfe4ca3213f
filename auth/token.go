package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tickwire/internal/secfile"
)

// Issuer is the iss of every tickwire token; others are refused.
const Issuer = "tickwire"

// Key file names in a key directory (`tickwire token keygen --dir DIR`).
const (
	PrivateKeyFile = "auth.key" // PKCS#8 PEM, mode 0600: only `tickwire token mint` needs it
	PublicKeyFile  = "auth.pub" // PKIX PEM: what servers verify with (--auth-pubkey)
)

// Claims are a token's claims: the registered ones (sub, iss, iat, exp;
// kid travels in the header) and tickwire's entitlements.
type Claims struct {
	Roles    []string `json:"roles,omitempty"`
	Accounts []string `json:"accounts,omitempty"`
	Topics   []string `json:"topics,omitempty"` // path.Match patterns; empty: all market data
	jwt.RegisteredClaims
}

// MintOptions are what a new token says.
type MintOptions struct {
	Subject  string
	Roles    []string
	Accounts []string
	Topics   []string
	Audience []string      // the deployments (aud) it is for; none: any server not checking aud
	TTL      time.Duration // required, > 0
	Now      time.Time     // default time.Now()
}

// Mint signs a token for opts with key. It refuses what a server would:
// an empty subject, unknown roles, bad patterns, no TTL.
func Mint(key ed25519.PrivateKey, opts MintOptions) (string, error) {
	if opts.Subject == "" {
		return "", errors.New("mint: empty subject")
	}
	if opts.TTL <= 0 {
		return "", fmt.Errorf("mint: ttl %v: must be > 0 (tokens always expire)", opts.TTL)
	}
	if err := validRoles(opts.Roles); err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	if err := validPatterns(opts.Topics); err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := Claims{
		Roles: opts.Roles, Accounts: opts.Accounts, Topics: opts.Topics,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   opts.Subject,
			Audience:  opts.Audience,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(opts.TTL)),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = KeyID(key.Public().(ed25519.PublicKey))
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	return s, nil
}

// KeyID names a public key in a token's kid header: the first 8 bytes of
// its SHA-256, in hex. Servers with several keys (rotation) pick by it.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateKey returns a new Ed25519 key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	return pub, priv, nil
}

// WriteKeyPair generates a key pair into dir: PrivateKeyFile (mode 0600)
// and PublicKeyFile (0644). It refuses to overwrite either.
func WriteKeyPair(dir string) (privPath, pubPath string, err error) {
	pub, priv, err := GenerateKey()
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if err := secfile.MkdirAll(dir, secfile.Dir); err != nil {
		return "", "", fmt.Errorf("key directory: %w", err)
	}
	privPath, pubPath = filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists: keygen never overwrites a key (remove it, or choose another --dir)", p)
		}
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		_ = os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// writeNew creates path (failing if it exists) with data, synced.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key. It refuses a file
// that group or others may read or write, or another user owns: the key
// mints any token.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := secfile.ReadPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	k, err := jwt.ParseEdPrivateKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("private key %s: not a PKCS#8 PEM Ed25519 key: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// LoadPublicKeys reads the public keys at paths (LoadPublicKey): a
// server's, several during a key rotation.
func LoadPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, p := range paths {
		k, err := LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := jwt.ParseEdPublicKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: not a PKIX PEM Ed25519 key: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s: not an Ed25519 key", path)
	}
	return pub, nil
}
