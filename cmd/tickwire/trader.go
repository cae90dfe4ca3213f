package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
	"tickwire/tui"
)

// traderFlags are the dashboard options shared by trader and demo.
type traderFlags struct {
	symbols    string
	staleAfter time.Duration
}

func (t *traderFlags) register(fs *flag.FlagSet, defaultSymbols string) {
	fs.StringVar(&t.symbols, "symbols", defaultSymbols, "comma-separated symbols to watch (`LIST`)")
	fs.DurationVar(&t.staleAfter, "stale-after", 5*time.Second, "mark a row stale when its data is older than this")
}

func (t *traderFlags) list() []string {
	var out []string
	for _, s := range strings.Split(t.symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func defaultLogFile(name string) string {
	return filepath.Join(os.TempDir(), name+".log")
}

func runTrader(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trader", flag.ContinueOnError)
	servers := fs.String("server", "ws://127.0.0.1:8080/ws", "comma-separated server WebSocket URLs, tried in order (`URLS`)")
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	var lf logFlags
	lf.register(fs, defaultLogFile("tickwire-trader"))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickwire trader [flags]\n\nRuns the trader dashboard against a tickwire server. Keys: q quits.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	var urls []string
	for _, u := range strings.Split(*servers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
				return usageError{fmt.Errorf("--server %q: want a ws:// or wss:// URL", u)}
			}
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return usageError{fmt.Errorf("--server: no URL")}
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	return runDashboard(ctx, urls, tf, "tickwire trader", log)
}

// runDashboard runs the TUI against urls until the user quits or ctx ends.
func runDashboard(ctx context.Context, urls []string, tf traderFlags, title string, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	symbols := tf.list()
	cl := client.New(client.Options{URLs: urls, Name: "tickwire-trader", Topics: symbols, Logger: log})
	go func() { _ = cl.Run(ctx) }()

	m := tui.New(tui.Config{Title: title, Symbols: symbols, StaleAfter: tf.staleAfter})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	go tui.Feed(ctx, p, cl.Events(), 50*time.Millisecond)
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil // interrupted: the terminal is restored either way
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
