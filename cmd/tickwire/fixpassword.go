package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"tickwire/auth"
)

// tokenFixPassword is `tickwire token fixpassword`: a new random Logon
// password for a FIX counterparty, and the session settings that accept it
// (the gateway keeps only the password's SHA-256: docs/fix.md#identity).
func tokenFixPassword(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token fixpassword", flag.ContinueOnError)
	username := fs.String("username", "", "the Logon Username (553) the counterparty sends with it (optional)")
	setUsage(fs, "token-fixpassword")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if strings.ContainsFunc(*username, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return usageError{fmt.Errorf("--username %q: no spaces or control characters", *username)}
	}
	// The same random 256-bit secret as an API key: a fast hash is enough.
	password, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password (shown once; the gateway keeps only its hash):\n%s\n\nlines for the counterparty's [SESSION] in the gateway's settings file:\n", password)
	if *username != "" {
		fmt.Fprintf(stdout, "TickwireUsername=%s\n", *username)
	}
	fmt.Fprintf(stdout, "TickwirePasswordSHA256=%s\n", auth.HashAPIKey(password))
	return nil
}
