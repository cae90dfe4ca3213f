package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"tickwire/demo"
	"tickwire/demodata"
	"tickwire/fix"
	"tickwire/node"
)

// demoFlags are the flags of `tickwire demo`.
type demoFlags struct {
	listen               string
	feedStale            time.Duration
	orders               bool
	orderRate            float64
	pauseSymbol          string
	pauseEvery, pauseFor time.Duration
	behaviours           string
	replay               replayFlags
	trader               traderFlags
	log                  logFlags
	tls                  demoTLSFlag
}

func (d *demoFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.listen, "listen", "127.0.0.1:0", "address for the demo's server (`HOST:PORT`; port 0 picks a free one)")
	fs.DurationVar(&d.feedStale, "feed-stale-after", 4*time.Second, "the server marks a symbol's feed stale after this much silence")
	fs.BoolVar(&d.orders, "orders", true, "run the FIX gateway and a FIX counterparty sending orders, so the blotter is live")
	fs.Float64Var(&d.orderRate, "order-rate", 0.5, "demo orders per second")
	fs.StringVar(&d.pauseSymbol, "pause", "NZDUSD", "symbol whose feed the demo pauses now and then, to show staleness (\"\" never)")
	fs.DurationVar(&d.pauseEvery, "pause-every", 40*time.Second, "how often the demo pauses that feed")
	fs.DurationVar(&d.pauseFor, "pause-for", 10*time.Second, "how long each pause lasts")
	fs.StringVar(&d.behaviours, "behaviours", "bin/behaviours", "`DIR` of the behaviour modules `make behaviours` builds: the quotes merge through mid.wasm (docs/behaviours.md); missing: plain quotes")
	d.replay.register(fs, "embedded")
	d.trader.register(fs, "EURUSD,NZDUSD")
	d.log.register(fs, defaultLogFile("tickwire-demo"))
	d.tls.register(fs)
}

// runDemo is `tickwire demo`: a node (feed server, replay, the gateway and
// a counterparty's orders) and the dashboard against it, in one process.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var d demoFlags
	d.register(fs)
	rf, tf, lf, dtf := &d.replay, &d.trader, &d.log, &d.tls
	setUsage(fs, "demo", demodata.Name)
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
	ln, err := net.Listen("tcp", d.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = dt.Server.Listener(ln)
	url := dt.Server.WSScheme() + "://" + ln.Addr().String() + "/ws"
	rules, behs, err := node.DemoTopicRules(ctx, d.behaviours, tf.list(), log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = behs.Close(context.Background()) }() // after node.Serve (<-served)
	var reload func(context.Context) error
	if behs.Any() {
		reload = behs.Reload
	}
	srv, bridge, token, err := demo.NewServer(d.feedStale, rules, reload, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	tf.token = token
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gw *fix.Gateway
	if d.orders {
		dir, err := os.MkdirTemp("", "tickwire-demo-")
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer os.RemoveAll(dir) // after node.Serve has stopped the gateway (<-served)
		gw, err = demo.StartOrders(ctx, demo.Orders{Dir: dir, Server: srv, Bridge: bridge, TLS: dt.Server, Rate: d.orderRate, Symbols: tf.list(), Logger: log})
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
		served <- node.Serve(ctx, node.Node{Server: srv, Listener: ln, Gateway: gw, Feed: node.Replay(srv, open, rf.options(), log), Logger: log})
	}()
	log.Info("demo", "ws", url, "replay", rf.files, "speed", rf.speed)
	if d.pauseSymbol != "" && d.pauseEvery > 0 {
		go demo.PauseNowAndThen(ctx, srv.Hub(), d.pauseSymbol, d.pauseEvery, d.pauseFor, log)
	}

	dashErr := runDashboard(ctx, []string{url}, *tf, demo.Title(rf.files, rf.speed), log.With("component", "trader"))
	cancel()
	if err := <-served; err != nil {
		return err
	}
	return dashErr
}
