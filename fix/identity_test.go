package fix_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
)

// testCA issues certificates for the tests: a real CA, real leaf
// certificates, PEM files on disk.
type testCA struct {
	dir    string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	CAFile string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tickwire test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{dir: t.TempDir(), cert: cert, key: key}
	ca.CAFile = filepath.Join(ca.dir, "ca.pem")
	writePEM(t, ca.CAFile, "CERTIFICATE", der, 0o644)
	return ca
}

// issue writes a leaf certificate for cn (DNS SANs dns, IP SAN 127.0.0.1,
// usable by a server and a client) and its key; it returns the two files.
func (ca *testCA) issue(t *testing.T, cn string, dns ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(ca.dir, cn+".pem"), filepath.Join(ca.dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der, 0o644)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER, 0o600)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// rawLogon dials addr (over TLS when conf is set), sends a Logon from
// sender to target (set adds fields), and returns what the gateway sent
// until it closed the connection or 20 s passed, and whether it closed it.
func rawLogon(t *testing.T, addr string, conf *tls.Config, sender, target string, set func(b *quickfix.Body)) (reply string, closed bool) {
	t.Helper()
	var conn net.Conn
	var err error
	if conf != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", addr, conf)
	} else {
		conn, err = net.DialTimeout("tcp", addr, 20*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	logon := quickfix.NewMessage()
	logon.Header.SetString(tag.BeginString, "FIX.4.4")
	logon.Header.SetString(tag.MsgType, "A")
	logon.Header.SetString(tag.SenderCompID, sender)
	logon.Header.SetString(tag.TargetCompID, target)
	logon.Header.SetInt(tag.MsgSeqNum, 1)
	logon.Header.SetField(tag.SendingTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
	logon.Body.SetInt(tag.EncryptMethod, 0)
	logon.Body.SetInt(tag.HeartBtInt, 30)
	if set != nil {
		set(&logon.Body)
	}
	if _, err := conn.Write(logon.Bytes()); err != nil {
		t.Fatal(err)
	}
	// Generous: the answer comes at once, and the deadline only ends a
	// connection the gateway kept open (a Logon it accepted).
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	_, err = bufio.NewReader(conn).WriteTo(&b)
	var ne net.Error
	timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
	return b.String(), !timedOut
}

// wantLogout checks that reply is a Logout whose Text has text, and that the
// gateway closed the connection.
func wantLogout(t *testing.T, reply string, closed bool, text string) {
	t.Helper()
	if !closed || !strings.Contains(reply, "\x0135=5\x01") || !strings.Contains(reply, text) || strings.Contains(reply, "\x0135=A\x01") {
		t.Fatalf("got %q (closed %v), want a Logout with Text %q, then EOF", strings.ReplaceAll(reply, "\x01", "|"), closed, text)
	}
}

// startGateway starts a gateway with settings (its data in a temp dir).
func startGateway(t *testing.T, settings string, log *slog.Logger) *fix.Gateway {
	t.Helper()
	s, err := fix.ParseSettings(strings.NewReader(settings), "")
	if err != nil {
		t.Fatal(err)
	}
	prices := newTestPrices()
	prices.set("EURUSD", 1.1000, 1.1002, 0, 0)
	gw, err := fix.Listen(fix.Config{Settings: s, DataDir: t.TempDir(), Prices: prices, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Stop() })
	return gw
}

func startClient(t *testing.T, o fixclient.Options) *fixclient.Client {
	t.Helper()
	s, err := fixclient.Settings(o)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := fixclient.New(s, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

func loggedOn(gw *fix.Gateway, target string) bool {
	for _, s := range gw.Sessions() {
		if s.Target == target {
			return s.LoggedOn
		}
	}
	return false
}

// TestFIXCertificateIdentity: two sessions under mutual TLS, each naming its
// client certificate. The holder of A's certificate cannot log on as B (a
// Logout says why, B's session is untouched); B's own certificate logs on
// as B, and A trades as A, never as B's account.
func TestFIXCertificateIdentity(t *testing.T) {
	ca := newTestCA(t)
	srvCert, srvKey := ca.issue(t, "gateway")
	aCert, aKey := ca.issue(t, "clientA", "a.example")
	bCert, bKey := ca.issue(t, "clientB", "b.example")
	n := rigSeq.Add(1)
	gwID, aID, bID := fmt.Sprintf("GWC%d", n), fmt.Sprintf("CLA%d", n), fmt.Sprintf("CLB%d", n)
	var logs syncBuffer
	gw := startGateway(t, fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=0
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
SocketCertificateFile=%s
SocketPrivateKeyFile=%s
SocketCAFile=%s
[SESSION]
BeginString=FIX.4.4
SenderCompID=%s
TargetCompID=%s
TickwireAccounts=ACCA
TickwireCertificateCN=clientA
[SESSION]
BeginString=FIX.4.4
SenderCompID=%s
TargetCompID=%s
TickwireAccounts=ACCB
TickwireCertificateCN=clientB
TickwireCertificateSAN=b.example
`, srvCert, srvKey, ca.CAFile, gwID, aID, gwID, bID), slog.New(slog.NewTextHandler(&logs, nil)))

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	aPair, err := tls.LoadX509KeyPair(aCert, aKey)
	if err != nil {
		t.Fatal(err)
	}
	reply, closed := rawLogon(t, gw.Addr(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{aPair}}, bID, gwID, nil)
	wantLogout(t, reply, closed, "the client certificate is not the one configured for this session")
	if loggedOn(gw, bID) {
		t.Fatal("A's certificate logged on as B")
	}
	if l := logs.String(); !strings.Contains(l, "fix logon refused") || !strings.Contains(l, "cert_cn=clientA") {
		t.Fatalf("no log line naming the refused certificate:\n%s", l)
	}

	// B's certificate is B: it logs on (the refusal touched nothing of the
	// session, its sequence numbers included) and trades.
	b := startClient(t, fixclient.Options{Addrs: []string{gw.Addr()}, SenderCompID: bID, TargetCompID: gwID,
		StoreDir: filepath.Join(t.TempDir(), "b"), CAFile: ca.CAFile, CertFile: bCert, KeyFile: bKey})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.WaitLogon(ctx, 1); err != nil {
		t.Fatalf("B with its certificate: %v\n%s", err, logs.String())
	}
	tradeOnce(t, b)

	// A, with its certificate, as A.
	a := startClient(t, fixclient.Options{Addrs: []string{gw.Addr()}, SenderCompID: aID, TargetCompID: gwID,
		StoreDir: filepath.Join(t.TempDir(), "a"), CAFile: ca.CAFile, CertFile: aCert, KeyFile: aKey})
	if err := a.WaitLogon(ctx, 1); err != nil {
		t.Fatalf("A with its certificate: %v\n%s", err, logs.String())
	}
	tradeOnce(t, a)

	// A, proven by its certificate, still cannot trade B's account.
	if err := a.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "AONB", Account: "ACCB",
		Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.0", Qty: "10"})); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := a.Next(ctx)
		if err != nil {
			t.Fatalf("no answer to A's order for ACCB: %v", err)
		}
		if m.Get(tag.ClOrdID) == "AONB" {
			t.Fatalf("A's order for ACCB got %s %q: want a BusinessMessageReject", m.Type, m.Raw)
		}
		if m.Type == "j" && m.Get(tag.BusinessRejectRefID) == "AONB" {
			if m.Get(tag.BusinessRejectReason) != "6" || !strings.Contains(m.Get(tag.Text), `not authorized for Account "ACCB"`) {
				t.Fatalf("got %q, want reason 6 (not authorized) naming ACCB", m.Raw)
			}
			break
		}
	}
	snap, err := gw.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snap.Orders {
		if o.ClOrdID == "AONB" {
			t.Fatalf("A's order for ACCB reached the book: %+v", o)
		}
	}
}

// TestFIXLogonPassword: a session whose identity is a Logon Username and
// Password (the settings hold the password's SHA-256). A missing or wrong
// password, or the wrong username, gets a Logout saying so; the right ones
// log on. The password never reaches the logs.
func TestFIXLogonPassword(t *testing.T) {
	const password = "twk_test-password-0123456789abcdefghijklmnopq"
	var logs syncBuffer
	r := newRig(t, withoutClient(),
		func(r *rig) {
			r.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		},
		withSession("TickwireAccounts=*\nTickwireUsername=clientx\nTickwirePasswordSHA256="+sha256Hex(password)+"\n"))
	for _, tc := range []struct {
		name string
		set  func(b *quickfix.Body)
	}{
		{"no password", nil},
		{"wrong password", func(b *quickfix.Body) {
			b.SetString(tag.Username, "clientx")
			b.SetString(tag.Password, password+"x")
		}},
		{"wrong username", func(b *quickfix.Body) {
			b.SetString(tag.Username, "clienty")
			b.SetString(tag.Password, password)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, closed := rawLogon(t, r.gw.Addr(), nil, r.clID, r.gwID, tc.set)
			wantLogout(t, reply, closed, "Username(553)/Password(554) missing or wrong")
			if loggedOn(r.gw, r.clID) {
				t.Fatal("logged on")
			}
		})
	}
	if !strings.Contains(logs.String(), "fix logon refused") {
		t.Fatalf("no log line for the refused logons:\n%s", logs.String())
	}

	cl := tlsClient(t, r, fixclient.Options{Username: "clientx", Password: password})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitLogon(ctx, 1); err != nil {
		t.Fatalf("right username and password: %v\n%s", err, logs.String())
	}
	tradeOnce(t, cl)
	if l := logs.String(); strings.Contains(l, password) || !strings.Contains(l, "554=***") {
		t.Fatalf("the password reached the log, or the Logon was not logged:\n%s", l)
	}
}

// TestFIXSessionAccounts: a session trades only its accounts. An order,
// replace, cancel or status request for another account gets a
// BusinessMessageReject (j, NotAuthorized) and a log line; an order without
// Account trades the session's only account; with several, Account is
// required.
func TestFIXSessionAccounts(t *testing.T) {
	var logs syncBuffer
	r := newRig(t, withLog(&logs), withSession("TickwireAccounts=ACC1\nTickwireOpenLogon=Y\n"))
	businessReject := func(t *testing.T, refMsgType, refID, reason, text string) {
		t.Helper()
		m := r.next()
		if m.Type != "j" || m.Get(tag.RefMsgType) != refMsgType || m.Get(tag.BusinessRejectRefID) != refID ||
			m.Get(tag.BusinessRejectReason) != reason || !strings.Contains(m.Get(tag.Text), text) {
			t.Fatalf("got %s, want a BusinessMessageReject (j) to %s %s, reason %s, Text with %q", m, refMsgType, refID, reason, text)
		}
	}
	limit := fixclient.Order{Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.0", Qty: "10"}
	with := func(o fixclient.Order, clOrdID, orig, account string) fixclient.Order {
		o.ClOrdID, o.OrigClOrdID, o.Account = clOrdID, orig, account
		return o
	}

	r.send(fixclient.NewOrderSingle(with(limit, "X1", "", "ACC2")))
	businessReject(t, "D", "X1", "6", `not authorized for Account "ACC2"`)
	if !strings.Contains(logs.String(), "fix request refused") || !strings.Contains(logs.String(), "account=ACC2") {
		t.Fatalf("no log line for the refused order:\n%s", logs.String())
	}

	// No Account: the session's only one.
	r.send(fixclient.NewOrderSingle(with(limit, "O1", "", "")))
	if m := r.expect(want{execType: "0", clOrdID: "O1"}); m.Get(tag.Account) != "ACC1" {
		t.Fatalf("order without Account: got %s with Account %q, want ACC1", m, m.Get(tag.Account))
	}
	r.send(fixclient.NewOrderSingle(with(limit, "O2", "", "ACC1")))
	r.expect(want{execType: "0", clOrdID: "O2"})

	r.send(fixclient.OrderCancelReplaceRequest(with(limit, "R1", "O1", "ACC2")))
	businessReject(t, "G", "R1", "6", "ACC2")
	m := fixclient.OrderCancelRequest(with(limit, "C2", "O2", ""))
	m.Body.SetString(tag.Account, "ACC2")
	r.send(m)
	businessReject(t, "F", "C2", "6", "ACC2")
	r.send(fixclient.OrderCancelRequest(with(limit, "C1", "O1", ""))) // its own order, no Account
	r.expect(want{execType: "6", clOrdID: "C1", origClOrdID: "O1"})
	r.expect(want{execType: "4", clOrdID: "C1"})
	h := fixclient.OrderStatusRequest("O2", "EURUSD", '1')
	h.Body.SetString(tag.Account, "ACC2")
	r.send(h)
	businessReject(t, "H", "O2", "6", "ACC2")
	// Nothing of ACC2 reached the book.
	snap, err := r.gw.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snap.Orders {
		if o.Account != "ACC1" {
			t.Fatalf("order %s has Account %q", o.ClOrdID, o.Account)
		}
	}

	t.Run("several accounts", func(t *testing.T) {
		r := newRig(t, withSession("TickwireAccounts=ACC1, ACC3\nTickwireOpenLogon=Y\n"))
		r.send(fixclient.NewOrderSingle(with(limit, "M1", "", "")))
		if m := r.next(); m.Type != "j" || m.Get(tag.BusinessRejectReason) != "5" || !strings.Contains(m.Get(tag.Text), "ACC1, ACC3") {
			t.Fatalf("got %s, want a BusinessMessageReject (j) reason 5 naming the accounts", m)
		}
		r.send(fixclient.NewOrderSingle(with(limit, "M2", "", "ACC3")))
		if m := r.expect(want{execType: "0", clOrdID: "M2"}); m.Get(tag.Account) != "ACC3" {
			t.Fatalf("got %s, want Account ACC3", m)
		}
	})
}

// TestFIXIdentitySettingsErrors: identity and TLS settings that would let
// someone log on as another counterparty, or that do less than they say,
// fail New with a clear error.
func TestFIXIdentitySettingsErrors(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, "gateway")
	base := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nResetOnLogon=N\nHeartBtInt=30\n"
	files := "SocketCertificateFile=" + cert + "\nSocketPrivateKeyFile=" + key + "\n"
	mutual := files + "SocketCAFile=" + ca.CAFile + "\n"
	session := "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=IDERR\nTargetCompID=IDERRC\n"
	hash := "TickwirePasswordSHA256=" + sha256Hex("secret") + "\n"
	for _, tc := range []struct {
		name, def, sess string
		want            []string
	}{
		{"no accounts", "", "TickwireOpenLogon=Y\n", []string{"IDERRC", "TickwireAccounts is required"}},
		{"bad accounts", "", "TickwireAccounts=A,,B\nTickwireOpenLogon=Y\n", []string{"TickwireAccounts=A,,B"}},
		{"no identity", "", "TickwireAccounts=A\n", []string{"no identity", "TickwireOpenLogon=Y"}},
		{"identity in DEFAULT", "TickwireAccounts=*\n", "TickwireOpenLogon=Y\n", []string{"TickwireAccounts", "[DEFAULT]"}},
		{"username without password", "", "TickwireAccounts=A\nTickwireUsername=u\n", []string{"TickwireUsername without TickwirePasswordSHA256"}},
		{"bad password hash", "", "TickwireAccounts=A\nTickwirePasswordSHA256=abc\n", []string{"64 hex digits", "tickwire token fixpassword"}},
		{"hash of an empty password", "", "TickwireAccounts=A\nTickwirePasswordSHA256=" + sha256Hex("") + "\n", []string{"empty password"}},
		{"open and password", "", "TickwireAccounts=A\nTickwireOpenLogon=Y\n" + hash, []string{"choose one"}},
		{"certificate without TLS", "", "TickwireAccounts=A\nTickwireCertificateCN=c\n", []string{"need mutual TLS"}},
		{"certificate with server TLS only", files + "SocketUseSSL=Y\n", "TickwireAccounts=A\nTickwireCertificateCN=c\n", []string{"need mutual TLS"}},
		{"SocketUseSSL with a CA", mutual + "SocketUseSSL=Y\n", "TickwireAccounts=A\nTickwireCertificateCN=c\n", []string{"SocketCAFile with SocketUseSSL=Y", "asks no client certificate"}},
		{"mutual TLS without a CA", files, "TickwireAccounts=A\nTickwireCertificateCN=c\n", []string{"SocketCAFile is not set", "system"}},
		{"CA without certificate files", "SocketCAFile=" + ca.CAFile + "\n", "TickwireAccounts=A\n" + hash, []string{"plain TCP"}},
		{"mutual TLS, session without certificate", mutual, "TickwireAccounts=A\n" + hash, []string{"names no certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fix.ParseSettings(strings.NewReader(base+tc.def+session+tc.sess), "")
			if err != nil {
				t.Fatal(err)
			}
			gw, err := fix.New(fix.Config{Settings: s, DataDir: t.TempDir()})
			if err == nil {
				_ = gw.Stop()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestFIXLogonBytesBound: a peer that sends more than MaxLogonBytes without
// completing its first message is disconnected; quickfix's parser would
// otherwise buffer whatever BodyLength announces.
func TestFIXLogonBytesBound(t *testing.T) {
	r := newRig(t, withoutClient(), func(r *rig) { r.cfg.MaxLogonBytes = 4 << 10 })
	conn, err := net.DialTimeout("tcp", r.gw.Addr(), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		_, _ = conn.Write([]byte("8=FIX.4.4\x019=1000000\x0135=A\x01"))
		_, _ = conn.Write(make([]byte, 64<<10)) // fails once the gateway closes
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // returns at the close
	_, err = bufio.NewReader(conn).WriteTo(io.Discard)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection is still open after 64 KiB without a Logon")
	}
}
