package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"tickwire/auth"
	"tickwire/demo"
	"tickwire/demodata"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/node"
	"tickwire/orderfeed"
)

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
	behaviours := fs.String("behaviours", "bin/behaviours", "`DIR` of the behaviour modules `make behaviours` builds: the quotes merge through mid.wasm (docs/behaviours.md); missing: plain quotes")
	var rf replayFlags
	rf.register(fs, "embedded")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-demo"))
	var dtf demoTLSFlag
	dtf.register(fs)
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
	dt, cleanTLS, err := dtf.setup(log)
	if err != nil {
		return err
	}
	defer cleanTLS()
	tf.tls = dt.Client
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = dt.Server.Listener(ln)
	url := dt.Server.WSScheme() + "://" + ln.Addr().String() + "/ws"
	bridge := orderfeed.New(log.With("component", "requests"))
	da, err := auth.NewEphemeral() // authentication on, with a key pair that lives in memory only
	if err != nil {
		return err
	}
	if tf.token, err = demo.TraderToken(da); err != nil {
		return err
	}
	rules, behs, err := demoBehaviours(ctx, *behaviours, tf.list(), log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = behs.Close(context.Background()) }() // after node.Serve (<-served)
	srvCfg := feedserver.Config{Name: "demo", StaleAfter: *feedStale, Logger: log.With("component", "server"),
		Requests: bridge.Handlers(), Snapshotter: bridge, Authenticator: da.Verifier, Topics: rules}
	behs.Configure(&srvCfg)
	srv := feedserver.New(srvCfg)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gw *fix.Gateway
	if *orders {
		dir, err := os.MkdirTemp("", "tickwire-demo-")
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer os.RemoveAll(dir) // after node.Serve has stopped the gateway (<-served)
		gw, err = demo.StartOrders(ctx, demo.Orders{Dir: dir, Server: srv, Bridge: bridge, TLS: dt.Server, Rate: *orderRate, Symbols: tf.list(), Logger: log})
		if err != nil {
			_ = ln.Close()
			return err
		}
		if !tf.given("accounts") {
			tf.accounts = demo.Account // the dashboard shows orders.DEMO and trades on DEMO
		}
	}
	served := make(chan error, 1)
	go func() {
		served <- node.Serve(ctx, node.Node{Server: srv, Listener: ln, Gateway: gw, Feed: replayFeed(srv, open, rf.options(), log), Logger: log})
	}()
	log.Info("demo", "ws", url, "replay", rf.files, "speed", rf.speed)
	if *pauseSymbol != "" && *pauseEvery > 0 {
		go demo.PauseNowAndThen(ctx, srv.Hub(), *pauseSymbol, *pauseEvery, *pauseFor, log)
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
