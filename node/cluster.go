package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"tickwire/cascade"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/ha"
	"tickwire/orderfeed"
)

// Cluster is one node of a tickwire cluster (docs/HA.md), what ServeCluster
// runs: a raft node carrying the replicated journal, a feed server on it,
// and the work of whichever role raft gives the node. The Active (the raft
// leader) runs the FIX gateway on the replicated journal and the price
// ingestion; a Standby serves the same order streams from its copy of the
// journal and cascades prices from the Active.
type Cluster struct {
	// HA configures the raft node. Its FeedAddr defaults to the listener's
	// address.
	HA ha.Config
	// Feed configures the feed server. ServeCluster sets its Journal (the
	// replicated one), Cluster, Requests and Snapshotter (the order bridge)
	// and the admin routes of the cluster's membership.
	Feed     feedserver.Config
	Listener net.Listener
	// FIX, when not nil, is the node's FIX gateway: its warm acceptor is
	// built and started at node start, on every node, with its port
	// closed; each time the node becomes the Active a gateway on the
	// replicated journal is attached to it and opens the port, and the
	// port closes when the node stops being the Active (ClusterGateway).
	FIX *ClusterFIX
	// Ingest, when not nil, is the Active's price ingestion into srv (a
	// replay), run while the node is Active: it stops when ctx ends.
	Ingest func(ctx context.Context, srv *feedserver.Server) error
	// CascadeToken is a standby's credential on the Active's feed for the
	// price cascade (an API key with no role: docs/HA.md); "" in open mode.
	CascadeToken string
	// UpstreamTLS, when not nil, is how a standby trusts the Active's feed
	// (wss://): the cascade and the request forwarder. Nil: ws://.
	UpstreamTLS *tls.Config
	// Serving, when not nil, is called once the node serves (to say where).
	Serving func(srv *feedserver.Server, n *ha.Node)
	// StopTimeout bounds handing leadership over on a graceful stop.
	// Default 2 s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// ServeCluster opens the raft node of c (a bad data directory, a peer list
// that does not match it or a corrupt log stop it here, before anything is
// written), serves the feed server on c.Listener and drives the node's role
// until ctx ends. On a graceful stop an Active first hands leadership to an
// up-to-date standby, so the cluster fails over at once instead of after an
// election timeout; then the feed server drains and the gateway stops.
func ServeCluster(ctx context.Context, c Cluster) error {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if c.HA.FeedAddr == "" {
		c.HA.FeedAddr = c.Listener.Addr().String()
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 2 * time.Second
	}
	n, err := ha.Open(ctx, c.HA)
	if err != nil {
		_ = c.Listener.Close()
		return err
	}
	defer closeWithin(n.Close, c.StopTimeout*5, "raft node", log)
	serving := false
	defer func() {
		if !serving {
			_ = c.Listener.Close()
		}
	}()
	if err := checkMember(n, c.HA, log); err != nil {
		return err
	}
	var acc *fix.Acceptor
	if c.FIX != nil {
		// Started now, on every node: quickfix's sessions begin their
		// event loops on the next whole second, which must not be paid at
		// a takeover.
		if acc, err = c.FIX.Acceptor(); err != nil {
			return fmt.Errorf("fix acceptor: %w", err)
		}
		if err := acc.Start(); err != nil {
			acc.Stop()
			return err
		}
		// At return: after the gateway's stop (w.stopAll), before raft's.
		defer closeWithin(func() error { acc.Stop(); return nil }, c.StopTimeout*5, "fix acceptor", log)
		log.Info("fix acceptor started, port closed until the node is active", "addr", acc.Addr())
	}
	bridge := orderfeed.New(log.With("component", "requests"))
	cfg := c.Feed
	cfg.Journal = n.Journal()
	cfg.Cluster = true
	cfg.Requests, cfg.Snapshotter = bridge.Handlers(), bridge
	cfg.AdminRoutes = adminRoutes(n, log)
	srv := feedserver.New(cfg)
	srv.SetNodeState(feedserver.NodeInitial)
	casc, err := cascade.New(cascade.Config{Hub: srv.Hub(), Token: c.CascadeToken, TLS: c.UpstreamTLS, Name: "cascade-" + c.HA.ID,
		Logger: log.With("component", "cascade")})
	if err != nil {
		return err
	}
	fw, err := cascade.NewForwarder(cascade.ForwarderConfig{TLS: c.UpstreamTLS, Logger: log.With("component", "forwarder")})
	if err != nil {
		return err
	}
	defer closeWithin(func() error { fw.Close(); return nil }, c.StopTimeout*5, "request forwarder", log)
	srv.SetRequestForwarder(fw.Forward)
	// The followers and the cascade live as long as the node, not as long
	// as a hook call.
	life, endLife := context.WithCancel(context.Background())
	defer endLife()
	cascaded := make(chan struct{})
	go func() {
		defer close(cascaded)
		_ = casc.Run(life)
	}()
	defer closeWithin(func() error { endLife(); <-cascaded; return nil }, c.StopTimeout*5, "price cascade", log)
	w := &roles{c: c, n: n, srv: srv, bridge: bridge, casc: casc, fw: fw, acc: acc, life: life, log: log}
	srv.Registry().MustRegister(newRaftCollector(n), orderfeed.NewCollector(w))
	d := ha.NewDriver(n, ha.Hooks{SetState: srv.SetNodeState, BecomeActive: w.becomeActive, BecomeStandby: w.becomeStandby}, log.With("component", "ha"))

	sctx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	served := make(chan error, 1)
	serving = true // Serve closes the listener
	go func() { served <- srv.Serve(sctx, c.Listener) }()
	dctx, stopDriver := context.WithCancel(context.Background())
	defer stopDriver()
	driven := make(chan error, 1)
	go func() { driven <- d.Run(dctx) }()
	if c.Serving != nil {
		c.Serving(srv, n)
	}

	var first error
	select {
	case <-ctx.Done():
	case err := <-served: // the listener failed
		first = err
		served <- nil
	}
	if n.IsLeader() {
		// Hand over before stopping: the standbys then fail over in a round
		// trip rather than an election timeout (a rolling restart).
		tctx, cancel := context.WithTimeout(context.Background(), c.StopTimeout)
		if err := n.TransferLeadership(tctx); err != nil {
			log.Warn("shutdown: leadership not handed over", "err", err)
		}
		cancel()
	}
	stopDriver() // BecomeStandby: ingestion and the gateway stop
	if err := <-driven; err != nil && !errors.Is(err, context.Canceled) && first == nil {
		first = fmt.Errorf("ha driver: %w", err)
	}
	stopServer()
	if err := <-served; err != nil && first == nil {
		first = err
	}
	w.stopAll()
	return first
}

// roles is the work of the node's role, started and stopped by the driver's
// hooks, which run one at a time on its goroutine.
type roles struct {
	c      Cluster
	n      *ha.Node
	srv    *feedserver.Server
	bridge *orderfeed.Bridge
	casc   *cascade.Cascade
	fw     *cascade.Forwarder
	acc    *fix.Acceptor   // the node's warm FIX acceptor, nil without FIX
	life   context.Context // the node's lifetime: the standby's followers
	log    *slog.Logger

	mu       sync.Mutex
	gw       *fix.Gateway // the Active's gateway, nil otherwise
	gwJ      *ha.Journal  // its journal handle, closed after it
	ingest   context.CancelFunc
	ingested chan struct{}
}

// Sessions implements orderfeed.Sessions: the FIX sessions of the Active's
// gateway, none on a standby.
func (w *roles) Sessions() []fix.SessionInfo {
	w.mu.Lock()
	gw := w.gw
	w.mu.Unlock()
	if gw == nil {
		return nil
	}
	return gw.Sessions()
}

// becomeActive is the Active's start, after the driver's barrier: the local
// journal holds every committed entry, so the gateway's replay rebuilds the
// exact book and continues each FIX session's sequence numbers.
func (w *roles) becomeActive(ctx context.Context) error {
	start := time.Now()
	if err := w.stopStandbyWork(ctx); err != nil {
		return err
	}
	caughtUp := time.Since(start)
	var built time.Duration
	if w.acc != nil {
		// The book replayed and the sessions' stores read from the local
		// journal, which holds every committed entry (after the barrier);
		// only then does Start open the port.
		j := w.n.Journal()
		gw, err := w.c.FIX.Gateway(w.acc, j, fix.LatestPrices(w.srv.Hub().LatestAge), orderfeed.HubEvents{Hub: w.srv.Hub()})
		built = time.Since(start) - caughtUp
		if err == nil {
			if err = gw.Start(); err != nil {
				_ = gw.Stop()
			}
		}
		if err != nil {
			_ = j.Close()
			return fmt.Errorf("fix gateway: %w", err)
		}
		w.mu.Lock()
		w.gw, w.gwJ = gw, j
		w.mu.Unlock()
		w.bridge.Attach(w.srv.Hub(), gw)
		go w.watchGateway(ctx, gw)
		for _, s := range gw.Sessions() {
			w.log.Info("fix session", "session", s.ID, "addr", gw.Addr(), "next_out", s.NextSenderSeq, "next_in", s.NextTargetSeq)
		}
	}
	if w.c.Ingest != nil {
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		w.mu.Lock()
		w.ingest, w.ingested = cancel, done
		w.mu.Unlock()
		go func() {
			defer close(done)
			if err := w.c.Ingest(ictx, w.srv); err != nil && ictx.Err() == nil {
				w.log.Error("price ingestion", "err", err)
			}
		}()
	}
	// How long the switch took: the feed server's catch-up on the journal's
	// tail, the gateway's replay of the book and the FIX stores, its start.
	w.log.Info("active", "node", w.n.ID(), "took", time.Since(start).Round(time.Microsecond).String(),
		"feed_catch_up", caughtUp.Round(time.Microsecond).String(), "gateway_replay", built.Round(time.Microsecond).String())
	return nil
}

// watchGateway steps the node down when its gateway stops on its own while
// the node is still Active: a journal append it could not make (the
// fencing: leadership lost) or a storage failure. Another voter can then
// take over with the journal the quorum holds.
func (w *roles) watchGateway(ctx context.Context, gw *fix.Gateway) {
	select {
	case <-ctx.Done():
		return
	case <-gw.Done():
	}
	if ctx.Err() != nil {
		return
	}
	w.log.Error("fix gateway stopped on the active node: handing over", "err", gw.Err())
	tctx, cancel := context.WithTimeout(context.Background(), w.c.StopTimeout)
	defer cancel()
	if err := w.n.TransferLeadership(tctx); err != nil {
		w.log.Error("leadership not handed over after a gateway failure", "err", err)
	}
}

// becomeStandby stops the Active's work, if running, and points the
// standby's work at leader. Idempotent.
func (w *roles) becomeStandby(_ context.Context, leader ha.LeaderInfo) error {
	w.stopActiveWork()
	return w.startStandbyWork(leader)
}

// stopActiveWork stops the price ingestion, then the gateway (its orders in
// flight finish or fail: a deposed node's journal refuses them, so nothing
// it sends after losing leadership was not committed).
func (w *roles) stopActiveWork() {
	w.mu.Lock()
	cancel, done := w.ingest, w.ingested
	gw, j := w.gw, w.gwJ
	w.ingest, w.ingested, w.gw, w.gwJ = nil, nil, nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if gw != nil {
		w.bridge.Attach(w.srv.Hub(), nil)
		if err := StopGateway(gw, w.log); err != nil {
			w.log.Warn("fix gateway stopped with an error (expected after losing leadership)", "err", err)
		}
		_ = j.Close()
	}
}

// startStandbyWork makes the feed server an edge of the leader: order
// streams followed from the local replicated journal (precise), prices
// cascaded from the leader's feed (gap), order requests forwarded to it.
// With no leader known (an election), requests are refused with a reason
// and the cascaded prices are stale until one is.
func (w *roles) startStandbyWork(leader ha.LeaderInfo) error {
	if err := w.srv.FollowJournal(w.life); err != nil {
		return fmt.Errorf("follow the journal: %w", err)
	}
	up := ""
	if leader.FeedAddr != "" && leader.ID != w.n.ID() {
		up = w.upstreamURL(leader.FeedAddr)
	}
	w.srv.SetActiveAddr(up)
	if err := w.fw.SetUpstream(up); err != nil {
		return err
	}
	if err := w.casc.SetUpstream(up); err != nil {
		return err
	}
	w.log.Info("standby", "node", w.n.ID(), "leader", leader.ID, "upstream", up)
	return nil
}

// upstreamURL is the WebSocket URL of a feed address.
func (w *roles) upstreamURL(addr string) string {
	if w.c.UpstreamTLS != nil {
		return "wss://" + addr + "/ws"
	}
	return "ws://" + addr + "/ws"
}

// stopStandbyWork ends the edge's links to the old Active and takes the
// journal's tail into the feed server's windows before it accepts
// publishes (after the driver's barrier: the tail is everything committed).
func (w *roles) stopStandbyWork(ctx context.Context) error {
	_ = w.casc.SetUpstream("")
	_ = w.fw.SetUpstream("")
	if w.srv.Following() {
		if err := w.srv.StopFollowing(ctx); err != nil {
			return fmt.Errorf("stop following the journal: %w", err)
		}
	}
	w.srv.SetActiveAddr("")
	return nil
}

// stopAll stops whatever still runs (the driver has stopped).
func (w *roles) stopAll() {
	w.stopActiveWork()
}

// ParsePeers parses a cluster's members as the command line and the config
// file give them, one "ID=RAFTADDR=FEEDADDR" each (the feed address may be
// left out: "ID=RAFTADDR"), and checks that ids and addresses are unique.
func ParsePeers(list []string) ([]ha.Peer, error) {
	out := make([]ha.Peer, 0, len(list))
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, s := range list {
		parts := strings.Split(s, "=")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("peer %q: want ID=RAFTADDR=FEEDADDR (e.g. n1=127.0.0.1:7001=127.0.0.1:8081)", s)
		}
		p := ha.Peer{ID: parts[0], RaftAddr: parts[1]}
		if len(parts) == 3 {
			p.FeedAddr = parts[2]
		}
		for _, a := range []string{p.RaftAddr, p.FeedAddr} {
			if a == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("peer %q: address %q: %w", s, a, err)
			}
		}
		if ids[p.ID] || addrs[p.RaftAddr] {
			return nil, fmt.Errorf("peer %q: id or raft address listed twice", s)
		}
		ids[p.ID], addrs[p.RaftAddr] = true, true
		out = append(out, p)
	}
	return out, nil
}

// checkMember refuses a node whose data directory has a raft configuration
// that does not hold it at its raft address (it was removed, or its
// address changed): raft would never contact it, and it would wait for
// ever. A --peers list that differs from the configuration is only logged:
// it bootstraps a new cluster and is ignored afterwards, and voters added
// at run time are not in it.
func checkMember(n *ha.Node, cfg ha.Config, log *slog.Logger) error {
	conf, err := n.Configuration()
	if err != nil || len(conf) == 0 {
		return err // a new joining node has none yet
	}
	addr := n.RaftAddr()
	for _, p := range conf {
		if p.ID == cfg.ID && p.RaftAddr == addr {
			if !samePeers(conf, cfg.Peers) && len(cfg.Peers) > 0 {
				log.Warn("--peers differs from the cluster's configuration, which wins (peers only bootstrap a new cluster)", "configuration", conf, "peers", cfg.Peers)
			}
			return nil
		}
	}
	return fmt.Errorf("node %s at %s is not a member of the cluster's configuration %v (removed, or its raft address changed): "+
		"start it with the address it was added with, or add it again (POST /cluster/voters on the active node) with a new data directory", cfg.ID, addr, conf)
}

// samePeers reports whether a and b name the same ids at the same raft
// addresses.
func samePeers(a, b []ha.Peer) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]string, len(a))
	for _, p := range a {
		m[p.ID] = p.RaftAddr
	}
	for _, p := range b {
		if m[p.ID] != p.RaftAddr {
			return false
		}
	}
	return true
}

// closeWithin runs close and waits for it at most d: a stop must end the
// process even if a component hangs (it is logged, with what it was).
func closeWithin(close func() error, d time.Duration, what string, log *slog.Logger) {
	done := make(chan error, 1)
	go func() { done <- close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("shutdown: "+what+" close", "err", err)
		}
	case <-time.After(d):
		log.Error("shutdown: "+what+" did not close in time: leaving it", "waited", d.String())
	}
}
