package auth

import "errors"

// Why a credential is refused. The text of each is the reason a client is
// given (with Error 2009): it says what is wrong with the credential and
// nothing about the server's topics or other principals. Test with
// errors.Is.
var (
	ErrMissing      = errors.New("no credential: present a token or an API key")
	ErrMalformed    = errors.New("malformed token")
	ErrBadSignature = errors.New("bad token signature")
	ErrUnknownKey   = errors.New("token signed by an unknown key")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not valid yet")
	ErrBadClaims    = errors.New("invalid token claims")
	ErrAudience     = errors.New("token not meant for this server (audience)")
	ErrTooLong      = errors.New("token lifetime over this server's maximum")
	ErrBadAPIKey    = errors.New("unknown API key")
)

// ErrNotEntitled is the cause of every entitlement refusal. Its text is the
// whole reason a client is given for a refused subscription or publish,
// the same whether or not the topic exists.
var ErrNotEntitled = errors.New("not entitled")
