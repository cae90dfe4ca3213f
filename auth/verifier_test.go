package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testKeys(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func mint(t testing.TB, priv ed25519.PrivateKey, o MintOptions) string {
	t.Helper()
	if o.Subject == "" {
		o.Subject = "ann"
	}
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	if o.Now.IsZero() {
		o.Now = t0
	}
	s, err := Mint(priv, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forge signs claims with any method and key, setting kid if given.
func forge(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(now time.Time) Claims {
	return Claims{Roles: []string{RoleAdmin}, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: "mallory", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
}

func newTestVerifier(t testing.TB, now time.Time, keys ...ed25519.PublicKey) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{PublicKeys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTokenAccepted(t *testing.T) {
	pub, priv := testKeys(t)
	v := newTestVerifier(t, t0.Add(time.Minute), pub)
	tok := mint(t, priv, MintOptions{Subject: "ann", Roles: []string{RoleTrader}, Accounts: []string{"A1"}, Topics: []string{"EUR*"}, TTL: 8 * time.Hour})
	p, err := v.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "ann" || p.Method != MethodToken || len(p.Roles) != 1 || p.Roles[0] != RoleTrader ||
		len(p.Accounts) != 1 || p.Accounts[0] != "A1" || len(p.Topics) != 1 || p.Topics[0] != "EUR*" {
		t.Fatalf("principal %+v", p)
	}
	if want := t0.Add(8*time.Hour + 30*time.Second); !p.Expires.Equal(want) {
		t.Fatalf("Expires %v, want exp + leeway %v", p.Expires, want)
	}
}

func TestTokenRefusals(t *testing.T) {
	pub, priv := testKeys(t)
	otherPub, otherPriv := testKeys(t)
	_ = otherPub
	v := newTestVerifier(t, t0.Add(time.Minute), pub)
	good := mint(t, priv, MintOptions{})
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	noExp := validClaims(t0)
	noExp.ExpiresAt = nil
	wrongIss := validClaims(t0)
	wrongIss.Issuer = "someone-else"
	noSub := validClaims(t0)
	noSub.Subject = ""
	parts := strings.Split(good, ".")
	cases := []struct {
		name  string
		cred  string
		want  error
		subj  string
		check func(*testing.T, *CredentialError)
	}{
		{name: "empty", cred: "", want: ErrMissing},
		{name: "garbage", cred: "hello", want: ErrMalformed},
		{name: "truncated", cred: good[:len(good)-10], want: ErrBadSignature},
		{name: "two parts", cred: parts[0] + "." + parts[1], want: ErrMalformed},
		{name: "tampered payload", cred: parts[0] + "." + strings.TrimRight(parts[1], "=") + "e30." + parts[2], want: ErrMalformed},
		{name: "other key, no kid", cred: forge(t, jwt.SigningMethodEdDSA, otherPriv, "", validClaims(t0)), want: ErrBadSignature},
		{name: "other key, its kid", cred: mint(t, otherPriv, MintOptions{}), want: ErrUnknownKey},
		{name: "other key, our kid", cred: forge(t, jwt.SigningMethodEdDSA, otherPriv, KeyID(pub), validClaims(t0)), want: ErrBadSignature},
		{name: "alg none", cred: forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, KeyID(pub), validClaims(t0)), want: ErrBadSignature},
		{name: "HS256 with the public key bytes", cred: forge(t, jwt.SigningMethodHS256, []byte(pub), KeyID(pub), validClaims(t0)), want: ErrBadSignature},
		{name: "HS256 with the public key PEM", cred: forge(t, jwt.SigningMethodHS256, pubPEM, "", validClaims(t0)), want: ErrBadSignature},
		{name: "expired", cred: mint(t, priv, MintOptions{Subject: "old", Now: t0.Add(-2 * time.Hour), TTL: time.Hour}), want: ErrExpired, subj: "old"},
		{name: "issued in the future", cred: mint(t, priv, MintOptions{Subject: "fut", Now: t0.Add(time.Hour)}), want: ErrNotYetValid, subj: "fut"},
		{name: "no exp", cred: forge(t, jwt.SigningMethodEdDSA, priv, KeyID(pub), noExp), want: ErrBadClaims, subj: "mallory"},
		{name: "wrong issuer", cred: forge(t, jwt.SigningMethodEdDSA, priv, KeyID(pub), wrongIss), want: ErrBadClaims, subj: "mallory"},
		{name: "no subject", cred: forge(t, jwt.SigningMethodEdDSA, priv, KeyID(pub), noSub), want: ErrBadClaims},
		{name: "api key not configured", cred: "twk_abc", want: ErrBadAPIKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.Authenticate(c.cred)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v (%#v), want %v", err, err, c.want)
			}
			var ce *CredentialError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T, want *CredentialError", err)
			}
			if ce.Subject != c.subj {
				t.Fatalf("subject %q, want %q", ce.Subject, c.subj)
			}
		})
	}
}

// A token within the leeway past its exp is still accepted; beyond it, not.
func TestLeeway(t *testing.T) {
	pub, priv := testKeys(t)
	tok := mint(t, priv, MintOptions{TTL: time.Minute})
	if _, err := newTestVerifier(t, t0.Add(time.Minute+20*time.Second), pub).Authenticate(tok); err != nil {
		t.Fatalf("20s past exp (leeway 30s): %v", err)
	}
	if _, err := newTestVerifier(t, t0.Add(time.Minute+40*time.Second), pub).Authenticate(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("40s past exp: %v, want ErrExpired", err)
	}
}

// TestAudience: a verifier with an Audience accepts tokens listing it and
// refuses others, and tokens without aud; one without accepts any.
func TestAudience(t *testing.T) {
	pub, priv := testKeys(t)
	v, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}, Audience: "prod", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, aud := range [][]string{{"prod"}, {"uat", "prod"}} {
		if _, err := v.Authenticate(mint(t, priv, MintOptions{Audience: aud})); err != nil {
			t.Errorf("aud %q on a prod server: %v", aud, err)
		}
	}
	for _, aud := range [][]string{nil, {"uat"}, {"Prod"}} {
		_, err := v.Authenticate(mint(t, priv, MintOptions{Subject: "ann", Audience: aud}))
		var ce *CredentialError
		if !errors.Is(err, ErrAudience) || !errors.As(err, &ce) || ce.Subject != "ann" {
			t.Errorf("aud %q on a prod server: %v, want ErrAudience naming ann", aud, err)
		}
	}
	if _, err := newTestVerifier(t, t0, pub).Authenticate(mint(t, priv, MintOptions{Audience: []string{"uat"}})); err != nil {
		t.Errorf("aud uat on a server without an audience: %v", err)
	}
}

// TestMaxLifetime: a token meant to live longer than the verifier's
// maximum (exp - iat, or exp - now without iat) is refused, whatever is
// left of it; the default maximum is DefaultMaxLifetime.
func TestMaxLifetime(t *testing.T) {
	pub, priv := testKeys(t)
	now := t0.Add(time.Minute)
	v, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}, MaxLifetime: 8 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authenticate(mint(t, priv, MintOptions{TTL: 8 * time.Hour})); err != nil {
		t.Fatalf("8h token, max 8h: %v", err)
	}
	long := mint(t, priv, MintOptions{Subject: "ann", TTL: 8*time.Hour + time.Second})
	_, err = v.Authenticate(long)
	var ce *CredentialError
	if !errors.Is(err, ErrTooLong) || !errors.As(err, &ce) || ce.Subject != "ann" || !strings.Contains(err.Error(), "8h0m0s") {
		t.Fatalf("8h0m1s token, max 8h: %v, want ErrTooLong naming the maximum", err)
	}
	// Issued long ago, little left: still refused (iat says what it was minted for).
	old := mint(t, priv, MintOptions{Now: t0.Add(-20 * time.Hour), TTL: 21 * time.Hour})
	if _, err := v.Authenticate(old); !errors.Is(err, ErrTooLong) {
		t.Fatalf("21h token with an hour left: %v, want ErrTooLong", err)
	}
	// Without iat, exp - now counts.
	noIat := validClaims(t0)
	noIat.IssuedAt = nil
	noIat.ExpiresAt = jwt.NewNumericDate(now.Add(7 * time.Hour))
	if _, err := v.Authenticate(forge(t, jwt.SigningMethodEdDSA, priv, KeyID(pub), noIat)); err != nil {
		t.Fatalf("no iat, 7h left: %v", err)
	}
	noIat.ExpiresAt = jwt.NewNumericDate(now.Add(9 * time.Hour))
	if _, err := v.Authenticate(forge(t, jwt.SigningMethodEdDSA, priv, KeyID(pub), noIat)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("no iat, 9h left: %v, want ErrTooLong", err)
	}
	// The default refuses a token that lives until 9999; negative: no cap.
	forever := mint(t, priv, MintOptions{TTL: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).Sub(t0)})
	if _, err := newTestVerifier(t, now, pub).Authenticate(forever); !errors.Is(err, ErrTooLong) {
		t.Fatalf("token until 9999, default maximum: %v, want ErrTooLong", err)
	}
	if _, err := newTestVerifier(t, now, pub).Authenticate(mint(t, priv, MintOptions{TTL: DefaultMaxLifetime})); err != nil {
		t.Fatalf("token of DefaultMaxLifetime: %v", err)
	}
	uncapped, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}, MaxLifetime: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uncapped.Authenticate(forever); err != nil {
		t.Fatalf("token until 9999, no maximum: %v", err)
	}
}

// Rotation: a server with the old and the new key accepts tokens of both,
// with and without kid.
func TestKeyRotation(t *testing.T) {
	oldPub, oldPriv := testKeys(t)
	newPub, newPriv := testKeys(t)
	v := newTestVerifier(t, t0, oldPub, newPub)
	for _, tok := range []string{
		mint(t, oldPriv, MintOptions{Subject: "a"}), mint(t, newPriv, MintOptions{Subject: "b"}),
		forge(t, jwt.SigningMethodEdDSA, oldPriv, "", validClaims(t0)), forge(t, jwt.SigningMethodEdDSA, newPriv, "", validClaims(t0)),
	} {
		if _, err := v.Authenticate(tok); err != nil {
			t.Fatalf("rotation: %v", err)
		}
	}
	// Once the old key is removed, its tokens are refused.
	if _, err := newTestVerifier(t, t0, newPub).Authenticate(mint(t, oldPriv, MintOptions{})); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old key removed: %v, want ErrUnknownKey", err)
	}
}

func TestAPIKeys(t *testing.T) {
	key, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) != len(APIKeyPrefix)+43 {
		t.Fatalf("key %q", key)
	}
	entry := APIKey{Name: "replay", SHA256: HashAPIKey(key), Roles: []string{RolePublisher}, Topics: []string{"EUR*"}}
	y, err := entry.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(y, key) {
		t.Fatal("the YAML entry holds the key itself")
	}
	keys, err := ParseAPIKeys(strings.NewReader("keys:\n" + y))
	if err != nil {
		t.Fatalf("parse %q: %v", y, err)
	}
	v, err := NewVerifier(Config{APIKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(key)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "apikey:replay" || p.Method != MethodAPIKey || !p.Has(RolePublisher) || !p.Expires.IsZero() || p.Topics[0] != "EUR*" {
		t.Fatalf("principal %+v", p)
	}
	other, _ := NewAPIKey()
	if _, err := v.Authenticate(other); !errors.Is(err, ErrBadAPIKey) {
		t.Fatalf("wrong key: %v", err)
	}
	// A verifier with API keys only refuses tokens.
	_, priv := testKeys(t)
	if _, err := v.Authenticate(mint(t, priv, MintOptions{Now: time.Now()})); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token on an api-keys-only verifier: %v", err)
	}
}

func TestParseAPIKeysErrors(t *testing.T) {
	h := HashAPIKey("twk_x")
	cases := map[string]string{
		"unknown field":  "keys:\n  - name: a\n    sha256: " + h + "\n    secret: x\n",
		"no name":        "keys:\n  - sha256: " + h + "\n",
		"bad hash":       "keys:\n  - name: a\n    sha256: abc\n",
		"unknown role":   "keys:\n  - name: a\n    sha256: " + h + "\n    roles: [root]\n",
		"bad pattern":    "keys:\n  - name: a\n    sha256: " + h + "\n    topics: ['[']\n",
		"duplicate name": "keys:\n  - name: a\n    sha256: " + h + "\n  - name: a\n    sha256: " + HashAPIKey("twk_y") + "\n",
		"duplicate key":  "keys:\n  - name: a\n    sha256: " + h + "\n  - name: b\n    sha256: " + h + "\n",
		"not yaml":       "keys: [",
	}
	for name, doc := range cases {
		if _, err := ParseAPIKeys(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewVerifier(Config{}); err == nil {
		t.Error("a verifier with no keys at all was built")
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	privPath, pubPath, err := WriteKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(privPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v", st.Mode().Perm(), err)
	}
	priv, err := LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestVerifier(t, t0, pub).Authenticate(mint(t, priv, MintOptions{})); err != nil {
		t.Fatalf("token from the written key pair: %v", err)
	}
	if _, _, err := WriteKeyPair(dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second keygen into %s: %v, want a refusal to overwrite", dir, err)
	}
	if err := os.Chmod(privPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(privPath); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable private key: %v", err)
	}
	if _, err := LoadPublicKey(privPath); err == nil {
		t.Fatal("a private key loaded as a public key")
	}
	garbage := filepath.Join(dir, "garbage.pub")
	_ = os.WriteFile(garbage, []byte("not pem"), 0o644)
	if _, err := LoadPublicKey(garbage); err == nil {
		t.Fatal("garbage loaded as a public key")
	}
}

func TestMintRefuses(t *testing.T) {
	_, priv := testKeys(t)
	for name, o := range map[string]MintOptions{
		"no subject":   {TTL: time.Hour},
		"no ttl":       {Subject: "a"},
		"unknown role": {Subject: "a", TTL: time.Hour, Roles: []string{"root"}},
		"bad pattern":  {Subject: "a", TTL: time.Hour, Topics: []string{"["}},
	} {
		if _, err := Mint(priv, o); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
}
