package auth

import (
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CredentialError is a refused credential: Reason is (or wraps) one of the
// credential Err values (errors.go); Subject is the credential's subject
// when it is known (a genuine but expired token), for logs.
type CredentialError struct {
	Reason  error
	Subject string
	Detail  string // for logs: the library's words
}

func (e *CredentialError) Error() string { return e.Reason.Error() }
func (e *CredentialError) Unwrap() error { return e.Reason }

// Config configures a Verifier.
type Config struct {
	// PublicKeys verify tokens; more than one during a key rotation. A
	// token whose kid names one is checked against it alone.
	PublicKeys []ed25519.PublicKey
	// APIKeys are the services' keys (LoadAPIKeys).
	APIKeys []APIKey
	// Leeway tolerates clock skew on exp and iat. Default 30s; negative: none.
	Leeway time.Duration
	// Audience, if set, scopes tokens to this deployment: a token whose aud
	// does not list it (or that has none) is refused. Default: aud is not
	// checked.
	Audience string
	// MaxLifetime caps how long a token may live: one whose exp - iat (exp
	// - now without iat) is longer is refused, so a key holder's typo
	// cannot make a token valid for years. Default DefaultMaxLifetime;
	// negative: no cap.
	MaxLifetime time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultMaxLifetime is Config.MaxLifetime's default: a week, room for a
// long weekend's token; services use API keys.
const DefaultMaxLifetime = 7 * 24 * time.Hour

// Verifier turns credentials into Principals. It is safe for concurrent
// use and holds no secret: public keys and key hashes only.
type Verifier struct {
	keys    []ed25519.PublicKey
	kids    map[string]ed25519.PublicKey
	api     []apiEntry
	leeway  time.Duration
	aud     string        // "": not checked
	maxLife time.Duration // 0: no cap
	now     func() time.Time
	parser  *jwt.Parser
}

type apiEntry struct {
	hash [32]byte
	p    *Principal
}

// NewVerifier returns a Verifier for cfg. It needs at least one public key
// or API key: a verifier that accepts nothing is a configuration mistake.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.PublicKeys) == 0 && len(cfg.APIKeys) == 0 {
		return nil, errors.New("auth: no public key and no API key: nothing could ever authenticate")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	} else if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	} else if cfg.MaxLifetime < 0 {
		cfg.MaxLifetime = 0
	}
	v := &Verifier{kids: make(map[string]ed25519.PublicKey), leeway: cfg.Leeway, aud: cfg.Audience, maxLife: cfg.MaxLifetime, now: cfg.Now}
	for i, k := range cfg.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth: public key %d: %d bytes, want %d", i+1, len(k), ed25519.PublicKeySize)
		}
		v.keys = append(v.keys, k)
		v.kids[KeyID(k)] = k
	}
	for i, k := range cfg.APIKeys {
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("auth: api key %d (%q): %w", i+1, k.Name, err)
		}
		var e apiEntry
		b, _ := hex.DecodeString(strings.ToLower(k.SHA256))
		copy(e.hash[:], b)
		e.p = &Principal{Subject: "apikey:" + k.Name, Roles: k.Roles, Accounts: k.Accounts, Topics: k.Topics, Method: MethodAPIKey}
		v.api = append(v.api, e)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

// Authenticate returns the principal of credential, a token or an API key
// (APIKeyPrefix), or a *CredentialError.
func (v *Verifier) Authenticate(credential string) (*Principal, error) {
	switch {
	case credential == "":
		return nil, &CredentialError{Reason: ErrMissing}
	case strings.HasPrefix(credential, APIKeyPrefix):
		return v.apiKey(credential)
	}
	return v.token(credential)
}

// apiKey looks key up by its hash, comparing with every entry in constant
// time: how long it takes says nothing about which entries exist.
func (v *Verifier) apiKey(key string) (*Principal, error) {
	h, _ := hex.DecodeString(HashAPIKey(key))
	var found *Principal
	for i := range v.api {
		if subtle.ConstantTimeCompare(v.api[i].hash[:], h) == 1 {
			found = v.api[i].p
		}
	}
	if found == nil {
		return nil, &CredentialError{Reason: ErrBadAPIKey}
	}
	return found, nil
}

// token verifies a JWT: EdDSA only, signed by one of the keys, issuer
// tickwire, a subject, an expiry in the future.
func (v *Verifier) token(s string) (*Principal, error) {
	var c Claims
	if len(v.keys) == 0 {
		return nil, &CredentialError{Reason: ErrUnknownKey, Detail: "this server accepts API keys only"}
	}
	_, err := v.parser.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		if kid, ok := t.Header["kid"].(string); ok && kid != "" {
			k, ok := v.kids[kid]
			if !ok {
				return nil, errUnknownKid
			}
			return k, nil
		}
		keys := make([]jwt.VerificationKey, len(v.keys))
		for i, k := range v.keys {
			keys[i] = k
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	})
	if err != nil {
		ce := &CredentialError{Detail: err.Error()}
		switch {
		case errors.Is(err, errUnknownKid):
			ce.Reason = ErrUnknownKey
		case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable):
			ce.Reason = ErrMalformed
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			ce.Reason = ErrBadSignature
		case errors.Is(err, jwt.ErrTokenExpired):
			// The signature was checked first: the subject is genuine.
			ce.Reason, ce.Subject = ErrExpired, c.Subject
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			ce.Reason, ce.Subject = ErrNotYetValid, c.Subject
		default:
			ce.Reason, ce.Subject = ErrBadClaims, c.Subject
		}
		return nil, ce
	}
	if c.Subject == "" {
		return nil, &CredentialError{Reason: ErrBadClaims, Detail: "no subject"}
	}
	if err := validPatterns(c.Topics); err != nil {
		return nil, &CredentialError{Reason: ErrBadClaims, Subject: c.Subject, Detail: err.Error()}
	}
	// Checked here, not by the parser: its error for a missing aud is the
	// one for a missing exp.
	if v.aud != "" && !slices.Contains(c.Audience, v.aud) {
		return nil, &CredentialError{Reason: ErrAudience, Subject: c.Subject, Detail: fmt.Sprintf("aud %q, want %q", c.Audience, v.aud)}
	}
	if err := v.checkLifetime(&c); err != nil {
		return nil, err
	}
	return &Principal{
		Subject: c.Subject, Roles: c.Roles, Accounts: c.Accounts, Topics: c.Topics,
		Expires: c.ExpiresAt.Time.Add(v.leeway), Method: MethodToken,
	}, nil
}

var errUnknownKid = errors.New("unknown kid")

// checkLifetime refuses a token meant to live longer than Config.MaxLifetime:
// exp - iat, or exp - now for a token without iat.
func (v *Verifier) checkLifetime(c *Claims) error {
	if v.maxLife == 0 {
		return nil
	}
	from, what := v.now(), "now"
	if c.IssuedAt != nil {
		from, what = c.IssuedAt.Time, "iat"
	}
	if life := c.ExpiresAt.Sub(from); life > v.maxLife {
		return &CredentialError{Reason: fmt.Errorf("%w (%v)", ErrTooLong, v.maxLife), Subject: c.Subject,
			Detail: fmt.Sprintf("exp - %s = %v", what, life.Round(time.Second))}
	}
	return nil
}

// Inspection is what `tickwire token inspect` shows of a token, as JSON.
type Inspection struct {
	Claims   *Claims `json:"claims"`
	Expires  string  `json:"expires,omitempty"` // when verified: RFC 3339, UTC
	Verified bool    `json:"verified"`
}

// Inspect decodes a token's claims and, unless authenticate is nil,
// verifies it as a server would (Verifier.Authenticate): a token it
// refuses is an error saying why.
func Inspect(token string, authenticate func(string) (*Principal, error)) (Inspection, error) {
	c, err := UnverifiedClaims(token)
	if err != nil {
		return Inspection{}, err
	}
	in := Inspection{Claims: c}
	if authenticate == nil {
		return in, nil
	}
	p, err := authenticate(token)
	if err != nil {
		return Inspection{}, fmt.Errorf("a server with these keys refuses it: %w", err)
	}
	in.Verified, in.Expires = true, p.Expires.UTC().Format(time.RFC3339)
	return in, nil
}

// UnverifiedClaims decodes a token's claims WITHOUT checking anything: for
// showing a token to a human, never for deciding.
func UnverifiedClaims(token string) (*Claims, error) {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return nil, &CredentialError{Reason: ErrMalformed, Detail: err.Error()}
	}
	return &c, nil
}
