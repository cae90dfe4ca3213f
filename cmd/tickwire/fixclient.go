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

// fixClientFlags are the flags of `tickwire fixclient`.
type fixClientFlags struct {
	addr, alt, store, passwordFile string
	side, symbols                  string
	manual                         bool
	timeout                        time.Duration
	opt                            fixclient.Options // Addrs, StoreDir and Password from the flags above
	flow                           fixclient.Flow    // Side, Symbols and HandlInst from the flags above
	log                            logFlags
}

func (f *fixClientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:9878", "gateway `HOST:PORT`")
	fs.StringVar(&f.alt, "alt", "", "comma-separated alternate gateway `HOST:PORT`s, tried in turn on reconnect (SocketConnectHost1/Port1...)")
	fs.StringVar(&f.opt.SenderCompID, "sender", "DEMOCLIENT", "our SenderCompID")
	fs.StringVar(&f.opt.TargetCompID, "target", "TICKWIRE", "the gateway's CompID (TargetCompID)")
	fs.StringVar(&f.store, "store", "", "message store `DIR` (sequence numbers survive restarts; default $TMPDIR/tickwire-fixclient-SENDER)")
	fs.BoolVar(&f.opt.ResetOnLogon, "reset", false, "log on with ResetSeqNumFlag=Y (sequence numbers back to 1)")
	fs.IntVar(&f.flow.Orders, "orders", 100, "number of new orders")
	fs.Float64Var(&f.flow.Rate, "rate", 50, "new orders per second (0: as fast as --window allows)")
	fs.IntVar(&f.flow.Window, "window", 100, "most orders awaiting their first report")
	fs.StringVar(&f.symbols, "symbols", "EURUSD", "comma-separated symbols, used in turn")
	fs.StringVar(&f.flow.Account, "account", "", "Account (tag 1) of the orders; traders see them on topic orders.ACCOUNT")
	fs.StringVar(&f.flow.Qty, "qty", "100000", "quantity of each order")
	fs.StringVar(&f.flow.Price, "price", "", "limit price (default: market orders)")
	fs.StringVar(&f.side, "side", "alternate", "buy, sell or alternate")
	fs.IntVar(&f.flow.CancelEvery, "cancel-every", 0, "cancel every N-th order once acknowledged (0: never)")
	fs.IntVar(&f.flow.ReplaceEvery, "replace-every", 0, "replace every N-th order (quantity +1) once acknowledged (0: never)")
	fs.BoolVar(&f.manual, "manual", false, "send HandlInst=3: orders wait for a trader at the desk")
	fs.DurationVar(&f.flow.Settle, "settle", 2*time.Second, "wait this long for late reports")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (0: no limit)")
	fs.BoolVar(&f.opt.TLS, "tls", false, "connect over TLS (SocketUseSSL=Y), verifying the gateway with the system roots; implied by --ca")
	fs.StringVar(&f.opt.CAFile, "ca", "", "connect over TLS trusting the certificate(s) in this PEM `FILE` (SocketCAFile: a CA, or the server's --tls-self-signed cert.pem)")
	fs.StringVar(&f.opt.CertFile, "cert", "", "client certificate PEM `FILE`, for a gateway with mutual TLS (with --key)")
	fs.StringVar(&f.opt.KeyFile, "key", "", "private key PEM `FILE` of --cert")
	fs.StringVar(&f.opt.Username, "username", "", "Logon Username (553), for a session whose identity is a password")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the Logon Password (554) from `FILE` (from 'tickwire token fixpassword'; surrounding whitespace ignored)")
	f.log.register(fs, "")
}

// resolve checks the flags and completes opt and flow from them.
func (f *fixClientFlags) resolve() error {
	switch f.side {
	case "buy":
		f.flow.Side = '1'
	case "sell":
		f.flow.Side = '2'
	case "alternate":
	default:
		return usageError{fmt.Errorf("--side %q: want buy, sell or alternate", f.side)}
	}
	if f.flow.Orders <= 0 || f.flow.Window <= 0 || f.flow.Rate < 0 {
		return usageError{errors.New("--orders and --window must be > 0, --rate >= 0")}
	}
	if f.manual {
		f.flow.HandlInst = '3'
	}
	f.flow.Symbols = strings.Split(f.symbols, ",")
	f.opt.Addrs = append([]string{f.addr}, splitList(f.alt)...)
	f.opt.StoreDir = f.store
	if f.opt.StoreDir == "" {
		f.opt.StoreDir = filepath.Join(os.TempDir(), "tickwire-fixclient-"+f.opt.SenderCompID)
	}
	if f.passwordFile != "" {
		var err error
		if f.opt.Password, err = readSecretFile("--password-file", f.passwordFile); err != nil {
			return err
		}
	}
	return nil
}

// runFixClient is `tickwire fixclient`: a FIX 4.4 initiator that sends an
// order flow to the gateway and checks every response against the
// expected order state.
func runFixClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fixclient", flag.ContinueOnError)
	var f fixClientFlags
	f.register(fs)
	setUsage(fs, "fixclient")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := f.resolve(); err != nil {
		return err
	}
	log, closeLog, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	settings, err := fixclient.Settings(f.opt)
	if err != nil {
		if f.opt.CAFile != "" && strings.Contains(err.Error(), f.opt.CAFile) {
			return fmt.Errorf("--ca: %w", err) // a file problem, not usage
		}
		return usageError{err}
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	return fixclient.Run(ctx, settings, f.opt, f.flow, stdout, log)
}
