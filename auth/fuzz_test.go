package auth

import (
	"crypto/ed25519"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A credential comes from anyone who can open a connection, before it is
// checked: verifying one may allocate at most authAllocBase plus
// authAllocPerByte per byte of it. The token's header is JSON decoded into a
// map, so a header of nested arrays or many numbers costs about 30 times its
// size (measured); a length the input declares and the verifier trusted would
// cost far more.
const (
	authAllocBase    = 64 << 10
	authAllocPerByte = 64
)

// allocated returns the bytes this process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzAuthenticate feeds arbitrary credentials to a Verifier. It must never
// panic, never allocate more than authAllocBase + authAllocPerByte per byte
// of the credential, and never accept a token that the configured key did
// not sign: whatever it accepts is checked against the key independently of
// the library's own verification.
func FuzzAuthenticate(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // fixed: the corpus stays meaningful
	pub := seed.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed([]byte("0123456789abcdef0123456789abcdef"))
	now := t0.Add(time.Minute)
	apiKey := "twk_" + strings.Repeat("A", 43)
	v, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}, Now: func() time.Time { return now },
		APIKeys: []APIKey{{Name: "svc", SHA256: HashAPIKey(apiKey), Roles: []string{RolePublisher}}}})
	if err != nil {
		f.Fatal(err)
	}
	good := mint(f, seed, MintOptions{Roles: []string{RoleTrader}, Accounts: []string{"A"}})
	for _, s := range []string{
		good,
		mint(f, seed, MintOptions{Now: t0.Add(-3 * time.Hour)}), // expired
		forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, KeyID(pub), validClaims(t0)),
		forge(f, jwt.SigningMethodHS256, []byte(pub), KeyID(pub), validClaims(t0)),
		mint(f, other, MintOptions{}),
		good[:len(good)/2],
		good[:strings.LastIndexByte(good, '.')],
		apiKey, "twk_", "", "...", "a.b.c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cred string) {
		var p *Principal
		var err error
		budget := uint64(authAllocBase + authAllocPerByte*len(cred))
		// Over budget, the lesser of two runs counts: a one-off allocation
		// elsewhere in the process (the fuzzing machinery's) is not the
		// verifier's.
		n := allocated()
		p, err = v.Authenticate(cred)
		if n = allocated() - n; n > budget {
			m := allocated()
			_, _ = v.Authenticate(cred)
			n = min(n, allocated()-m)
		}
		if n > budget {
			t.Fatalf("verifying a %d-byte credential allocated %d bytes: max %d", len(cred), n, budget)
		}
		if err != nil {
			if p != nil {
				t.Fatalf("both a principal and an error: %v", err)
			}
			if _, ok := err.(*CredentialError); !ok {
				t.Fatalf("error %T %v, want *CredentialError", err, err)
			}
			return
		}
		if p == nil || p.Subject == "" {
			t.Fatalf("accepted %q without a subject", cred)
		}
		if cred == apiKey {
			return
		}
		// Accepted as a token: it must carry a genuine EdDSA signature by
		// our key over its first two parts.
		parts := strings.Split(cred, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q: not three parts", cred)
		}
		sig, err := jwt.NewParser().DecodeSegment(parts[2])
		if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatalf("accepted %q, which our key did not sign", cred)
		}
		if p.Expires.Before(now) {
			t.Fatalf("accepted %q, expired at %v", cred, p.Expires)
		}
	})
}
