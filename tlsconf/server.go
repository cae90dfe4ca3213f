package tlsconf

import (
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"time"
)

// Server is a feed server's TLS once loaded (docs/tls.md).
type Server struct {
	Config *tls.Config // nil: plain
	Trust  string      // self-signed mode: the certificate file clients trust (--ca)
}

// LoadServerFiles loads the certificate and key files and logs what the
// certificate covers.
func LoadServerFiles(certFile, keyFile string, log *slog.Logger) (Server, error) {
	cfg, err := LoadServer(certFile, keyFile)
	if err != nil {
		return Server{}, err
	}
	leaf := cfg.Certificates[0].Leaf
	log.Info("tls: certificate", "cert", certFile, "subject", leaf.Subject.String(), "dns", leaf.DNSNames, "ips", leaf.IPAddresses,
		"expires", leaf.NotAfter.UTC().Format(time.RFC3339))
	return Server{Config: cfg}, nil
}

// LoadSelfSigned makes or reuses the development certificate in dir
// (EnsureSelfSigned), loads it and logs how clients trust it.
func LoadSelfSigned(dir string, log *slog.Logger) (Server, error) {
	ss, err := EnsureSelfSigned(dir, time.Now())
	if err != nil {
		return Server{}, err
	}
	cfg, err := LoadServer(ss.CertFile, ss.KeyFile)
	if err != nil {
		return Server{}, err
	}
	log.Info("tls: development self-signed certificate", "cert", ss.CertFile, "created", ss.Created,
		"expires", ss.NotAfter.UTC().Format(time.RFC3339), "trust", "clients: --ca "+ss.CertFile)
	return Server{Config: cfg, Trust: ss.CertFile}, nil
}

// Listener wraps ln in TLS when it is on. net/http completes the handshake
// itself, bounded by the server's ReadHeaderTimeout, and answers a plain
// HTTP request with 400.
func (s Server) Listener(ln net.Listener) net.Listener {
	if s.Config == nil {
		return ln
	}
	return tls.NewListener(ln, s.Config)
}

// WSScheme is "wss" with TLS, "ws" without.
func (s Server) WSScheme() string {
	if s.Config != nil {
		return "wss"
	}
	return "ws"
}

// Dev is development TLS for one run of a program that serves and connects
// to itself (the demo): a self-signed certificate in a new temporary
// directory, the server's configuration, and a client's trusting it.
type Dev struct {
	Server Server
	Client *tls.Config // trusts Server.Trust
	Dir    string      // the certificate's directory, removed by Close
}

// NewDev makes the certificate in a new temporary directory named after
// pattern (os.MkdirTemp). Close removes it.
func NewDev(pattern string, log *slog.Logger) (*Dev, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return nil, err
	}
	d := &Dev{Dir: dir}
	if d.Server, err = LoadSelfSigned(dir, log); err == nil {
		d.Client, err = ClientConfig(d.Server.Trust)
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// Close removes the certificate's directory.
func (d *Dev) Close() error { return os.RemoveAll(d.Dir) }
