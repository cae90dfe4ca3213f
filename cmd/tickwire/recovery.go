package main

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"tickwire/feedserver"
	"tickwire/node"
	"tickwire/recovery"
	"tickwire/sessions"
)

// recoveryFlags are the server's durability and session flags: where the
// journal of sequenced topics and the session secret live, the fsync policy,
// retention, and how long sessions linger (runServer: register, then apply).
type recoveryFlags struct {
	data       string
	linger     time.Duration
	sync       string
	retain     uint64
	retainAge  time.Duration
	idemWindow time.Duration
	idemEvents int
}

func (r *recoveryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.data, "data", "", "data directory (`DIR`): the journal of sequenced topics ("+node.JournalFile+") and the session secret ("+sessions.SecretFile+"); empty keeps them in memory, lost on exit")
	fs.DurationVar(&r.linger, "linger", 30*time.Second, "how long a disconnected client's session is kept for it to resume (0: not kept)")
	fs.StringVar(&r.sync, "sync", "always", "journal fsync policy with --data: always (every commit, before publishers are acknowledged), interval (every 100ms: a power loss may lose and corrupt), none (tests only)")
	fs.Uint64Var(&r.retain, "retain", 0, "keep at most `N` events per sequenced topic in the journal (0: all); older positions get a history-lost marker")
	fs.DurationVar(&r.retainAge, "retain-age", 0, "drop journal events older than this (0: keep)")
	fs.DurationVar(&r.idemWindow, "idempotency-window", 5*time.Minute, "how long a sequenced topic remembers a publish's idempotency key (REST Idempotency-Key): a retry within it stores nothing")
	fs.IntVar(&r.idemEvents, "idempotency-events", 16384, "a publish's idempotency key is remembered only while its event is among its topic's newest `N` events")
}

// apply opens the journal and the session secret in --data and puts them,
// with the linger, in cfg. The returned function closes the journal: call it
// after the server has stopped.
func (r *recoveryFlags) apply(cfg *feedserver.Config, log *slog.Logger) (closeJournal func() error, err error) {
	if r.idemWindow <= 0 || r.idemEvents <= 0 {
		return nil, usageError{fmt.Errorf("--idempotency-window and --idempotency-events: out of range")}
	}
	cfg.IdempotencyWindow, cfg.IdempotencyEvents = r.idemWindow, r.idemEvents
	cfg.SessionLinger = r.linger
	if r.linger <= 0 {
		cfg.SessionLinger = -1 // the flag's 0 means none; the Config's 0 means the default
	}
	if r.data == "" {
		if r.retain > 0 || r.retainAge > 0 || r.sync != "always" {
			return nil, usageError{fmt.Errorf("--retain, --retain-age and --sync need --data")}
		}
		log.Warn("no --data: sequenced topics and sessions are in memory; a restart loses them")
		return func() error { return nil }, nil
	}
	var opts recovery.BoltOptions
	if opts.Sync, err = recovery.ParseSyncPolicy(r.sync); err != nil {
		return nil, usageError{fmt.Errorf("--sync %q: %w", r.sync, err)}
	}
	opts.Retention = recovery.Retention{MaxEntries: r.retain, MaxAge: r.retainAge}
	opts.OnBackgroundError = func(err error) { log.Error("journal", "err", err) }
	j, secret, err := node.OpenData(r.data, opts)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	cfg.Journal, cfg.SessionSecret = j, secret
	log.Info("journal open", "path", j.Path(), "sync", opts.Sync.String())
	return j.Close, nil
}
