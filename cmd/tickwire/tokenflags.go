package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"tickwire/auth"
	"tickwire/feedserver"
)

// authFlags are a server's authentication options (docs/auth.md): public
// keys verifying tokens, and the API keys file (neither: open mode); the
// audience and longest lifetime its tokens must have.
type authFlags struct {
	pubkeys  string
	apiKeys  string
	audience string
	maxTTL   time.Duration
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.pubkeys, "auth-pubkey", "", "turn authentication on: verify tokens with these Ed25519 public keys (`FILES`, comma-separated PEM, e.g. auth.pub from 'tickwire token keygen'; several during a key rotation)")
	fs.StringVar(&a.apiKeys, "api-keys", "", "turn authentication on: accept the API keys listed in this YAML `FILE` (see 'tickwire token apikey')")
	fs.StringVar(&a.audience, "auth-audience", "", "accept only tokens minted for this deployment (`NAME` in their aud: 'tickwire token mint --audience')")
	fs.DurationVar(&a.maxTTL, "auth-max-ttl", auth.DefaultMaxLifetime, "refuse tokens meant to live longer than this (exp - iat; 0: no limit)")
}

// authenticator returns the configured verifier, or nil (open mode) when no
// flag is given.
func (a *authFlags) authenticator() (feedserver.Authenticator, error) {
	if a.audience != "" && a.pubkeys == "" {
		return nil, usageError{errors.New("--auth-audience is checked on tokens: it needs --auth-pubkey")}
	}
	if a.pubkeys == "" && a.apiKeys == "" {
		return nil, nil
	}
	if a.maxTTL < 0 {
		return nil, usageError{fmt.Errorf("--auth-max-ttl %v: out of range", a.maxTTL)}
	}
	cfg := auth.Config{Audience: a.audience, MaxLifetime: a.maxTTL}
	if a.maxTTL == 0 {
		cfg.MaxLifetime = -1 // the flag's 0 means no limit; the Config's 0 the default
	}
	var err error
	if cfg.PublicKeys, err = auth.LoadPublicKeys(splitList(a.pubkeys)); err != nil {
		return nil, fmt.Errorf("--auth-pubkey: %w", err)
	}
	if a.apiKeys != "" {
		keys, err := auth.LoadAPIKeys(a.apiKeys)
		if err != nil {
			return nil, fmt.Errorf("--api-keys: %w", err)
		}
		cfg.APIKeys = keys
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	return v, nil
}

// credFlags are a client command's credential: --token or --token-file.
type credFlags struct {
	token string
	file  string
}

func (c *credFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.token, "token", "", "credential presented to the server: a token from 'tickwire token mint' or an API key (visible in ps: prefer --token-file)")
	fs.StringVar(&c.file, "token-file", "", "read the credential from `FILE` (surrounding whitespace ignored)")
}

// credential returns the credential given, "" for none.
func (c *credFlags) credential() (string, error) {
	switch {
	case c.token != "" && c.file != "":
		return "", usageError{errors.New("--token and --token-file: give one")}
	case c.file != "":
		return readSecretFile("--token-file", c.file)
	}
	return strings.TrimSpace(c.token), nil
}

// readSecretFile reads the secret in file (a credential, a password) given
// by flag, without surrounding whitespace; an empty one is an error.
func readSecretFile(flag, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s: empty", flag, file)
	}
	return s, nil
}
