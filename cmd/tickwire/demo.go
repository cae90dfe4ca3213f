package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tickwire/auth"
	"tickwire/demodata"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/fix/order"
	"tickwire/orderfeed"
)

// demoAccount is the account of the demo's order flow: the dashboard shows
// its orders from the topic orders.DEMO.
const demoAccount = "DEMO"

const demoUsage = `Usage: tickwire demo [flags]

Starts, in one process and on 127.0.0.1:
  - a feed server replaying recorded ticks (by default the shipped excerpt of
    real OANDA EURUSD/NZDUSD quotes, %s, looping in real time);
  - the FIX 4.4 gateway with its simulated exchange, and a FIX counterparty
    sending market orders (some canceled or replaced) for account DEMO;
  - the trader dashboard, connected to the server over a real WebSocket.
All of it over TLS (wss://, FIX over TLS) with a self-signed certificate made
for the run, unless --tls=false.

What you will see: prices moving with their age counting up; every %s the
%s feed pauses for %s: its row turns FEED-STALE (the server says the source
went quiet) and an alert says so, then it recovers; the order blotter fills
with the counterparty's orders (those on the paused symbol are rejected: the
venue does not trade on a stale price). Keys: ? help, tab panes, q quits.

Flags:
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address for the demo's server (`HOST:PORT`; port 0 picks a free one)")
	feedStale := fs.Duration("feed-stale-after", 4*time.Second, "the server marks a symbol's feed stale after this much silence")
	orders := fs.Bool("orders", true, "run the FIX gateway and a FIX counterparty sending orders, so the blotter is live")
	orderRate := fs.Float64("order-rate", 0.5, "demo orders per second")
	pauseSymbol := fs.String("pause", "NZDUSD", "symbol whose feed the demo pauses now and then, to show staleness (\"\" never)")
	pauseEvery := fs.Duration("pause-every", 40*time.Second, "how often the demo pauses that feed")
	pauseFor := fs.Duration("pause-for", 10*time.Second, "how long each pause lasts")
	var rf replayFlags
	rf.register(fs, "embedded")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-demo"))
	var dt demoTLS
	dt.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), demoUsage, demodata.Name, "--pause-every", "--pause", "--pause-for")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	open, err := rf.opener()
	if err != nil {
		return err
	}
	cleanTLS, err := dt.setup(log)
	if err != nil {
		return err
	}
	defer cleanTLS()
	tf.tls = dt.client
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = dt.server.listener(ln)
	url := dt.server.wsScheme() + "://" + ln.Addr().String() + "/ws"
	bridge := orderfeed.New(log.With("component", "requests"))
	da, err := newDemoAuth() // authentication on, with a key pair that lives in memory only (tokenflags.go)
	if err != nil {
		return err
	}
	if tf.token, err = da.traderToken(); err != nil {
		return err
	}
	srv := feedserver.New(feedserver.Config{Name: "demo", StaleAfter: *feedStale, Logger: log.With("component", "server"),
		Requests: bridge.Handlers(), Snapshotter: bridge, Authenticator: da.verifier})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gw *fix.Gateway
	if *orders {
		dir, err := os.MkdirTemp("", "tickwire-demo-")
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer os.RemoveAll(dir) // after serveNode has stopped the gateway (<-served)
		if gw, err = startDemoOrders(ctx, dir, srv, bridge, &dt, *orderRate, tf.list(), log); err != nil {
			_ = ln.Close()
			return err
		}
		if !tf.given("accounts") {
			tf.accounts = demoAccount // the dashboard shows orders.DEMO and trades on DEMO
		}
	}
	served := make(chan error, 1)
	go func() { served <- serveNode(ctx, node{srv: srv, ln: ln, gw: gw, open: open, opt: rf.options()}, log) }()
	log.Info("demo", "ws", url, "replay", rf.files, "speed", rf.speed)
	if *pauseSymbol != "" && *pauseEvery > 0 {
		go pauseNowAndThen(ctx, srv.Hub(), *pauseSymbol, *pauseEvery, *pauseFor, log)
	}

	title := "tickwire demo · replay of " + rf.files
	if rf.files == "embedded" {
		title = "tickwire demo · real OANDA ticks, 2014-05-08, replayed"
	}
	title += fmt.Sprintf(" ×%g", rf.speed)
	dashErr := runDashboard(ctx, []string{url}, tf, title, log.With("component", "trader"))
	cancel()
	if err := <-served; err != nil {
		return err
	}
	return dashErr
}

// startDemoOrders starts the demo's order flow: the FIX gateway, its
// journal and stores under dir, attached to the server's bridge, and the
// FIX counterparty sending orders on symbols for account DEMO until ctx
// ends. The caller serves the gateway (serveNode), which stops it.
func startDemoOrders(ctx context.Context, dir string, srv *feedserver.Server, bridge *orderfeed.Bridge, dt *demoTLS, rate float64, symbols []string, log *slog.Logger) (*fix.Gateway, error) {
	// The counterparty proves itself with a Logon password made for the
	// run; the gateway keeps only its hash.
	password, err := auth.NewAPIKey()
	if err != nil {
		return nil, err
	}
	gw, addr, err := startDemoGateway(dir, srv, dt, auth.HashAPIKey(password), log)
	if err != nil {
		return nil, err
	}
	bridge.Attach(srv.Hub(), gw)
	go demoOrderFlow(ctx, srv.Hub(), addr, dir, dt.server.trust, password, rate, symbols, log.With("component", "fixclient"))
	return gw, nil
}

// demoFIXUser is the Logon Username of the demo's counterparty.
const demoFIXUser = "democlient"

// startDemoGateway starts the FIX gateway on a free loopback port with the
// demo's counterparty (account DEMO, a Logon password whose SHA-256 is
// passwordHash), its journal and stores under dir.
func startDemoGateway(dir string, srv *feedserver.Server, dt *demoTLS, passwordHash string, log *slog.Logger) (*fix.Gateway, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%d
HeartBtInt=30
ResetOnLogon=N
ResetOnLogout=N
ResetOnDisconnect=N
FileStoreSync=N
%s[SESSION]
BeginString=FIX.4.4
SenderCompID=TICKWIRE
TargetCompID=DEMOCLIENT
TickwireAccounts=%s
TickwireUsername=%s
TickwirePasswordSHA256=%s
`, port, dt.fixSettings(), demoAccount, demoFIXUser, passwordHash)
	settings, err := fix.ParseSettings(strings.NewReader(cfg), "")
	if err != nil {
		return nil, "", err
	}
	gw, err := fix.New(fix.Config{
		Settings: settings,
		DataDir:  filepath.Join(dir, "gateway"),
		Prices:   fix.LatestPrices(srv.Hub().LatestAge),
		Events:   orderfeed.HubEvents{Hub: srv.Hub()},
		Auto:     fix.AutoConfig{Latency: 20 * time.Millisecond, PollInterval: 50 * time.Millisecond},
		Book:     order.Config{AckPendingNew: true}, // care orders get an OrderID at once (docs/tui.md)
		TLS:      dt.server.config,
		Logger:   log.With("component", "fix"),
	})
	if err != nil {
		return nil, "", err
	}
	if err := gw.Start(); err != nil {
		_ = gw.Stop()
		return nil, "", err
	}
	return gw, fmt.Sprintf("127.0.0.1:%d", port), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// demoOrderFlow is the demo's FIX counterparty: market orders for account
// DEMO at rate per second, every 5th canceled and every 7th replaced once
// acknowledged, checked against the expected order state. It runs until ctx
// ends; failures are logged, never shown on the dashboard's terminal.
func demoOrderFlow(ctx context.Context, hub *feedserver.Hub, addr, dir, caFile, password string, rate float64, symbols []string, log *slog.Logger) {
	// Orders on a symbol with no price yet are rejected by the venue:
	// realistic, but not what a first look should show. Wait for prices.
	for _, s := range symbols {
		for {
			if _, ok := hub.Latest(s); ok {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	settings, err := fixclient.Settings(fixclient.Options{
		Addrs: []string{addr}, SenderCompID: "DEMOCLIENT", TargetCompID: "TICKWIRE", StoreDir: filepath.Join(dir, "fixclient"),
		CAFile:   caFile, // "": plain
		Username: demoFIXUser, Password: password,
	})
	if err != nil {
		log.Error("demo order flow", "err", err)
		return
	}
	c, err := fixclient.Connect(ctx, settings, log)
	if err != nil {
		log.Error("demo order flow: no logon", "err", err)
		return
	}
	defer c.Stop()
	res, err := c.RunFlow(ctx, fixclient.Flow{
		Orders: 1 << 20, Rate: rate, Window: 10, Symbols: symbols, Qty: "100000",
		CancelEvery: 5, ReplaceEvery: 7, Account: demoAccount,
		// Short, and new each run: ClOrdIDs are unique for ever per session.
		Prefix: "D" + strconv.FormatInt(time.Now().Unix()%(36*36*36*36), 36) + "-",
	}, nil)
	log.Info("demo order flow ended", "orders", res.Orders, "reports", res.Reports, "mismatches", len(res.Mismatches), "err", err)
	for _, m := range res.Mismatches {
		log.Warn("demo order flow mismatch", "detail", m)
	}
}

// pauseNowAndThen pauses symbol's ingest for pauseFor every `every`, so the
// demo shows a feed going stale and recovering.
func pauseNowAndThen(ctx context.Context, h *feedserver.Hub, symbol string, every, pauseFor time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		log.Info("demo: pausing feed", "symbol", symbol, "for", pauseFor)
		h.SetPaused(symbol, true)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pauseFor):
		}
		h.SetPaused(symbol, false)
		log.Info("demo: feed resumed", "symbol", symbol)
	}
}
