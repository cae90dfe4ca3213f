package auth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeygenInspect: Keygen writes a pair and names its kid; a token minted
// with it reads back through InspectTo from stdin, verified and not.
func TestKeygenInspect(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := Keygen(dir, &out); err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(filepath.Join(dir, "auth.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(kid "+KeyID(pub)+")") {
		t.Errorf("keygen output %q: want the kid %s", out.String(), KeyID(pub))
	}
	if err := Keygen(dir, &out); err == nil {
		t.Error("a second keygen into the same dir overwrote the keys")
	}
	priv, err := LoadPrivateKey(filepath.Join(dir, "auth.key"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(priv, MintOptions{Subject: "alice", Roles: []string{RoleTrader}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	for _, verify := range []func(string) (*Principal, error){nil, v.Authenticate} {
		out.Reset()
		if err := InspectTo(&out, "-", strings.NewReader("\n "+tok+"\n"), verify); err != nil {
			t.Fatalf("inspect (verified %v): %v", verify != nil, err)
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil || !strings.Contains(out.String(), `"alice"`) {
			t.Errorf("inspect output %q (%v): want JSON naming alice", out.String(), err)
		}
	}
	if err := InspectTo(&out, "not-a-token", nil, nil); err == nil {
		t.Error("inspect of garbage: no error")
	}
	other, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v2, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{other}})
	if err != nil {
		t.Fatal(err)
	}
	if err := InspectTo(&out, tok, nil, v2.Authenticate); err == nil {
		t.Error("inspect verified with the wrong key: no error")
	}
}

// TestWriteAPIKey: the entry WriteAPIKey prints, under "keys:", loads back
// and authenticates the key it shows.
func TestWriteAPIKey(t *testing.T) {
	key, entry, err := NewAPIKeyEntry("svc", []string{RolePublisher}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteAPIKey(&out, key, entry); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	_, y, ok := strings.Cut(s, "under \"keys:\":\n")
	if !ok || !strings.Contains(s, key) {
		t.Fatalf("output %q: want the key and its entry", s)
	}
	keys, err := ParseAPIKeys(strings.NewReader("keys:\n" + y))
	if err != nil {
		t.Fatalf("entry %q: %v", y, err)
	}
	v, err := NewVerifier(Config{APIKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(key)
	if err != nil || p.Subject != "apikey:svc" {
		t.Errorf("authenticate the shown key: %v, %v", p, err)
	}
	var ce *CredentialError
	if _, err := v.Authenticate(key + "x"); !errors.As(err, &ce) {
		t.Errorf("a wrong key: %v, want a *CredentialError", err)
	}
}
