package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/orderfeed"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// replayFlags are the replay options shared by server and demo.
type replayFlags struct {
	files   string
	speed   float64
	loop    bool
	skipBad bool
}

func (r *replayFlags) register(fs *flag.FlagSet, defaultFiles string) {
	fs.StringVar(&r.files, "replay", defaultFiles, "comma-separated tick files to replay (`FILES`); \"embedded\" is the shipped OANDA excerpt")
	fs.Float64Var(&r.speed, "speed", 1, "replay speed: 1 is real time, 10 ten times faster, 0 as fast as possible")
	fs.BoolVar(&r.loop, "loop", true, "start the replay again at the end")
	fs.BoolVar(&r.skipBad, "skip-bad", false, "skip and count malformed rows instead of stopping")
}

// opener returns a function opening the replay's sources, time-aligned, or
// nil without --replay.
func (r *replayFlags) opener() (func() (ticks.Source, error), error) {
	var names []string
	for _, f := range strings.Split(r.files, ",") {
		if f = strings.TrimSpace(f); f != "" {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	if r.speed < 0 {
		return nil, usageError{fmt.Errorf("--speed %v: must be >= 0", r.speed)}
	}
	files := &tickfeed.Files{Names: names, Options: ticks.Options{SkipBad: r.skipBad}}
	// Read the first tick now so a bad path or file fails at start, not in
	// the background.
	if _, err := files.First(); err != nil {
		return nil, err
	}
	return files.Open, nil
}

func (r *replayFlags) options() ticks.ReplayOptions {
	return ticks.ReplayOptions{Speed: r.speed, Loop: r.loop}
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve WebSocket and HTTP on (`HOST:PORT`)")
	name := fs.String("name", "tickwire", "node name sent to clients")
	heartbeat := fs.Duration("heartbeat", time.Second, "ping interval; a client silent for 3 is dropped (see --idle-timeout)")
	maxConns := fs.Int("max-connections", 10000, "connection cap")
	staleAfter := fs.Duration("stale-after", 10*time.Second, "mark a price topic stale when its source is silent this long (0: never)")
	var lf logFlags
	lf.register(fs, "")
	var rf replayFlags
	rf.register(fs, "")
	var ff fixFlags
	ff.register(fs)
	var rec recoveryFlags
	rec.register(fs)
	var lim limitFlags
	lim.register(fs)
	var af authFlags
	af.register(fs)
	var wf webFlags
	wf.register(fs)
	var tf serverTLSFlags
	tf.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire server [flags]\n\nRuns a feed server: WebSocket clients at ws://LISTEN/ws, topics at http://LISTEN/topics\n(wss:// and https:// only, with --tls-cert/--tls-key or --tls-self-signed: docs/tls.md).\n\nFlags:\n")
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
	stls, err := tf.load(log)
	if err != nil {
		return err
	}
	ff.tls = stls.config // for a FIX config with SocketUseSSL=Y and no files of its own
	open, err := rf.opener()
	if err != nil {
		return err
	}
	authn, err := af.authenticator()
	if err != nil {
		return err
	}
	if err := wf.checkOpenFIX(ff.config, authn, log.Warn); err != nil {
		return err
	}
	orders := orderfeed.New(log.With("component", "requests"))
	cfg := feedserver.Config{Name: *name, Heartbeat: *heartbeat, MaxConnections: *maxConns, StaleAfter: *staleAfter, Logger: log,
		Requests: orders.Handlers(), Snapshotter: orders, Authenticator: authn}
	if err := lim.apply(&cfg); err != nil {
		return err
	}
	if err := wf.apply(&cfg, *listen); err != nil {
		return err
	}
	closeJournal, err := rec.apply(&cfg, log)
	if err != nil {
		return err
	}
	journalOpen := true
	defer func() {
		if journalOpen {
			_ = closeJournal()
		}
	}()
	srv := feedserver.New(cfg)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = stls.listener(ln)
	gw, err := startFIX(ff, fix.SnapshotPrices(srv.Hub().SnapshotAge), orderfeed.HubEvents{Hub: srv.Hub()}, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	orders.Attach(srv.Hub(), gw) // nil without --fix-config: order requests are refused with a reason
	if gw != nil {
		srv.Registry().MustRegister(orderfeed.NewCollector(gw)) // FIX sessions at /metrics
	}
	wsURL := stls.wsScheme() + "://" + ln.Addr().String() + "/ws"
	log.Info("serving", "ws", wsURL, "node", *name, "tls", stls.config != nil)
	fmt.Fprintf(stdout, "tickwire server listening on %s\n", wsURL)
	if stls.trust != "" {
		fmt.Fprintf(stdout, "self-signed certificate: clients trust it with --ca %s\n", stls.trust)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if gw != nil {
		fmt.Fprintf(stdout, "FIX gateway listening on %s%s\n", gw.Addr(), fixTLSNote(gw))
		go func() {
			select {
			case <-ctx.Done():
			case <-gw.Done(): // a storage failure: stop everything
				log.Error("fix gateway failed", "err", gw.Err())
				cancel()
			}
		}()
	}
	// Shutdown order (docs/limits.md): the server drains (its clients'
	// requests to the gateway finish), then the gateway finishes its
	// orders in flight and logs its sessions out, then the journal, which
	// both publish into, is synced and closed.
	err = serveWithReplay(ctx, srv, ln, open, rf.options(), log)
	if gw != nil {
		if ferr := stopFIX(gw, log); err == nil {
			err = ferr
		}
	}
	journalOpen = false
	if jerr := closeJournal(); jerr != nil {
		log.Error("shutdown: journal close", "err", jerr)
		if err == nil {
			err = jerr
		}
	} else if rec.data != "" {
		log.Info("shutdown: journal synced and closed")
	}
	if err == nil {
		log.Info("shutdown: done")
	}
	return err
}

// serveWithReplay serves srv on ln and, if open is not nil, replays into it,
// until ctx is done or either fails.
func serveWithReplay(ctx context.Context, srv *feedserver.Server, ln net.Listener, open func() (ticks.Source, error), opt ticks.ReplayOptions, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, ln) }()
	n := 1
	if open != nil {
		n++
		go func() {
			// Ingest stops as the server starts draining, on the same ctx.
			st, err := tickfeed.Replay(ctx, open, opt, &tickfeed.HubPublisher{Hub: srv.Hub()})
			if ctx.Err() != nil {
				err = nil // stopped as asked
			} else if err != nil {
				err = fmt.Errorf("replay: %w", err)
			}
			log.Info("replay ended", "ticks", st.Ticks, "loops", st.Loops, "max_drift", st.MaxDrift, "err", err)
			if err != nil {
				cancel()
			}
			errc <- err
		}()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
			cancel()
		}
	}
	return first
}
