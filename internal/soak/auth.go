package soak

import (
	"fmt"
	"time"

	"tickwire/auth"
)

// WithAuth turns the server's authentication on with a key pair that lives
// in memory only, and sets Token to one entitling every client to the
// soak's accounts (their topics are orders.soakN), valid for the run's
// Timeout and an hour more.
func (o *Options) WithAuth() error {
	da, err := auth.NewEphemeral()
	if err != nil {
		return err
	}
	accounts := make([]string, max(o.Topics, 2))
	for i := range accounts {
		accounts[i] = fmt.Sprintf("soak%d", i)
	}
	if o.Token, err = da.Mint(auth.MintOptions{Subject: "soak", Roles: []string{auth.RoleTrader}, Accounts: accounts, TTL: o.Timeout + time.Hour}); err != nil {
		return err
	}
	o.Authenticator = da.Verifier
	return nil
}
