package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/orderfeed"
	"tickwire/ticks"
	"tickwire/tlsconf"
)

// Standalone is `tickwire server` without a cluster: a feed server with the
// order service, a FIX gateway behind it if Gateway starts one, and the
// replay of Open.
type Standalone struct {
	Config feedserver.Config // but its Requests and Snapshotter, the order service's
	Listen string            // HOST:PORT
	TLS    tlsconf.Server
	// Gateway starts the FIX gateway on the server's prices and order
	// events; nil, or a nil gateway: none, order requests are refused
	// with a reason.
	Gateway func(fix.Prices, fix.OrderEvents) (*fix.Gateway, error)
	Open    func() (ticks.Source, error) // the replay's sources; nil: none
	Replay  ticks.ReplayOptions
}

// Serve starts the server and the gateway, says on stdout where they
// listen, and serves until ctx ends or either fails (Serve). SIGHUP
// reloads the behaviours' modules (docs/behaviours.md).
func (s Standalone) Serve(ctx context.Context, stdout io.Writer, log *slog.Logger) error {
	cfg := s.Config
	orders := orderfeed.New(log.With("component", "requests"))
	cfg.Requests, cfg.Snapshotter = orders.Handlers(), orders
	srv := feedserver.New(cfg)
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = s.TLS.Listener(ln)
	var gw *fix.Gateway
	if s.Gateway != nil {
		if gw, err = s.Gateway(fix.LatestPrices(srv.Hub().LatestAge), orderfeed.HubEvents{Hub: srv.Hub()}); err != nil {
			_ = ln.Close()
			return err
		}
	}
	orders.Attach(srv.Hub(), gw) // nil gw: order requests are refused with a reason
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupCtx, stopHup := context.WithCancel(ctx)
	defer stopHup()
	go ReloadOn(hupCtx, srv, hup, log)
	if gw != nil {
		srv.Registry().MustRegister(orderfeed.NewCollector(gw)) // FIX sessions at /metrics
	}
	wsURL := s.TLS.WSScheme() + "://" + ln.Addr().String() + "/ws"
	log.Info("serving", "ws", wsURL, "node", cfg.Name, "tls", s.TLS.Config != nil)
	fmt.Fprintf(stdout, "tickwire server listening on %s\n", wsURL)
	if s.TLS.Trust != "" {
		fmt.Fprintf(stdout, "self-signed certificate: clients trust it with --ca %s\n", s.TLS.Trust)
	}
	if gw != nil {
		note := ""
		if gw.TLS() {
			note = " (TLS)"
		}
		fmt.Fprintf(stdout, "FIX gateway listening on %s%s\n", gw.Addr(), note)
	}
	return Serve(ctx, Node{Server: srv, Listener: ln, Gateway: gw, Feed: Replay(srv, s.Open, s.Replay, log), Logger: log})
}
