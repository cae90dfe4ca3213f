// Package demo is what `tickwire demo` adds to a feed server: an order flow
// (the FIX gateway with its simulated exchange, and a FIX counterparty
// sending orders for account DEMO), a feed paused now and then so it goes
// stale and recovers, and the dashboard's credential. The command keeps
// the flags and the wiring.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tickwire/auth"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/fix/order"
	"tickwire/orderfeed"
	"tickwire/tlsconf"
)

// Account is the account of the demo's order flow: the dashboard shows its
// orders from the topic orders.DEMO.
const Account = "DEMO"

// fixUser is the Logon Username of the demo's counterparty.
const fixUser = "democlient"

// tokenTTL is the dashboard token's lifetime: the demo runs for minutes.
const tokenTTL = 24 * time.Hour

// traderToken mints the demo dashboard's token: account DEMO, roles trader
// and desk (it works care orders too), all market data, valid a day.
func traderToken(a *auth.Ephemeral) (string, error) {
	return a.Mint(auth.MintOptions{Subject: "demo-trader", Roles: []string{auth.RoleTrader, auth.RoleDesk},
		Accounts: []string{Account}, TTL: tokenTTL})
}

// NewServer makes the demo's feed server: authentication on with a key pair
// that lives in memory only, the order bridge behind it (for StartOrders),
// and the dashboard's token (traderToken). topics are its topic rules (nil:
// the defaults) and reload reloads their behaviours (nil: none).
func NewServer(staleAfter time.Duration, topics []feedserver.TopicRule, reload func(context.Context) error, log *slog.Logger) (srv *feedserver.Server, bridge *orderfeed.Bridge, token string, err error) {
	bridge = orderfeed.New(log.With("component", "requests"))
	da, err := auth.NewEphemeral()
	if err != nil {
		return nil, nil, "", err
	}
	if token, err = traderToken(da); err != nil {
		return nil, nil, "", err
	}
	srv = feedserver.New(feedserver.Config{Name: "demo", StaleAfter: staleAfter, Logger: log.With("component", "server"),
		Requests: bridge.Handlers(), Snapshotter: bridge, Authenticator: da.Verifier, Topics: topics, ReloadBehaviours: reload})
	return srv, bridge, token, nil
}

// Title is the dashboard's title for a replay of files (--replay) at speed.
func Title(files string, speed float64) string {
	title := "tickwire demo · replay of " + files
	if files == "embedded" {
		title = "tickwire demo · real OANDA ticks, 2014-05-08, replayed"
	}
	return title + fmt.Sprintf(" ×%g", speed)
}

// Orders configures the demo's order flow.
type Orders struct {
	Dir     string // the gateway's journal and stores, and the counterparty's
	Server  *feedserver.Server
	Bridge  *orderfeed.Bridge // the server's request handlers, attached to the gateway
	TLS     tlsconf.Server    // the gateway's TLS and the certificate the counterparty trusts (Config nil: plain)
	Rate    float64           // orders per second
	Symbols []string
	Logger  *slog.Logger
}

// StartOrders starts the demo's order flow: the FIX gateway, its journal
// and stores under o.Dir, attached to the server's bridge, and the FIX
// counterparty sending orders on o.Symbols for account DEMO until ctx
// ends. The caller serves the gateway (node.Serve), which stops it.
func StartOrders(ctx context.Context, o Orders) (*fix.Gateway, error) {
	// The counterparty proves itself with a Logon password made for the
	// run; the gateway keeps only its hash.
	password, err := auth.NewAPIKey()
	if err != nil {
		return nil, err
	}
	gw, addr, err := startGateway(o, auth.HashAPIKey(password))
	if err != nil {
		return nil, err
	}
	o.Bridge.Attach(o.Server.Hub(), gw)
	go orderFlow(ctx, o, addr, password, o.Logger.With("component", "fixclient"))
	return gw, nil
}

// startGateway starts the FIX gateway on a free loopback port with the
// demo's counterparty (account DEMO, a Logon password whose SHA-256 is
// passwordHash), its journal and stores under o.Dir.
func startGateway(o Orders, passwordHash string) (*fix.Gateway, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	useSSL := ""
	if o.TLS.Config != nil {
		useSSL = "SocketUseSSL=Y\n" // with the server's certificate (fix.Config.TLS)
	}
	cfg := fmt.Sprintf(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=%d
HeartBtInt=30
ResetOnLogon=N
ResetOnLogout=N
ResetOnDisconnect=N
FileStoreSync=N
%s[SESSION]
BeginString=FIX.4.4
SenderCompID=TICKWIRE
TargetCompID=DEMOCLIENT
TickwireAccounts=%s
TickwireUsername=%s
TickwirePasswordSHA256=%s
`, port, useSSL, Account, fixUser, passwordHash)
	settings, err := fix.ParseSettings(strings.NewReader(cfg), "")
	if err != nil {
		return nil, "", err
	}
	hub := o.Server.Hub()
	gw, err := fix.Listen(fix.Config{
		Settings: settings,
		DataDir:  filepath.Join(o.Dir, "gateway"),
		Prices:   fix.LatestPrices(hub.LatestAge),
		Events:   orderfeed.HubEvents{Hub: hub},
		Auto:     fix.AutoConfig{Latency: 20 * time.Millisecond, PollInterval: 50 * time.Millisecond},
		Book:     order.Config{AckPendingNew: true}, // care orders get an OrderID at once (docs/tui.md)
		TLS:      o.TLS.Config,
		Logger:   o.Logger.With("component", "fix"),
	})
	if err != nil {
		return nil, "", err
	}
	return gw, fmt.Sprintf("127.0.0.1:%d", port), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// orderFlow is the demo's FIX counterparty: market orders for account DEMO
// at o.Rate per second, every 5th canceled and every 7th replaced once
// acknowledged, checked against the expected order state. It runs until ctx
// ends; failures are logged, never shown on the dashboard's terminal.
func orderFlow(ctx context.Context, o Orders, addr, password string, log *slog.Logger) {
	// Orders on a symbol with no price yet are rejected by the venue:
	// realistic, but not what a first look should show. Wait for prices.
	for _, s := range o.Symbols {
		for {
			if _, ok := o.Server.Hub().Latest(s); ok {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	settings, err := fixclient.Settings(fixclient.Options{
		Addrs: []string{addr}, SenderCompID: "DEMOCLIENT", TargetCompID: "TICKWIRE", StoreDir: filepath.Join(o.Dir, "fixclient"),
		CAFile:   o.TLS.Trust, // "": plain
		Username: fixUser, Password: password,
	})
	if err != nil {
		log.Error("demo order flow", "err", err)
		return
	}
	c, err := fixclient.Connect(ctx, settings, log)
	if err != nil {
		log.Error("demo order flow: no logon", "err", err)
		return
	}
	defer c.Stop()
	res, err := c.RunFlow(ctx, fixclient.Flow{
		Orders: 1 << 20, Rate: o.Rate, Window: 10, Symbols: o.Symbols, Qty: "100000",
		CancelEvery: 5, ReplaceEvery: 7, Account: Account,
		// Short, and new each run: ClOrdIDs are unique for ever per session.
		Prefix: "D" + strconv.FormatInt(time.Now().Unix()%(36*36*36*36), 36) + "-",
	}, nil)
	log.Info("demo order flow ended", "orders", res.Orders, "reports", res.Reports, "mismatches", len(res.Mismatches), "err", err)
	for _, m := range res.Mismatches {
		log.Warn("demo order flow mismatch", "detail", m)
	}
}

// PauseNowAndThen pauses symbol's ingest for pauseFor every `every`, until
// ctx ends, so the demo shows a feed going stale and recovering.
func PauseNowAndThen(ctx context.Context, h *feedserver.Hub, symbol string, every, pauseFor time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		log.Info("demo: pausing feed", "symbol", symbol, "for", pauseFor)
		h.SetPaused(symbol, true)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pauseFor):
		}
		h.SetPaused(symbol, false)
		log.Info("demo: feed resumed", "symbol", symbol)
	}
}
