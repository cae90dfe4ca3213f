package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tickwire/fix/fixclient"
)

// runFixClient is `tickwire fixclient`: a FIX 4.4 initiator that sends an
// order flow to the gateway and checks every response against the
// expected order state.
func runFixClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fixclient", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9878", "gateway `HOST:PORT`")
	alt := fs.String("alt", "", "comma-separated alternate gateway `HOST:PORT`s, tried in turn on reconnect (SocketConnectHost1/Port1...)")
	sender := fs.String("sender", "DEMOCLIENT", "our SenderCompID")
	target := fs.String("target", "TICKWIRE", "the gateway's CompID (TargetCompID)")
	store := fs.String("store", "", "message store `DIR` (sequence numbers survive restarts; default $TMPDIR/tickwire-fixclient-SENDER)")
	reset := fs.Bool("reset", false, "log on with ResetSeqNumFlag=Y (sequence numbers back to 1)")
	orders := fs.Int("orders", 100, "number of new orders")
	rate := fs.Float64("rate", 50, "new orders per second (0: as fast as --window allows)")
	window := fs.Int("window", 100, "most orders awaiting their first report")
	symbols := fs.String("symbols", "EURUSD", "comma-separated symbols, used in turn")
	account := fs.String("account", "", "Account (tag 1) of the orders; traders see them on topic orders.ACCOUNT")
	qty := fs.String("qty", "100000", "quantity of each order")
	price := fs.String("price", "", "limit price (default: market orders)")
	side := fs.String("side", "alternate", "buy, sell or alternate")
	cancelEvery := fs.Int("cancel-every", 0, "cancel every N-th order once acknowledged (0: never)")
	replaceEvery := fs.Int("replace-every", 0, "replace every N-th order (quantity +1) once acknowledged (0: never)")
	manual := fs.Bool("manual", false, "send HandlInst=3: orders wait for a trader at the desk")
	settle := fs.Duration("settle", 2*time.Second, "wait this long for late reports")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: no limit)")
	useTLS := fs.Bool("tls", false, "connect over TLS (SocketUseSSL=Y), verifying the gateway with the system roots; implied by --ca")
	ca := fs.String("ca", "", "connect over TLS trusting the certificate(s) in this PEM `FILE` (SocketCAFile: a CA, or the server's --tls-self-signed cert.pem)")
	cert := fs.String("cert", "", "client certificate PEM `FILE`, for a gateway with mutual TLS (with --key)")
	key := fs.String("key", "", "private key PEM `FILE` of --cert")
	username := fs.String("username", "", "Logon Username (553), for a session whose identity is a password")
	passwordFile := fs.String("password-file", "", "read the Logon Password (554) from `FILE` (from 'tickwire token fixpassword'; surrounding whitespace ignored)")
	var lf logFlags
	lf.register(fs, "")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: tickwire fixclient [flags]

Connects to the FIX gateway as a counterparty, sends an order flow (new
orders at --rate, some canceled or replaced), checks every ExecutionReport
and OrderCancelReject against the expected order state and reports
mismatches. Exits 1 if any. With --alt it fails over to alternate gateways.

Example, against 'tickwire server --fix-config configs/fix-demo.cfg':
  tickwire fixclient --orders 200 --rate 100 --cancel-every 5 --replace-every 7
Over TLS, against 'tickwire server --fix-config configs/fix-demo-tls.cfg
--tls-self-signed DIR':
  tickwire fixclient --ca DIR/cert.pem --orders 200
A session whose identity is a Logon password ('tickwire token fixpassword'):
  tickwire fixclient --username NAME --password-file FILE

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	var s byte
	switch *side {
	case "buy":
		s = '1'
	case "sell":
		s = '2'
	case "alternate":
	default:
		return usageError{fmt.Errorf("--side %q: want buy, sell or alternate", *side)}
	}
	if *orders <= 0 || *window <= 0 || *rate < 0 {
		return usageError{errors.New("--orders and --window must be > 0, --rate >= 0")}
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	addrs := []string{*addr}
	for _, a := range strings.Split(*alt, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	dir := *store
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tickwire-fixclient-"+*sender)
	}
	password := ""
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		if password = strings.TrimSpace(string(b)); password == "" {
			return fmt.Errorf("--password-file %s: empty", *passwordFile)
		}
	}
	settings, err := fixclient.Settings(fixclient.Options{
		Addrs: addrs, SenderCompID: *sender, TargetCompID: *target, StoreDir: dir, ResetOnLogon: *reset,
		TLS: *useTLS, CAFile: *ca, CertFile: *cert, KeyFile: *key, Username: *username, Password: password,
	})
	if err != nil {
		if *ca != "" && strings.Contains(err.Error(), *ca) {
			return fmt.Errorf("--ca: %w", err) // a file problem, not usage
		}
		return usageError{err}
	}
	c, err := fixclient.New(settings, log)
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	over := ""
	if *useTLS || *ca != "" || *cert != "" {
		over = " over TLS"
	}
	fmt.Fprintf(stdout, "connecting to %s%s as %s -> %s\n", strings.Join(addrs, ", "), over, *sender, *target)
	logonCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = c.WaitLogon(logonCtx, 1)
	cancel()
	if err != nil {
		// The usual cause: the gateway's message store and ours (--store)
		// disagree on sequence numbers (one was wiped); the log says which.
		return fmt.Errorf("%w (no logon: is the gateway up? does it speak TLS (--ca) or not? does the session need a client certificate (--cert/--key) or a password (--username, --password-file)? "+
			"the gateway's Logout says why it refused a logon (see the log); if one side's store was wiped, sequence numbers disagree: see the log, or --reset)", err)
	}
	fmt.Fprintf(stdout, "logged on\n")
	var hi byte
	if *manual {
		hi = '3'
	}
	res, err := c.RunFlow(ctx, fixclient.Flow{
		Orders: *orders, Rate: *rate, Window: *window, Symbols: strings.Split(*symbols, ","),
		Qty: *qty, Price: *price, Side: s, CancelEvery: *cancelEvery, ReplaceEvery: *replaceEvery,
		HandlInst: hi, Settle: *settle, Account: *account,
	}, stdout)
	fmt.Fprintf(stdout, "orders %d, cancels %d, replaces %d, reports %d (fills %d, rejects %d) in %v; %.0f orders/s\n",
		res.Orders, res.Cancels, res.Replaces, res.Reports, res.Fills, res.Rejects, res.Elapsed.Round(time.Millisecond),
		float64(res.Orders)/max(res.Elapsed.Seconds(), 1e-9))
	for _, m := range res.Mismatches {
		fmt.Fprintf(stdout, "MISMATCH %s\n", m)
	}
	if err != nil {
		return err
	}
	if len(res.Mismatches) > 0 {
		return fmt.Errorf("%d mismatches", len(res.Mismatches))
	}
	fmt.Fprintf(stdout, "all responses matched the expected order state\n")
	return nil
}
