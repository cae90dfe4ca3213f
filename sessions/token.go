package sessions

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Errors of token verification and resumption. Test with errors.Is.
var (
	// ErrBadToken: the token is malformed or its signature does not match:
	// forged or damaged. Say so to the client.
	ErrBadToken = errors.New("sessions: invalid resume token")
	// ErrForeignToken: a well-formed token signed under another secret
	// (another server, or this one before its secret changed). Not an
	// attack as such: the client just starts a new session.
	ErrForeignToken = errors.New("sessions: resume token from another server")
	// ErrUnknownSession: the token is genuine but the session is gone (its
	// linger expired, or the server restarted).
	ErrUnknownSession = errors.New("sessions: session expired or unknown")
	// ErrBusy: the connection holding the session did not let go in time.
	ErrBusy = errors.New("sessions: session still held by another connection")
	// ErrNotYours: the token is genuine but its session belongs to another
	// subject (Resume). Nothing happened to that session.
	ErrNotYours = errors.New("sessions: session belongs to another subject")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("sessions: store closed")
)

// MinSecret is the shortest accepted secret, in bytes.
const MinSecret = 32

const (
	tokenVersion = "tw1"
	idLen        = 16 // hex digits of a session id (64 random bits)
	macDomain    = "tickwire-resume-token/1\x00"
	kidDomain    = "tickwire-session-key-id/1\x00"
)

// signer makes and checks resume tokens.
type signer struct {
	key []byte
	kid string // 8 hex digits naming the key
}

func newSigner(secret []byte) (*signer, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("sessions: secret of %d bytes, need at least %d", len(secret), MinSecret)
	}
	sum := sha256.Sum256(append([]byte(kidDomain), secret...))
	return &signer{key: append([]byte(nil), secret...), kid: hex.EncodeToString(sum[:4])}, nil
}

func (s *signer) mac(id string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(macDomain))
	m.Write([]byte(s.kid))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return m.Sum(nil)
}

// sign returns the token of session id.
func (s *signer) sign(id string) string {
	return tokenVersion + "." + s.kid + "." + id + "." + base64.RawURLEncoding.EncodeToString(s.mac(id))
}

// verify returns the session id a token was signed for.
func (s *signer) verify(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != tokenVersion {
		return "", fmt.Errorf("%w: not a %s token", ErrBadToken, tokenVersion)
	}
	kid, id, sig := parts[1], parts[2], parts[3]
	if !isHex(kid, 8) || !isHex(id, idLen) {
		return "", fmt.Errorf("%w: malformed", ErrBadToken)
	}
	if kid != s.kid {
		return "", ErrForeignToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(id)) {
		return "", fmt.Errorf("%w: signature does not match", ErrBadToken)
	}
	return id, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newID mints a session id: 64 random bits in hex.
func newID() string {
	var b [idLen / 2]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}
