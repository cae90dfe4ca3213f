package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tickwire/auth"
)

const tokenUsage = `Usage: tickwire token <command> [flags]

Credentials for servers run with --auth-pubkey / --api-keys (docs/auth.md):

  keygen   --dir DIR: write a new Ed25519 key pair, auth.key (private, 0600) and auth.pub
  mint     --key auth.key --sub NAME [--roles r1,r2] [--accounts A,B] [--topics 'EUR*,...'] [--ttl 8h]
           [--audience NAME]: print a signed token
  inspect  [--pub auth.pub[,...]] TOKEN|-: verify a token (with --pub) and print its claims
  apikey   --name NAME [--roles ...] [--accounts ...] [--topics ...]: print a new API key and
           the entry to paste under "keys:" in the server's --api-keys file
  fixpassword [--username NAME]: print a new FIX Logon password and the lines for the
           counterparty's [SESSION] in the gateway's settings file (docs/fix.md)

Roles: admin, trader, desk, publisher. Run 'tickwire token <command> --help' for its flags.
`

// runToken is `tickwire token`: key pairs, tokens and API keys.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return usageError{errors.New("no token command given")}
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, tokenUsage)
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
	fmt.Fprint(stderr, tokenUsage)
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
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire token keygen --dir DIR\n\nWrites a new Ed25519 key pair: DIR/auth.key (PKCS#8 PEM, mode 0600: it mints any token;\nkeep it off servers) and DIR/auth.pub (PKIX PEM: give it to servers with --auth-pubkey).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{errors.New("--dir is required")}
	}
	priv, pub, err := auth.WriteKeyPair(*dir)
	if err != nil {
		return err
	}
	k, err := auth.LoadPublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key %s (keep it secret)\npublic key  %s (kid %s)\n", priv, pub, auth.KeyID(k))
	return nil
}

func tokenMint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	key := fs.String("key", "", "the private key `FILE` (auth.key from keygen)")
	sub := fs.String("sub", "", "the subject: who the token is for (`NAME`)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid (servers refuse more than their --auth-max-ttl, default a week)")
	aud := fs.String("audience", "", "comma-separated deployments the token is for (`NAMES`, its aud): a server with --auth-audience accepts it only if listed")
	var ef entitlementFlags
	ef.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire token mint --key auth.key --sub NAME [flags]\n\nPrints a token signed with the key. Servers accept it until it expires (a session\nends then, Error 2010).\n\nFlags:\n")
		fs.PrintDefaults()
	}
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
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire token inspect [--pub auth.pub] TOKEN|-\n\nPrints a token's claims as JSON (- reads the token from stdin). With --pub it verifies\nthe token as a server would and exits 1 if a server would refuse it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := parseFlagsAndArgs(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("give one TOKEN (or - to read it from stdin)")}
	}
	tok := rest[0]
	if tok == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	var verify func(string) (*auth.Principal, error) // nil: unverified
	if *pubs != "" {
		af := authFlags{pubkeys: *pubs}
		v, err := af.authenticator()
		if err != nil {
			return err
		}
		verify = v.Authenticate
	}
	out, err := auth.Inspect(tok, verify)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func tokenAPIKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token apikey", flag.ContinueOnError)
	name := fs.String("name", "", "the key's `NAME`: the principal is apikey:NAME")
	var ef entitlementFlags
	ef.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire token apikey --name NAME [flags]\n\nPrints a new random API key (give it to the service: --token-file) and the entry for the\nserver's --api-keys file, which holds only the key's SHA-256.\n\nFlags:\n")
		fs.PrintDefaults()
	}
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
	y, err := entry.YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "api key (shown once; the server keeps only its hash):\n%s\n\nentry for the --api-keys file, under \"keys:\":\n%s", key, y)
	return nil
}
