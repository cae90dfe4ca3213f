package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/node"
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
	names := splitList(r.files)
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

// serverFlags are the flags of `tickwire server`.
type serverFlags struct {
	listen, name          string
	heartbeat, staleAfter time.Duration
	maxConns              int
	log                   logFlags
	replay                replayFlags
	fix                   fixFlags
	rec                   recoveryFlags
	lim                   limitFlags
	auth                  authFlags
	web                   webFlags
	tls                   serverTLSFlags
	cluster               clusterFlags
	beh                   behaviourFlags
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve WebSocket and HTTP on (`HOST:PORT`)")
	fs.StringVar(&f.name, "name", "tickwire", "node name sent to clients")
	fs.DurationVar(&f.heartbeat, "heartbeat", time.Second, "ping interval; a client silent for 3 is dropped (see --idle-timeout)")
	fs.IntVar(&f.maxConns, "max-connections", 10000, "connection cap")
	fs.DurationVar(&f.staleAfter, "stale-after", 10*time.Second, "mark a price topic stale when its source is silent this long (0: never)")
	f.log.register(fs, "")
	f.replay.register(fs, "")
	f.fix.register(fs)
	f.rec.register(fs)
	f.lim.register(fs)
	f.auth.register(fs)
	f.web.register(fs)
	f.tls.register(fs)
	f.cluster.register(fs)
	f.beh.register(fs)
}

// feedConfig checks the flags that make the feed server's Config (but the
// journal's: recoveryFlags.apply) and returns it.
func (f *serverFlags) feedConfig(log *slog.Logger) (feedserver.Config, error) {
	authn, err := f.auth.authenticator()
	if err != nil {
		return feedserver.Config{}, err
	}
	if err := f.web.checkOpenFIX(f.fix.config, authn, log.Warn); err != nil {
		return feedserver.Config{}, err
	}
	var cfg feedserver.Config
	if err := f.lim.apply(&cfg); err != nil {
		return cfg, err
	}
	cfg.Name, cfg.Heartbeat, cfg.MaxConnections, cfg.StaleAfter, cfg.Logger = f.name, f.heartbeat, f.maxConns, f.staleAfter, log
	cfg.Authenticator = authn
	return cfg, f.web.apply(&cfg, f.listen)
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var f serverFlags
	f.register(fs)
	setUsage(fs, "server")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	log, closeLog, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	stls, err := f.tls.load(log)
	if err != nil {
		return err
	}
	f.fix.tls = stls.Config // for a FIX config with SocketUseSSL=Y and no files of its own
	open, err := f.replay.opener()
	if err != nil {
		return err
	}
	cfg, err := f.feedConfig(log)
	if err != nil {
		return err
	}
	rules, behaviours, err := f.beh.rules(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = behaviours.Close(context.Background()) }() // after the server: no merge in flight
	if rules != nil {
		cfg.Topics = rules
	}
	behaviours.Configure(&cfg)
	if f.cluster.enabled {
		return serveClusterNode(ctx, &f, cfg, stls, open, stdout, log)
	}
	closeJournal, err := f.rec.apply(&cfg, log)
	if err != nil {
		return err
	}
	// The journal, which the server and the gateway both publish into, is
	// closed last (docs/limits.md).
	err = node.Standalone{Config: cfg, Listen: f.listen, TLS: stls, Open: open, Replay: f.replay.options(),
		Gateway: func(p fix.Prices, e fix.OrderEvents) (*fix.Gateway, error) { return startFIX(f.fix, p, e, log) },
	}.Serve(ctx, stdout, log)
	if jerr := closeJournal(); jerr != nil {
		log.Error("shutdown: journal close", "err", jerr)
		if err == nil {
			err = jerr
		}
	} else if f.rec.data != "" {
		log.Info("shutdown: journal synced and closed")
	}
	if err == nil {
		log.Info("shutdown: done")
	}
	return err
}
