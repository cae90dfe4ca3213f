package auth

import "crypto/ed25519"

// Ephemeral is an authentication whose key pair lives in memory only and is
// gone with the process: for a program that runs its own server and its own
// clients (the demo, the soak test).
type Ephemeral struct {
	Verifier *Verifier // accepts the tokens of Mint
	priv     ed25519.PrivateKey
}

// NewEphemeral makes a new key pair and its verifier.
func NewEphemeral() (*Ephemeral, error) {
	pub, priv, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	v, err := NewVerifier(Config{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		return nil, err
	}
	return &Ephemeral{Verifier: v, priv: priv}, nil
}

// Mint returns a token signed with the key pair (Mint).
func (e *Ephemeral) Mint(opt MintOptions) (string, error) { return Mint(e.priv, opt) }
