package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tickwire/auth"
)

// runToken is `tickwire token`: key pairs, tokens and API keys.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText("token"))
		return usageError{errors.New("no token command given")}
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, helpText("token"))
		return nil
	case "keygen":
		return tokenKeygen(args[1:], stdout, stderr)
	case "mint":
		return tokenMint(args[1:], stdout, stderr)
	case "inspect":
		return tokenInspect(args[1:], stdout, stderr)
	case "apikey":
		return tokenAPIKey(args[1:], stdout, stderr)
	case "fixpassword":
		return tokenFixPassword(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, helpText("token"))
	return usageError{fmt.Errorf("unknown token command %q", args[0])}
}

// entitlementFlags are the roles, accounts and topics of a new credential.
type entitlementFlags struct {
	roles, accounts, topics string
}

func (e *entitlementFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.roles, "roles", "", "comma-separated roles: admin, trader, desk, publisher")
	fs.StringVar(&e.accounts, "accounts", "", "comma-separated accounts whose orders are the holder's (`LIST`)")
	fs.StringVar(&e.topics, "topics", "", "comma-separated path.Match `PATTERNS` of the market-data topics allowed (empty: all)")
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func tokenKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token keygen", flag.ContinueOnError)
	dir := fs.String("dir", "", "write auth.key and auth.pub into `DIR` (created if missing; existing keys are never overwritten)")
	setUsage(fs, "token-keygen")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{errors.New("--dir is required")}
	}
	return auth.Keygen(*dir, stdout)
}

func tokenMint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	key := fs.String("key", "", "the private key `FILE` (auth.key from keygen)")
	sub := fs.String("sub", "", "the subject: who the token is for (`NAME`)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid (servers refuse more than their --auth-max-ttl, default a week)")
	aud := fs.String("audience", "", "comma-separated deployments the token is for (`NAMES`, its aud): a server with --auth-audience accepts it only if listed")
	var ef entitlementFlags
	ef.register(fs)
	setUsage(fs, "token-mint")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	switch {
	case *key == "":
		return usageError{errors.New("--key is required")}
	case *sub == "":
		return usageError{errors.New("--sub is required")}
	case *ttl <= 0:
		return usageError{fmt.Errorf("--ttl %v: must be > 0", *ttl)}
	}
	priv, err := auth.LoadPrivateKey(*key)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(priv, auth.MintOptions{Subject: *sub, Roles: splitList(ef.roles), Accounts: splitList(ef.accounts),
		Topics: splitList(ef.topics), Audience: splitList(*aud), TTL: *ttl})
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func tokenInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token inspect", flag.ContinueOnError)
	pubs := fs.String("pub", "", "verify with these public key `FILES` (comma-separated); without, the claims are shown UNVERIFIED")
	setUsage(fs, "token-inspect")
	rest, err := parseFlagsAndArgs(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("give one TOKEN (or - to read it from stdin)")}
	}
	var verify func(string) (*auth.Principal, error) // nil: unverified
	if *pubs != "" {
		af := authFlags{pubkeys: *pubs}
		v, err := af.authenticator()
		if err != nil {
			return err
		}
		verify = v.Authenticate
	}
	return auth.InspectTo(stdout, rest[0], os.Stdin, verify)
}

func tokenAPIKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token apikey", flag.ContinueOnError)
	name := fs.String("name", "", "the key's `NAME`: the principal is apikey:NAME")
	var ef entitlementFlags
	ef.register(fs)
	setUsage(fs, "token-apikey")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *name == "" {
		return usageError{errors.New("--name is required")}
	}
	key, entry, err := auth.NewAPIKeyEntry(*name, splitList(ef.roles), splitList(ef.accounts), splitList(ef.topics))
	if err != nil {
		return usageError{err}
	}
	return auth.WriteAPIKey(stdout, key, entry)
}
