// Package tlsconf builds tickwire's TLS configurations: a server's from a
// certificate and key file (with errors that name the file at fault), a
// client's trusting one CA or certificate file (or the system roots), and a
// development self-signed certificate for loopback (selfsigned.go), loaded
// into a feed server's Server or a one-run Dev pair (server.go). It also
// has a listener that completes TLS handshakes off the accept loop, each
// bounded by a timeout (listener.go), for servers that have no handshake
// timeout of their own (the FIX acceptor).
//
// Everything here is standard library crypto/tls and crypto/x509; TLS 1.2 is
// the minimum version everywhere. Nothing in this package runs per message:
// it is used once, at startup.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

// MinVersion is the lowest TLS version tickwire speaks, server and client.
const MinVersion = tls.VersionTLS12

// LoadKeyPair reads a PEM certificate (chain) and its PEM private key. The
// error names the file at fault: missing or unreadable, not PEM, a key that
// does not belong to the certificate, or a certificate outside its validity
// period at now.
func LoadKeyPair(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("tls certificate %s: no PEM CERTIFICATE block in it", certFile)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	if !hasPEMBlock(keyPEM, "") {
		return tls.Certificate{}, fmt.Errorf("tls key %s: no PEM block in it", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The common causes get their own words; the library's text follows.
		if strings.Contains(err.Error(), "does not match") {
			return tls.Certificate{}, fmt.Errorf("tls key %s does not match certificate %s: %w", keyFile, certFile, err)
		}
		return tls.Certificate{}, fmt.Errorf("tls certificate %s / key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf // set by X509KeyPair since Go 1.23
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("tls certificate %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	switch {
	case now.After(leaf.NotAfter):
		return tls.Certificate{}, fmt.Errorf("tls certificate %s expired at %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return tls.Certificate{}, fmt.Errorf("tls certificate %s is not valid before %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

// hasPEMBlock reports whether data holds a PEM block of type typ (any type
// when typ is "").
func hasPEMBlock(data []byte, typ string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if typ == "" || b.Type == typ {
			return true
		}
	}
}

// ServerConfig is a server's TLS configuration presenting cert.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{cert}}
}

// LoadServer is LoadKeyPair (at the current time) then ServerConfig.
func LoadServer(certFile, keyFile string) (*tls.Config, error) {
	cert, err := LoadKeyPair(certFile, keyFile, time.Now())
	if err != nil {
		return nil, err
	}
	return ServerConfig(cert), nil
}

// LoadPool reads the PEM certificates of caFile into a new pool: the CAs (or
// self-signed certificates) to trust.
func LoadPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls CA %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// ClientConfig is a client's TLS configuration: it trusts only the
// certificates of caFile (a CA, or a server's self-signed certificate), or
// the system roots when caFile is "". Server names are verified as usual
// (the URL's host against the certificate's DNS and IP names); there is
// deliberately no way to skip that.
func ClientConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: MinVersion}
	if caFile == "" {
		return cfg, nil
	}
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	return cfg, nil
}
