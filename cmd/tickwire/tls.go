package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"

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

// load checks the flags and loads the certificate. Conflicting flags are a
// usage error (exit 2); files that cannot be used an error naming the file
// (exit 1).
func (f *serverTLSFlags) load(log *slog.Logger) (tlsconf.Server, error) {
	switch {
	case f.selfSigned != "" && (f.cert != "" || f.key != ""):
		return tlsconf.Server{}, usageError{fmt.Errorf("--tls-self-signed and --tls-cert/--tls-key: choose one")}
	case (f.cert == "") != (f.key == ""):
		return tlsconf.Server{}, usageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	case f.selfSigned != "":
		return tlsconf.LoadSelfSigned(f.selfSigned, log)
	case f.cert != "":
		return tlsconf.LoadServerFiles(f.cert, f.key, log)
	}
	return tlsconf.Server{}, nil
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

// demoTLSFlag is `tickwire demo`'s --tls: development TLS for the run.
type demoTLSFlag struct{ on bool }

func (d *demoTLSFlag) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "tls", true, "run everything over TLS with a self-signed development certificate (wss://, FIX over TLS); false: plain ws:// and FIX")
}

// setup makes the certificate (when on; else a plain Dev) and returns a
// function removing it.
func (d *demoTLSFlag) setup(log *slog.Logger) (*tlsconf.Dev, func(), error) {
	if !d.on {
		return &tlsconf.Dev{}, func() {}, nil
	}
	dev, err := tlsconf.NewDev("tickwire-demo-tls-", log)
	if err != nil {
		return nil, nil, err
	}
	return dev, func() { _ = dev.Close() }, nil
}
