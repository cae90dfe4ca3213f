package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"tickwire/feedserver"
)

// webFlags are a server's browser boundaries (docs/auth.md, "Browsers"):
// the web origins allowed besides its own, the names it answers to in open
// mode, and the explicit consent to run the FIX gateway without
// authentication.
type webFlags struct {
	origins      string
	hosts        string
	insecureOpen bool
}

func (w *webFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.origins, "allow-origin", "", "web origins (`ORIGINS`, comma-separated, e.g. https://dash.example.com) whose pages may connect besides the server's own; requests with another Origin are refused")
	fs.StringVar(&w.hosts, "allow-host", "", "without authentication, host `NAMES` (comma-separated) the server answers to besides IP addresses, localhost and --listen's name (DNS rebinding)")
	fs.BoolVar(&w.insecureOpen, "insecure-open", false, "allow --fix-config without --auth-pubkey/--api-keys: anyone who reaches the server can then place real orders for any account")
}

// apply checks the flags and puts them in cfg; listen is --listen, whose
// host, if a name, is allowed too.
func (w *webFlags) apply(cfg *feedserver.Config, listen string) error {
	for _, o := range splitList(w.origins) {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return usageError{fmt.Errorf("--allow-origin %q: want an origin, SCHEME://HOST[:PORT]", o)}
		}
		cfg.AllowedOrigins = append(cfg.AllowedOrigins, strings.TrimSuffix(o, "/"))
	}
	for _, h := range splitList(w.hosts) {
		if strings.ContainsAny(h, ":/[]") {
			return usageError{fmt.Errorf("--allow-host %q: want a host name, without scheme or port", h)}
		}
		cfg.AllowedHosts = append(cfg.AllowedHosts, h)
	}
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			cfg.AllowedHosts = append(cfg.AllowedHosts, host)
		}
	}
	return nil
}

// checkOpenFIX refuses the FIX gateway without authentication unless
// --insecure-open says so, and then logs the risk.
func (w *webFlags) checkOpenFIX(fixConfig string, authn feedserver.Authenticator, warn func(msg string, args ...any)) error {
	if fixConfig == "" || authn != nil {
		return nil
	}
	if !w.insecureOpen {
		return usageError{errors.New("--fix-config without --auth-pubkey or --api-keys: every client would be an anonymous admin, so anyone who reaches the server (or a web page in a browser beside it) could place real orders for any account; turn authentication on (docs/auth.md), or pass --insecure-open to accept that")}
	}
	warn("--insecure-open: authentication is off and the FIX gateway is on: anyone who can reach this server places real orders for any account, as an anonymous admin")
	return nil
}
