package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"tickwire/internal/secfile"
)

// Development self-signed certificates: for loopback only, short-lived, and
// trusted by naming the certificate file itself as the CA (--ca).
const (
	// SelfSignedValidity is how long a generated certificate is valid.
	SelfSignedValidity = 7 * 24 * time.Hour
	// SelfSignedRenewBefore: a certificate expiring sooner than this is
	// replaced at start, so a dev server started today keeps working today.
	SelfSignedRenewBefore = 24 * time.Hour

	// CertFileName and KeyFileName are the files in the self-signed directory.
	CertFileName = "cert.pem"
	KeyFileName  = "key.pem"
)

// selfSignedDNS and loopbackIPs are the names a development certificate is
// valid for.
const selfSignedDNS = "localhost"

func loopbackIPs() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} }

// SelfSigned is a development certificate in a directory.
type SelfSigned struct {
	CertFile string // PEM certificate: the file clients trust (--ca)
	KeyFile  string // PEM private key (mode 0600)
	Created  bool   // generated now rather than reused
	NotAfter time.Time
}

// EnsureSelfSigned makes sure dir holds a development certificate for
// 127.0.0.1, ::1 and localhost (ECDSA P-256, valid SelfSignedValidity) and
// returns it: the one already there if it is valid at now for at least
// SelfSignedRenewBefore more, its key matches and it covers those names;
// otherwise a new one, replacing the files. dir is created (0700) if needed.
//
// Clients trust whatever certificate is there, so a directory others may
// write to, a key others may read or write, a certificate others may write,
// or any of them owned by another user is refused (secfile), with the fix.
func EnsureSelfSigned(dir string, now time.Time) (SelfSigned, error) {
	ss := SelfSigned{CertFile: filepath.Join(dir, CertFileName), KeyFile: filepath.Join(dir, KeyFileName)}
	if err := secfile.MkdirAll(dir, secfile.Dir); err != nil {
		return ss, fmt.Errorf("tls self-signed: %w, or use another directory", err)
	}
	for _, f := range []struct {
		path string
		kind secfile.Kind
	}{{ss.KeyFile, secfile.Private}, {ss.CertFile, secfile.Public}} {
		if err := secfile.CheckPath(f.path, f.kind); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ss, fmt.Errorf("tls self-signed: %w, or remove it to make a new certificate", err)
		}
	}
	if cert, err := LoadKeyPair(ss.CertFile, ss.KeyFile, now); err == nil && reusable(cert.Leaf, now) {
		ss.NotAfter = cert.Leaf.NotAfter
		return ss, nil
	}
	notAfter, err := writeSelfSigned(ss.CertFile, ss.KeyFile, now.Add(-time.Minute), now.Add(SelfSignedValidity))
	if err != nil {
		return ss, err
	}
	ss.Created, ss.NotAfter = true, notAfter
	return ss, nil
}

// reusable reports whether leaf is a development certificate worth keeping.
func reusable(leaf *x509.Certificate, now time.Time) bool {
	if leaf.NotAfter.Sub(now) < SelfSignedRenewBefore || !slices.Contains(leaf.DNSNames, selfSignedDNS) {
		return false
	}
	for _, ip := range loopbackIPs() {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// writeSelfSigned generates a key and a self-signed certificate valid from
// notBefore to notAfter and writes them, each atomically (temporary file,
// then rename). Tests use it for expired certificates.
func writeSelfSigned(certFile, keyFile string, notBefore, notAfter time.Time) (time.Time, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return time.Time{}, fmt.Errorf("tls self-signed: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return time.Time{}, fmt.Errorf("tls self-signed: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"tickwire development"}, CommonName: "tickwire self-signed (loopback)"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, // client auth: mutual-TLS tests
		DNSNames:     []string{selfSignedDNS},
		IPAddresses:  loopbackIPs(),
		// Not a CA: clients trust this very certificate, which Go (and
		// OpenSSL with a self-signed leaf as the trust anchor) accepts.
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("tls self-signed: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return time.Time{}, fmt.Errorf("tls self-signed: key: %w", err)
	}
	// Key first: a crash in between leaves a mismatched pair, which the
	// next start detects and replaces.
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return time.Time{}, err
	}
	if err := writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return time.Time{}, err
	}
	return notAfter, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tls self-signed: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("tls self-signed: write %s: %w", path, err)
	}
	return nil
}
