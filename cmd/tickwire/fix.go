package main

import (
	"cmp"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"tickwire/fix"
	"tickwire/fix/order"
)

// fixFlags are the FIX gateway options of `tickwire server`.
type fixFlags struct {
	config          string
	dataDir         string
	latency         time.Duration
	pollInterval    time.Duration
	maxPriceAge     time.Duration
	stalePrice      string
	symbols         string
	maxMessage      int
	maxPreLogon     int
	maxPreLogonAddr int
	writeTimeout    time.Duration
	// tls is the feed server's TLS (nil: plain), the certificate of a FIX
	// config that sets SocketUseSSL=Y without files of its own.
	tls *tls.Config
}

func (f *fixFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "fix-config", "", "start the FIX 4.4 gateway with this QuickFIX settings `FILE` (e.g. configs/fix-demo.cfg)")
	fs.StringVar(&f.dataDir, "fix-data", "", "FIX gateway data `DIR`: journal, message stores (default: tickwire-fix beside the settings file)")
	fs.DurationVar(&f.latency, "fix-venue-latency", 0, "auto venue: delay before it answers a new order, cancel or replace")
	fs.DurationVar(&f.pollInterval, "fix-venue-poll", 50*time.Millisecond, "auto venue: how often resting orders are checked against the price")
	fs.DurationVar(&f.maxPriceAge, "fix-max-price-age", 0, "auto venue: the oldest price it trades on (0: the settings file's MaxPriceAge, else the feed's --stale-after)")
	fs.StringVar(&f.stalePrice, "fix-stale-price", "", "auto venue: `reject|hold` an order that would trade on an older price (default: the settings file's StalePriceAction, else reject)")
	fs.StringVar(&f.symbols, "fix-symbols", "", "comma-separated tradable symbols (default: every symbol the feed has a price for)")
	fs.IntVar(&f.maxMessage, "fix-max-message", 64<<10, "largest FIX message a counterparty may send (8= to 10=), in `BYTES`: a larger one closes its connection")
	fs.IntVar(&f.maxPreLogon, "fix-max-pre-logon", 256, "FIX connections awaiting their Logon (TLS handshake included), all told; a new one past it is closed at once (0: no limit)")
	fs.IntVar(&f.maxPreLogonAddr, "fix-max-pre-logon-per-addr", 8, "FIX connections awaiting their Logon per remote IP address (0: no limit)")
	fs.DurationVar(&f.writeTimeout, "fix-write-timeout", 30*time.Second, "close a FIX connection whose writes make no progress this long (a peer that does not read; it gets what it missed by resend when it logs on again)")
}

// startFIX starts the FIX gateway when --fix-config is set, and returns nil
// otherwise. prices is the live price source (fix.LatestPrices over the
// feed's hub), events receives the order flow for traders (may be nil).
// The caller stops the gateway (node.StopGateway) and may watch Done for a fatal
// journal failure (Err).
func startFIX(f fixFlags, prices fix.Prices, events fix.OrderEvents, log *slog.Logger) (*fix.Gateway, error) {
	if f.config == "" {
		return nil, nil
	}
	if f.maxMessage != 0 && f.maxMessage < 1<<10 { // 0: fix.Config's default
		return nil, fmt.Errorf("--fix-max-message %d: want at least 1024 bytes (a Logon must fit)", f.maxMessage)
	}
	if f.maxPreLogon < 0 || f.maxPreLogonAddr < 0 {
		return nil, fmt.Errorf("--fix-max-pre-logon %d, --fix-max-pre-logon-per-addr %d: want 0 (no limit) or more", f.maxPreLogon, f.maxPreLogonAddr)
	}
	settings, err := fix.LoadSettings(f.config)
	if err != nil {
		return nil, err
	}
	dir := f.dataDir
	if dir == "" {
		abs, err := filepath.Abs(f.config)
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(filepath.Dir(abs), "tickwire-fix")
	}
	gw, err := fix.Listen(fix.Config{
		Settings:        settings,
		DataDir:         dir,
		Prices:          prices,
		Symbols:         splitList(f.symbols),
		Events:          events,
		MaxMessageBytes: f.maxMessage,
		// 0 on the command line is no limit; in fix.Config, negative.
		MaxPreLogon:        cmp.Or(f.maxPreLogon, -1),
		MaxPreLogonPerAddr: cmp.Or(f.maxPreLogonAddr, -1),
		WriteTimeout:       f.writeTimeout,
		Auto: fix.AutoConfig{Latency: f.latency, PollInterval: f.pollInterval,
			MaxPriceAge: f.maxPriceAge, StalePrice: fix.StaleAction(f.stalePrice)},
		// Care orders (HandlInst=3) get an OrderID at once, so a trader can
		// work them from the dashboard. A journal keeps the setting it was
		// created with.
		Book:   order.Config{AckPendingNew: true},
		TLS:    f.tls,
		Logger: log.With("component", "fix"),
	})
	if err != nil {
		return nil, err
	}
	for _, s := range gw.Sessions() {
		log.Info("fix session configured", "session", s.ID, "addr", gw.Addr(), "tls", gw.TLS(), "next_out", s.NextSenderSeq, "next_in", s.NextTargetSeq)
	}
	return gw, nil
}
