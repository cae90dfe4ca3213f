// Package node runs a tickwire node: a feed server on its listener, a feed
// of ticks into it (a replay), and the FIX gateway behind it; and shuts them
// down in order (docs/limits.md). `tickwire server`, `demo` and `replay`
// (its embedded server) all serve through Serve.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// Node is what Serve runs.
type Node struct {
	Server   *feedserver.Server
	Listener net.Listener
	// Gateway, when not nil, is the FIX gateway behind the server: Serve
	// stops it after the server has drained, and stops everything if it
	// fails (a storage failure).
	Gateway *fix.Gateway
	// Feed, when not nil, runs beside the server until its context ends
	// (as the server starts draining) or it returns. Its error stops the
	// node.
	Feed func(ctx context.Context) error
	// StopAfterFeed stops the server when Feed returns (else the server
	// keeps serving until its context ends).
	StopAfterFeed bool
	Logger        *slog.Logger
}

// Serve serves n until ctx is done, Feed returns (with StopAfterFeed) or
// fails, or the server or the gateway fails, then shuts down in order: the
// server drains (its clients' requests to the gateway finish), then the
// gateway finishes its orders in flight and logs its sessions out. It
// returns the first failure.
func Serve(ctx context.Context, n Node) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if n.Gateway != nil {
		go func() {
			select {
			case <-ctx.Done():
			case <-n.Gateway.Done(): // a storage failure: stop everything
				n.Logger.Error("fix gateway failed", "err", n.Gateway.Err())
				cancel()
			}
		}()
	}
	err := serveWithFeed(ctx, n)
	if n.Gateway != nil {
		if ferr := StopGateway(n.Gateway, n.Logger); err == nil {
			err = ferr
		}
	}
	return err
}

// serveWithFeed serves n.Server on n.Listener and runs n.Feed beside it,
// until ctx is done or either fails.
func serveWithFeed(ctx context.Context, n Node) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- n.Server.Serve(ctx, n.Listener) }()
	waiting := 1
	if n.Feed != nil {
		waiting++
		go func() {
			// The feed stops as the server starts draining, on the same ctx.
			err := n.Feed(ctx)
			if err != nil || n.StopAfterFeed {
				cancel()
			}
			errc <- err
		}()
	}
	var first error
	for range waiting {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// Replay is the Feed of `tickwire server --replay` and `demo`: the ticks
// of open's sources, paced by opt, into srv's hub, stamped on arrival. It
// logs how the replay ended; stopping it (ctx) is not a failure. With
// open nil (no --replay) it is nil: no feed.
func Replay(srv *feedserver.Server, open func() (ticks.Source, error), opt ticks.ReplayOptions, log *slog.Logger) func(context.Context) error {
	if open == nil {
		return nil
	}
	return func(ctx context.Context) error {
		st, err := tickfeed.Replay(ctx, open, opt, &tickfeed.HubPublisher{Hub: srv.Hub()})
		if ctx.Err() != nil {
			err = nil // stopped as asked
		} else if err != nil {
			err = fmt.Errorf("replay: %w", err)
		}
		log.Info("replay ended", "ticks", st.Ticks, "loops", st.Loops, "max_drift", st.MaxDrift, "err", err)
		return err
	}
}

// StopGateway stops gw after the feed server has drained: the orders in
// flight are finished and journalled, and the sessions logged out. It
// returns why the gateway stopped, if it failed first.
func StopGateway(gw *fix.Gateway, log *slog.Logger) error {
	err := gw.Err() // a storage failure that stopped it already
	on := 0
	for _, s := range gw.Sessions() {
		if s.LoggedOn {
			on++
		}
	}
	start := time.Now()
	if serr := gw.Stop(); err == nil {
		err = serr
	}
	log.Info("shutdown: FIX gateway stopped", "sessions_logged_out", on, "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
	if err != nil {
		return fmt.Errorf("fix gateway: %w", err)
	}
	return nil
}
