package fix

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"tickwire/tlsconf"
)

// TLS for the acceptor. quickfix reads the [DEFAULT] section's socket
// settings (SocketCertificateFile, SocketPrivateKeyFile, SocketCAFile,
// SocketUseSSL, SocketMinimumTLSVersion) and builds the listener's
// tls.Config; the gateway checks them first, so a bad file is a clear startup
// error rather than a listener that refuses everyone, and adds two things:
//
//   - SocketUseSSL=Y without certificate files takes the certificate from
//     Config.TLS (`tickwire server --tls-cert/--tls-key` or
//     --tls-self-signed): one certificate for the feed and the gateway;
//   - handshakes complete off quickfix's accept loop, each bounded by
//     tlsHandshakeTimeout (quickfix has no handshake timeout: a peer that
//     never finishes one would hold its goroutine for ever).
//
// As in quickfix, an acceptor with certificate files and without
// SocketUseSSL=Y requires client certificates (mutual TLS), verified against
// SocketCAFile. The gateway refuses the combinations where quickfix would
// quietly do less than the settings suggest: mutual TLS without SocketCAFile
// (any certificate from the system roots would pass), SocketCAFile with
// SocketUseSSL=Y (no client certificate is asked for, the CA checks
// nothing), and SocketCAFile without certificate files (plain TCP).

// tlsHandshakeTimeout bounds one TLS handshake on the acceptor.
const tlsHandshakeTimeout = 10 * time.Second

// tlsSettings are the socket settings that concern TLS.
var tlsSettings = []string{
	config.SocketCertificateFile, config.SocketPrivateKeyFile, config.SocketCAFile,
	config.SocketCertificateBytes, config.SocketPrivateKeyBytes, config.SocketCABytes,
	config.SocketUseSSL, config.SocketMinimumTLSVersion, config.SocketInsecureSkipVerify, config.SocketServerName,
}

// tlsMode is what the acceptor's listener speaks.
type tlsMode int

const (
	tlsOff    tlsMode = iota // plain TCP
	tlsServer                // TLS, no client certificate
	tlsMutual                // TLS, a client certificate verified against SocketCAFile
)

// acceptorTLS checks the TLS settings of s. It reports what the acceptor
// speaks and returns the tls.Config to set on it when the gateway, not
// quickfix, provides it (SocketUseSSL=Y without files: fallback).
func acceptorTLS(s *quickfix.Settings, fallback *tls.Config) (mode tlsMode, explicit *tls.Config, err error) {
	g := s.GlobalSettings()
	// quickfix reads an acceptor's TLS settings from [DEFAULT] only (one
	// listener): in a [SESSION] they would be ignored, and the session plain.
	// (SessionSettings overlays [DEFAULT]: a key there and not in
	// [DEFAULT] was set in the session.)
	for id, ss := range s.SessionSettings() {
		for _, k := range tlsSettings {
			if ss.HasSetting(k) && !g.HasSetting(k) {
				return tlsOff, nil, fmt.Errorf("fix: session %v: %s must be in [DEFAULT]: the acceptor's TLS applies to its listener, not to one session", id, k)
			}
		}
	}
	str := func(k string) string { v, _ := g.Setting(k); return v }
	useSSL := false
	if g.HasSetting(config.SocketUseSSL) {
		if useSSL, err = g.BoolSetting(config.SocketUseSSL); err != nil {
			return tlsOff, nil, fmt.Errorf("fix: SocketUseSSL: %w", err)
		}
	}
	switch v := str(config.SocketMinimumTLSVersion); v {
	case "", "TLS12":
	case "SSL30", "TLS10", "TLS11":
		return tlsOff, nil, fmt.Errorf("fix: SocketMinimumTLSVersion=%s: tickwire requires TLS 1.2 or later (TLS12)", v)
	default:
		return tlsOff, nil, fmt.Errorf("fix: SocketMinimumTLSVersion=%q: want TLS12", v)
	}
	if g.HasSetting(config.SocketCertificateBytes) || g.HasSetting(config.SocketPrivateKeyBytes) || g.HasSetting(config.SocketCABytes) {
		return tlsOff, nil, errors.New("fix: Socket*Bytes settings are not supported: name PEM files with SocketCertificateFile, SocketPrivateKeyFile, SocketCAFile")
	}
	certFile, keyFile, caFile := str(config.SocketCertificateFile), str(config.SocketPrivateKeyFile), str(config.SocketCAFile)
	if caFile != "" {
		if _, err := tlsconf.LoadPool(caFile); err != nil {
			return tlsOff, nil, fmt.Errorf("fix: SocketCAFile: %w", err)
		}
	}
	if caFile != "" && useSSL {
		return tlsOff, nil, errors.New("fix: SocketCAFile with SocketUseSSL=Y: the acceptor asks no client certificate when SocketUseSSL=Y, so the CA would check nothing. " +
			"For mutual TLS remove SocketUseSSL=Y (certificate files without it require client certificates verified against SocketCAFile); otherwise remove SocketCAFile")
	}
	switch {
	case certFile != "" || keyFile != "":
		if certFile == "" || keyFile == "" {
			return tlsOff, nil, errors.New("fix: SocketCertificateFile and SocketPrivateKeyFile go together")
		}
		if _, err := tlsconf.LoadKeyPair(certFile, keyFile, time.Now()); err != nil {
			return tlsOff, nil, fmt.Errorf("fix: %w", err)
		}
		if useSSL {
			return tlsServer, nil, nil // quickfix builds the config from the same files
		}
		if caFile == "" {
			return tlsOff, nil, errors.New("fix: certificate files without SocketUseSSL=Y mean mutual TLS, but SocketCAFile is not set: " +
				"every client certificate from the system's public CAs would be accepted. Name the CA that issues your counterparties' certificates in SocketCAFile " +
				"(or set SocketUseSSL=Y for TLS without client certificates)")
		}
		return tlsMutual, nil, nil // quickfix: RequireAndVerifyClientCert against SocketCAFile
	case caFile != "":
		return tlsOff, nil, errors.New("fix: SocketCAFile without SocketCertificateFile/SocketPrivateKeyFile: the acceptor would be plain TCP. " +
			"Mutual TLS needs the gateway's own certificate files")
	case useSSL:
		if fallback == nil || len(fallback.Certificates) == 0 && fallback.GetCertificate == nil {
			return tlsOff, nil, errors.New("fix: SocketUseSSL=Y but no SocketCertificateFile/SocketPrivateKeyFile: name them, or start the server with --tls-cert/--tls-key or --tls-self-signed to use its certificate")
		}
		cfg := fallback.Clone()
		if cfg.MinVersion < tlsconf.MinVersion {
			cfg.MinVersion = tlsconf.MinVersion
		}
		return tlsServer, cfg, nil
	}
	return tlsOff, nil, nil
}

// listener returns the acceptor's NewListenerCallback: a TCP listener
// admitting connections within the pre-Logon budget (prelogon.go), with
// TLS handshakes completed (and timed out) off the accept loop when
// tlsConfig is set, and each connection wrapped by acceptorListener (conn.go):
// checked reads of messages of at most maxMessage bytes, the first within
// firstMessage (framing.go), buffered writes that fail the connection after
// writeTimeout without progress (sessionOf names its session in the log),
// and what the logon validator needs (peerConn, identity.go: at most
// maxLogon bytes before the Logon). bind makes the TCP listener beneath:
// net.Listen, or a warm acceptor's gate (gate.go).
func listener(log *slog.Logger, budget *preLogonBudget, maxMessage int, firstMessage time.Duration, maxLogon int,
	writeTimeout time.Duration, durable func(time.Duration) error, sessionOf func(net.Addr) string,
	bind func(address string) (net.Listener, error)) quickfix.NewListenerCallback {
	return func(address string, tlsConfig *tls.Config) (net.Listener, error) {
		tcp, err := bind(address)
		if err != nil {
			return nil, err
		}
		var ln net.Listener = preLogonListener{Listener: tcp, budget: budget}
		if tlsConfig != nil {
			ln = tlsconf.NewHandshakeListener(ln, tlsConfig, tlsHandshakeTimeout, func(remote net.Addr, err error) {
				log.Warn("fix tls handshake failed", "remote", remote.String(), "err", err)
			})
		}
		return acceptorListener{Listener: ln, maxMessage: maxMessage, firstMessage: firstMessage, maxLogon: maxLogon,
			writeTimeout: writeTimeout, durable: durable, sessionOf: sessionOf, log: log}, nil
	}
}
