package main

import (
	"crypto/tls"
	"flag"
)

// connFlags are the options of a command that connects to a feed server as
// a client (trader, replay, record): its credential (--token, --token-file)
// and the certificates it trusts (--ca).
type connFlags struct {
	cred credFlags
	ca   caFlag
}

func (c *connFlags) register(fs *flag.FlagSet) {
	c.cred.register(fs)
	c.ca.register(fs)
}

// resolve returns the credential ("" for none) and the TLS configuration
// (nil: the defaults, system roots).
func (c *connFlags) resolve() (token string, conf *tls.Config, err error) {
	if token, err = c.cred.credential(); err != nil {
		return "", nil, err
	}
	if conf, err = c.ca.config(); err != nil {
		return "", nil, err
	}
	return token, conf, nil
}
