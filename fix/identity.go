package fix

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
)

// Counterparty identity. A FIX session is named by its CompIDs, which anyone
// can type; each [SESSION] therefore says who may log on as it and which
// accounts it may trade (tickwire's own keys, ignored by quickfix):
//
//	TickwireAccounts=ACC1,ACC2       required: the accounts it may trade (* any)
//	TickwireCertificateCN=clientA    mutual TLS: the client certificate's subject CN
//	TickwireCertificateSAN=a.example mutual TLS: one of its DNS/email/IP/URI SANs
//	TickwireUsername=clientA         Logon Username(553), with a password
//	TickwirePasswordSHA256=<hex>     SHA-256 of the Logon Password(554)
//	TickwireOpenLogon=Y              no identity: whoever types the CompIDs
//
// Every session needs an identity (a certificate, a password, or an explicit
// TickwireOpenLogon=Y); under mutual TLS every session names its
// certificate, since the CA alone would let A's certificate log on as B.
// Passwords are random 256-bit secrets (`tickwire token fixpassword`), so a
// fast hash is enough: there is nothing to guess.
//
// The check runs in the acceptor's connection validator, before quickfix
// hands the connection to the session: a refused Logon gets a Logout whose
// Text says why and the connection is closed, and the session (its
// sequence numbers, its store, a counterparty logged on already) is never
// touched. quickfix gives the validator the session ID and the connection,
// not the Logon, so the connection (peerConn) keeps the bytes read before
// validation (at most Config.MaxLogonBytes, which also bounds what an
// unauthenticated peer can make quickfix's parser buffer).

// The session keys of identity.
const (
	keyAccounts     = "TickwireAccounts"
	keyCertCN       = "TickwireCertificateCN"
	keyCertSAN      = "TickwireCertificateSAN"
	keyUsername     = "TickwireUsername"
	keyPasswordHash = "TickwirePasswordSHA256"
	keyOpenLogon    = "TickwireOpenLogon"
)

var identityKeys = []string{keyAccounts, keyCertCN, keyCertSAN, keyUsername, keyPasswordHash, keyOpenLogon}

// defaultMaxLogonBytes bounds the bytes read from a connection before its
// Logon is validated.
const defaultMaxLogonBytes = 16 << 10

// refusalWrite bounds the write of a refused Logon's Logout.
const refusalWrite = time.Second

// Business reject reasons (BusinessRejectReason, 380).
const (
	bizRejectConditionallyRequired = 5
	bizRejectNotAuthorized         = 6
)

// identity is who may log on as one session and what it may trade.
// Read-only once built.
type identity struct {
	open     bool
	certCN   string
	certSAN  string
	username string
	password []byte // SHA-256 of the Logon password; nil: none
	// accounts are the accounts the session may trade; nil: any (*).
	accounts map[string]bool
	only     string // the one account, when accounts has exactly one
}

// sessionIdentities reads every session's identity keys and checks them
// against each other and the acceptor's TLS mode.
func sessionIdentities(s *quickfix.Settings, mode tlsMode) (map[quickfix.SessionID]*identity, error) {
	g := s.GlobalSettings()
	for _, k := range identityKeys {
		if g.HasSetting(k) {
			return nil, fmt.Errorf("fix: %s is in [DEFAULT]: it describes one counterparty, put it in that counterparty's [SESSION]", k)
		}
	}
	out := make(map[quickfix.SessionID]*identity)
	for sid, ss := range s.SessionSettings() {
		id, err := parseIdentity(ss, mode)
		if err != nil {
			return nil, fmt.Errorf("fix: session %v: %w", sid, err)
		}
		out[sid] = id
	}
	return out, nil
}

func parseIdentity(ss *quickfix.SessionSettings, mode tlsMode) (*identity, error) {
	str := func(k string) string { v, _ := ss.Setting(k); return strings.TrimSpace(v) }
	id := &identity{certCN: str(keyCertCN), certSAN: str(keyCertSAN), username: str(keyUsername)}
	if ss.HasSetting(keyOpenLogon) {
		on, err := ss.BoolSetting(keyOpenLogon)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyOpenLogon, err)
		}
		id.open = on
	}
	if h := str(keyPasswordHash); h != "" {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s: want 64 hex digits, the SHA-256 of the password as `tickwire token fixpassword` prints it", keyPasswordHash)
		}
		if empty := sha256.Sum256(nil); bytes.Equal(b, empty[:]) {
			return nil, fmt.Errorf("%s is the SHA-256 of an empty password: a Logon without one would pass", keyPasswordHash)
		}
		id.password = b
	}

	accts := str(keyAccounts)
	switch {
	case accts == "":
		return nil, fmt.Errorf("%s is required: the accounts this counterparty may trade (comma-separated, or * for any)", keyAccounts)
	case accts != "*":
		id.accounts = make(map[string]bool)
		for a := range strings.SplitSeq(accts, ",") {
			a = strings.TrimSpace(a)
			if a == "" || a == "*" || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return nil, fmt.Errorf("%s=%s: want comma-separated account names, or * alone for any account", keyAccounts, accts)
			}
			id.accounts[a] = true
			id.only = a
		}
		if len(id.accounts) != 1 {
			id.only = ""
		}
	}

	cert := id.certCN != "" || id.certSAN != ""
	switch {
	case id.username != "" && id.password == nil:
		return nil, fmt.Errorf("%s without %s: a username is not a secret", keyUsername, keyPasswordHash)
	case id.open && (cert || id.password != nil):
		return nil, fmt.Errorf("%s=Y with a certificate or password identity: choose one", keyOpenLogon)
	case cert && mode != tlsMutual:
		return nil, fmt.Errorf("%s/%s need mutual TLS, and the acceptor asks no client certificate: "+
			"set SocketCertificateFile, SocketPrivateKeyFile and SocketCAFile in [DEFAULT] without SocketUseSSL=Y", keyCertCN, keyCertSAN)
	case !cert && mode == tlsMutual:
		return nil, fmt.Errorf("mutual TLS is on but the session names no certificate (%s and/or %s): "+
			"any certificate SocketCAFile verifies, another counterparty's too, could log on as this session", keyCertCN, keyCertSAN)
	case !id.open && !cert && id.password == nil:
		return nil, fmt.Errorf("no identity: whoever types its CompIDs would be this counterparty. Name its client certificate (%s/%s, mutual TLS), "+
			"or a Logon password (%s, from `tickwire token fixpassword`), or set %s=Y to accept that", keyCertCN, keyCertSAN, keyPasswordHash, keyOpenLogon)
	}
	return id, nil
}

// checkLogon returns why the connection may not log on as this session ("":
// it may). state is the TLS state (nil for plain TCP); logon is the first
// message as read (nil if it could not be kept). fields are for the log.
func (id *identity) checkLogon(state *tls.ConnectionState, logon []byte) (reason string, fields []any) {
	if id.open {
		return "", nil
	}
	if id.certCN != "" || id.certSAN != "" {
		if state == nil || len(state.PeerCertificates) == 0 {
			return "no client certificate", nil
		}
		leaf := state.PeerCertificates[0]
		fields = append(fields, "cert_cn", leaf.Subject.CommonName, "cert_sans", certSANs(leaf))
		if id.certCN != "" && leaf.Subject.CommonName != id.certCN || id.certSAN != "" && !hasSAN(leaf, id.certSAN) {
			return "the client certificate is not the one configured for this session", fields
		}
	}
	if id.password != nil {
		msg, err := parseLogon(logon)
		if err != nil {
			return err.Error(), fields
		}
		user, _ := msg.Body.GetString(tag.Username)
		pass, _ := msg.Body.GetString(tag.Password)
		fields = append(fields, "username", user)
		sum := sha256.Sum256([]byte(pass))
		okPass := subtle.ConstantTimeCompare(sum[:], id.password) == 1
		okUser := id.username == "" || subtle.ConstantTimeCompare([]byte(user), []byte(id.username)) == 1
		if !okPass || !okUser {
			return "Username(553)/Password(554) missing or wrong", fields
		}
	}
	return "", fields
}

// account returns the account an order of this session trades: sent, or
// the session's only account when sent is empty. It refuses an account the
// session may not trade with a BusinessMessageReject that refers to clOrdID.
func (id *identity) account(sent, clOrdID string) (string, quickfix.MessageRejectError) {
	switch {
	case id.accounts == nil:
		return sent, nil
	case sent == "" && id.only != "":
		return id.only, nil
	case sent == "":
		return "", quickfix.NewBusinessMessageRejectErrorWithRefID("Account(1) is required: this session may trade "+
			strings.Join(slices.Sorted(maps.Keys(id.accounts)), ", "), bizRejectConditionallyRequired, clOrdID, nil)
	case !id.accounts[sent]:
		return "", quickfix.NewBusinessMessageRejectErrorWithRefID("not authorized for Account "+strconv.Quote(sent), bizRejectNotAuthorized, clOrdID, nil)
	}
	return sent, nil
}

// certSANs lists the leaf's subject alternative names.
func certSANs(c *x509.Certificate) []string {
	out := slices.Clone(c.DNSNames)
	out = append(out, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// hasSAN reports whether san is one of c's subject alternative names (DNS
// names compared without case).
func hasSAN(c *x509.Certificate, san string) bool {
	return slices.ContainsFunc(c.DNSNames, func(d string) bool { return strings.EqualFold(d, san) }) ||
		slices.Contains(certSANs(c), san)
}

// parseLogon parses the first message of a connection, which must be a
// Logon. Like quickfix's parser it skips to "8=", reads BodyLength and ends
// at the SOH after the CheckSum.
func parseLogon(b []byte) (*quickfix.Message, error) {
	errUnread := errors.New("the Logon could not be read")
	start := bytes.Index(b, []byte("8="))
	if start < 0 {
		return nil, errUnread
	}
	b = b[start:]
	i := bytes.Index(b, []byte("\x019="))
	if i < 0 {
		return nil, errUnread
	}
	i += 3
	j := bytes.IndexByte(b[i:], 1)
	if j <= 0 {
		return nil, errUnread
	}
	n, err := strconv.Atoi(string(b[i : i+j]))
	if err != nil || n <= 0 {
		return nil, errUnread
	}
	end := i + j + n
	if end > len(b) {
		return nil, errUnread
	}
	k := bytes.Index(b[end:], []byte("\x0110="))
	if k < 0 {
		return nil, errUnread
	}
	end += k + 4
	k = bytes.IndexByte(b[end:], 1)
	if k < 0 {
		return nil, errUnread
	}
	msg := quickfix.NewMessage()
	if err := quickfix.ParseMessage(msg, bytes.NewBuffer(b[:end+k+1])); err != nil {
		return nil, errUnread
	}
	if t, _ := msg.MsgType(); t != "A" {
		return nil, errors.New("the first message is not a Logon")
	}
	return msg, nil
}

// logonValidator is the acceptor's quickfix.ConnectionValidator: it refuses
// a connection whose Logon names no configured session, or is not the
// session's identity (see the file comment). quickfix would close such a
// connection without a word; FIX asks for a Logout with the reason, so we
// write one (MsgSeqNum 1: the session is not touched) before quickfix closes
// the socket.
type logonValidator struct {
	ids map[quickfix.SessionID]*identity
	log *slog.Logger
}

// Validate implements quickfix.ConnectionValidator.
func (v logonValidator) Validate(conn net.Conn, sid quickfix.SessionID) error {
	var state *tls.ConnectionState
	var logon []byte
	pc, _ := conn.(*peerConn)
	if pc != nil {
		state, logon = pc.validated()
	}
	var reason string
	var fields []any
	if id, ok := v.ids[sid]; !ok {
		reason = fmt.Sprintf("unknown session: SenderCompID=%s TargetCompID=%s BeginString=%s is not configured on this gateway",
			sid.TargetCompID, sid.SenderCompID, sid.BeginString)
	} else if r, f := id.checkLogon(state, logon); r != "" {
		reason, fields = "logon refused: "+r, f
	}
	if reason == "" {
		if pc != nil && pc.slot != nil {
			pc.slot.release() // a counterparty now: out of the pre-Logon budget
		}
		return nil
	}
	// A refused connection keeps its pre-Logon slot until it is closed.
	v.log.Warn("fix logon refused", append([]any{"session", sid.String(), "remote", conn.RemoteAddr().String(), "reason", reason}, fields...)...)
	_ = conn.SetWriteDeadline(time.Now().Add(refusalWrite))
	_, _ = conn.Write(logoutMessage(sid, reason))
	return fmt.Errorf("fix: %s", reason)
}

// peerConn is an accepted connection as the validator sees it: its TLS
// state, and the bytes read before validation.
//
// Read and validated run on quickfix's connection goroutine, before it
// starts the session's reader goroutine (which then only reads): no lock.
type peerConn struct {
	net.Conn
	tls     *tls.Conn
	slot    *preLogonConn // its pre-Logon budget slot; nil: none
	capture []byte        // bytes read so far; nil once validated
	max     int           // bound of capture before validation
}

var errLogonTooLong = errors.New("fix: no Logon within the first bytes of the connection")

// Read reads from the connection, keeping what it reads until validation.
func (c *peerConn) Read(p []byte) (int, error) {
	if c.capture == nil {
		return c.Conn.Read(p)
	}
	if room := c.max - len(c.capture); len(p) > room {
		if room == 0 {
			return 0, errLogonTooLong
		}
		p = p[:room]
	}
	n, err := c.Conn.Read(p)
	c.capture = append(c.capture, p[:n]...)
	return n, err
}

// validated returns the TLS state and the bytes read so far, and stops
// keeping them.
func (c *peerConn) validated() (*tls.ConnectionState, []byte) {
	b := c.capture
	c.capture = nil
	if c.tls == nil {
		return nil, b
	}
	st := c.tls.ConnectionState()
	return &st, b
}
