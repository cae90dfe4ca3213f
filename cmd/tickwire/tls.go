package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"tickwire/tlsconf"
)

// serverTLSFlags are the TLS options of `tickwire server` (docs/tls.md).
type serverTLSFlags struct {
	cert, key  string
	selfSigned string
}

func (f *serverTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "serve TLS only (wss://, https://) with this PEM certificate `FILE` (with --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key `FILE` of --tls-cert")
	fs.StringVar(&f.selfSigned, "tls-self-signed", "", "development TLS: a self-signed certificate for 127.0.0.1/localhost kept in `DIR` (cert.pem, key.pem; made or renewed at start); clients trust DIR/cert.pem with --ca")
}

// serverTLS is the server's TLS once loaded.
type serverTLS struct {
	config *tls.Config // nil: plain
	trust  string      // self-signed mode: the certificate clients must trust
}

// load checks the flags and loads the certificate. Conflicting flags are a
// usage error (exit 2); files that cannot be used an error naming the file
// (exit 1).
func (f *serverTLSFlags) load(log *slog.Logger) (serverTLS, error) {
	switch {
	case f.selfSigned != "" && (f.cert != "" || f.key != ""):
		return serverTLS{}, usageError{fmt.Errorf("--tls-self-signed and --tls-cert/--tls-key: choose one")}
	case (f.cert == "") != (f.key == ""):
		return serverTLS{}, usageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	case f.selfSigned != "":
		ss, err := tlsconf.EnsureSelfSigned(f.selfSigned, time.Now())
		if err != nil {
			return serverTLS{}, err
		}
		cfg, err := tlsconf.LoadServer(ss.CertFile, ss.KeyFile)
		if err != nil {
			return serverTLS{}, err
		}
		log.Info("tls: development self-signed certificate", "cert", ss.CertFile, "created", ss.Created,
			"expires", ss.NotAfter.UTC().Format(time.RFC3339), "trust", "clients: --ca "+ss.CertFile)
		return serverTLS{config: cfg, trust: ss.CertFile}, nil
	case f.cert != "":
		cfg, err := tlsconf.LoadServer(f.cert, f.key)
		if err != nil {
			return serverTLS{}, err
		}
		leaf := cfg.Certificates[0].Leaf
		log.Info("tls: certificate", "cert", f.cert, "subject", leaf.Subject.String(), "dns", leaf.DNSNames, "ips", leaf.IPAddresses,
			"expires", leaf.NotAfter.UTC().Format(time.RFC3339))
		return serverTLS{config: cfg}, nil
	}
	return serverTLS{}, nil
}

// listener wraps ln in TLS when it is on. net/http completes the handshake
// itself, bounded by the server's ReadHeaderTimeout, and answers a plain
// HTTP request with 400.
func (s serverTLS) listener(ln net.Listener) net.Listener {
	if s.config == nil {
		return ln
	}
	return tls.NewListener(ln, s.config)
}

// wsScheme is "wss" with TLS, "ws" without.
func (s serverTLS) wsScheme() string {
	if s.config != nil {
		return "wss"
	}
	return "ws"
}

// caFlag is the --ca option of the commands that connect to a server.
type caFlag struct{ file string }

func (c *caFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "ca", "", "trust the server certificate(s) in this PEM `FILE` (a CA, or a --tls-self-signed server's cert.pem) for wss:// and https:// (default: the system roots)")
}

// config is the client TLS configuration (nil: the defaults, system roots).
func (c *caFlag) config() (*tls.Config, error) {
	if c.file == "" {
		return nil, nil
	}
	cfg, err := tlsconf.ClientConfig(c.file)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	return cfg, nil
}

// fixTLSNote is " (TLS)" for a gateway that speaks TLS, for the startup line.
func fixTLSNote(gw interface{ TLS() bool }) string {
	if gw.TLS() {
		return " (TLS)"
	}
	return ""
}

// demoTLS is `tickwire demo`'s development TLS: a self-signed certificate in
// a temporary directory, the server's config, and the clients' trusting it.
type demoTLS struct {
	on     bool
	server serverTLS
	client *tls.Config // trusts server.trust
}

func (d *demoTLS) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "tls", true, "run everything over TLS with a self-signed development certificate (wss://, FIX over TLS); false: plain ws:// and FIX")
}

// setup makes the certificate (when on) in a new temporary directory and
// returns a function removing it.
func (d *demoTLS) setup(log *slog.Logger) (cleanup func(), err error) {
	if !d.on {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "tickwire-demo-tls-")
	if err != nil {
		return nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	f := serverTLSFlags{selfSigned: dir}
	if d.server, err = f.load(log); err != nil {
		cleanup()
		return nil, err
	}
	if d.client, err = tlsconf.ClientConfig(d.server.trust); err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

// fixSettings is the [DEFAULT] line of the demo gateway's settings asking for
// TLS with the server's certificate (fix.Config.TLS).
func (d *demoTLS) fixSettings() string {
	if d.server.config == nil {
		return ""
	}
	return "SocketUseSSL=Y\n"
}
