// Package trader is the trader dashboard as a program: a reconnecting
// client to the servers, order entry (paper trading in the dashboard, or
// the server's order gateway over the feed protocol: traderorders) and the
// TUI, run until the user quits; and its config file (config.go).
// `tickwire trader` and `tickwire demo` keep the flags and the wiring.
package trader

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"tickwire/client"
	"tickwire/traderorders"
	"tickwire/tui"
)

// Options configures Run.
type Options struct {
	URLs   []string    // servers, tried in order
	Token  string      // credential presented to them ("": none)
	TLS    *tls.Config // for wss:// servers; nil: system roots
	Config tui.Config  // the dashboard; Run sets its Orders
	// Paper trades against a simulator in the dashboard; else Accounts
	// (none: order entry unavailable) trade through the server's gateway.
	Paper    bool
	Accounts []string
	Logger   *slog.Logger
}

// Run runs the dashboard on the terminal until the user quits or ctx ends
// (no error: the terminal is restored either way).
func Run(ctx context.Context, o Options) error {
	honourNoColor()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log, cfg := o.Logger, o.Config
	accounts := o.Accounts
	if o.Paper {
		accounts = nil
	}
	topics := append(append([]string(nil), cfg.Symbols...), traderorders.Topics(accounts)...)
	cl := client.New(client.Options{URLs: o.URLs, Name: "tickwire-trader", Topics: topics, Token: o.Token, Logger: log, TLS: o.TLS})
	go func() { _ = cl.Run(ctx) }()

	var paper *tui.Paper
	var orders *traderorders.Service
	switch {
	case o.Paper:
		paper = tui.NewPaper()
		cfg.Orders = paper
	case len(accounts) > 0:
		orders = traderorders.New(cl, accounts, log.With("component", "orders"))
		cfg.Orders = orders
		log.Info("order entry", "accounts", accounts, "topics", traderorders.Topics(accounts))
	}
	m := tui.New(cfg)
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	events := cl.Events()
	if paper != nil {
		paper.SetSender(p)
	}
	if orders != nil {
		orders.SetSender(p)
		fed := make(chan client.Event, 1024)
		go orders.Run(ctx, events, fed)
		events = fed
	}
	go tui.Feed(ctx, p, events, 50*time.Millisecond)
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil // interrupted: the terminal is restored either way
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// honourNoColor renders without colours or attributes when NO_COLOR is set
// (https://no-color.org): the dashboard's marks are text and read without them.
func honourNoColor() {
	if v, ok := os.LookupEnv("NO_COLOR"); ok && v != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
}
