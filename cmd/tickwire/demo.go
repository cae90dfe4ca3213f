package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"tickwire/demodata"
	"tickwire/feedserver"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address for the demo's server (`HOST:PORT`; port 0 picks a free one)")
	var rf replayFlags
	rf.register(fs, "embedded")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-demo"))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: tickwire demo [flags]

Starts a feed server on 127.0.0.1 replaying recorded ticks (by default the
shipped excerpt of real OANDA EURUSD/NZDUSD quotes, %s) and the trader
dashboard connected to it over a real WebSocket. Keys: q quits.

Flags:
`, demodata.Name)
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
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	srv := feedserver.New(feedserver.Config{Name: "demo", Logger: log.With("component", "server")})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveWithReplay(ctx, srv, ln, open, rf.options(), log) }()
	log.Info("demo", "ws", url, "replay", rf.files, "speed", rf.speed)

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
