package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tickwire/trader"
	"tickwire/tui"
)

// traderFlags are the dashboard options shared by trader and demo.
type traderFlags struct {
	symbols    string
	staleAfter time.Duration
	config     string
	paper      bool
	accounts   string
	token      string      // the credential: trader's --token/--token-file, or the demo's
	tls        *tls.Config // for wss:// servers (--ca); nil: system roots
	fs         *flag.FlagSet
}

func (t *traderFlags) register(fs *flag.FlagSet, defaultSymbols string) {
	fs.StringVar(&t.symbols, "symbols", defaultSymbols, "comma-separated symbols to watch (`LIST`)")
	fs.DurationVar(&t.staleAfter, "stale-after", 5*time.Second, "mark a row stale when its data is older than this")
	fs.Var((*trader.ConfigFile)(&t.config), "config", "read servers, watchlist, per-symbol stale thresholds and colours (see docs/tui.md), and flag values, from `FILE` (YAML or JSON)")
	fs.BoolVar(&t.paper, "paper", false, "paper trading: order entry works against a simulator in the dashboard (limit orders fill half at once); nothing is sent anywhere")
	fs.StringVar(&t.accounts, "accounts", "", "comma-separated accounts (`LIST`): the blotter shows their orders (topics orders.ACCOUNT) and new orders go to the server's order gateway for the first; none: order entry unavailable")
	t.fs = fs
}

// accountList returns the --accounts.
func (t *traderFlags) accountList() []string { return splitList(t.accounts) }

// given reports whether the named flag was set on the command line.
func (t *traderFlags) given(name string) bool {
	found := false
	if t.fs != nil {
		t.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	}
	return found
}

// fileConfig loads the --config file, if any.
func (t *traderFlags) fileConfig() (tui.FileConfig, error) {
	if t.config == "" {
		return tui.FileConfig{}, nil
	}
	return trader.LoadConfig(t.config)
}

// list returns the --symbols.
func (t *traderFlags) list() []string { return splitList(t.symbols) }

func defaultLogFile(name string) string {
	return filepath.Join(os.TempDir(), name+".log")
}

func runTrader(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trader", flag.ContinueOnError)
	servers := fs.String("server", "ws://127.0.0.1:8080/ws", "comma-separated server WebSocket URLs, tried in order (`URLS`)")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-trader"))
	setUsage(fs, "trader")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	fc, err := tf.fileConfig()
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	list := *servers
	if !tf.given("server") && len(fc.Servers) > 0 {
		list = strings.Join(fc.URLs(), ",")
	}
	urls := splitList(list)
	for _, u := range urls {
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return usageError{fmt.Errorf("--server %q: want a ws:// or wss:// URL", u)}
		}
	}
	if len(urls) == 0 {
		return usageError{fmt.Errorf("--server: no URL")}
	}
	if tf.token, tf.tls, err = conn.resolve(); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	title := "tickwire trader"
	if fc.Title != "" {
		title = fc.Title
	}
	return runDashboard(ctx, urls, tf, title, log)
}

// runDashboard runs the TUI against urls until the user quits or ctx ends.
func runDashboard(ctx context.Context, urls []string, tf traderFlags, title string, log *slog.Logger) error {
	fc, err := tf.fileConfig()
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	cfg, err := trader.DashboardConfig(&fc, title, tf.list(), tf.given("symbols"), tf.staleAfter, tf.given("stale-after"))
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	log.Info("dashboard", "servers", urls, "symbols", cfg.Symbols, "stale_after", cfg.StaleAfter, "config", tf.config)
	return trader.Run(ctx, trader.Options{URLs: urls, Token: tf.token, TLS: tf.tls, Config: cfg, Paper: tf.paper, Accounts: tf.accountList(), Logger: log})
}
