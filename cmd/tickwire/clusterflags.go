package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/ha"
	"tickwire/internal/secfile"
	"tickwire/node"
	"tickwire/recovery"
	"tickwire/sessions"
	"tickwire/tickfeed"
	"tickwire/ticks"
	"tickwire/tlsconf"
)

// clusterFlags are `tickwire server --cluster`'s: one node of a cluster
// (docs/HA.md). In a config file they are the same keys, peers a YAML list.
type clusterFlags struct {
	enabled       bool
	nodeID        string
	clusterID     string
	raftAddr      string
	raftAdvertise string
	peers         string
	join          bool
	raftSync      string
	// Raft snapshots: tests and the soak make them frequent, so a standby
	// far behind installs one.
	snapThreshold, trailingLogs uint64
	snapInterval                time.Duration
	cascadeTokenFile, peerCA    string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.enabled, "cluster", false, "run as one node of a cluster (raft; needs --data, --node-id, --raft-addr, and --peers or --join): docs/HA.md")
	fs.StringVar(&c.nodeID, "node-id", "", "this node's id in the cluster (`ID`, [A-Za-z0-9._-], stable for its --data)")
	fs.StringVar(&c.clusterID, "cluster-id", "tickwire", "the cluster's name: a data directory or a peer of another cluster is refused")
	fs.StringVar(&c.raftAddr, "raft-addr", "", "raft listen address (`HOST:PORT`)")
	fs.StringVar(&c.raftAdvertise, "raft-advertise", "", "raft address the other nodes dial (default --raft-addr)")
	fs.StringVar(&c.peers, "peers", "", "the initial members, this node included, the same list on each: comma-separated `ID=RAFTADDR=FEEDADDR` (a new cluster bootstraps from it; ignored once the data directory has raft state)")
	fs.BoolVar(&c.join, "join", false, "a new node joining a running cluster: start without bootstrapping and wait for POST /cluster/voters on the active node")
	fs.StringVar(&c.raftSync, "raft-sync", "auto", "raft log fsync: always, none (an entry is acknowledged once a quorum holds it: the quorum is the disk), auto (none with 3 or more voters, always for fewer): docs/HA.md")
	fs.Uint64Var(&c.snapThreshold, "raft-snapshot-threshold", 0, "snapshot the journal state after this many raft log entries (0: 8192)")
	fs.Uint64Var(&c.trailingLogs, "raft-trailing-logs", 0, "raft log entries kept after a snapshot, for a standby slightly behind (0: 10240)")
	fs.DurationVar(&c.snapInterval, "raft-snapshot-interval", 0, "how often raft checks whether to snapshot (0: 30s)")
	fs.StringVar(&c.cascadeTokenFile, "cascade-token-file", "", "a standby's credential on the active node's feed for the price cascade, read from `FILE` (an API key with no role: 'tickwire token apikey --name edge-cascade'); none in open mode")
	fs.StringVar(&c.peerCA, "peer-ca", "", "with TLS, trust the other nodes' feed certificates in this PEM `FILE` (default: --tls-self-signed's certificate, else the system roots)")
}

// haConfig checks the cluster flags and returns the raft node's Config,
// its data in DATA/raft.
func (c *clusterFlags) haConfig(data string, log *slog.Logger) (ha.Config, error) {
	switch {
	case data == "":
		return ha.Config{}, usageError{fmt.Errorf("--cluster needs --data (the raft log and snapshots live there)")}
	case c.nodeID == "" || c.raftAddr == "":
		return ha.Config{}, usageError{fmt.Errorf("--cluster needs --node-id and --raft-addr")}
	case c.join && c.peers != "":
		return ha.Config{}, usageError{fmt.Errorf("--join and --peers: a joining node is added by the active node, it bootstraps nothing")}
	}
	peers, err := node.ParsePeers(splitList(c.peers))
	if err != nil {
		return ha.Config{}, usageError{fmt.Errorf("--peers: %w", err)}
	}
	if len(peers) > 0 {
		self := false
		for _, p := range peers {
			self = self || p.ID == c.nodeID
		}
		if !self {
			return ha.Config{}, usageError{fmt.Errorf("--peers does not list this node (--node-id %s)", c.nodeID)}
		}
	}
	noSync := false
	switch c.raftSync {
	case "auto":
		noSync = len(peers) >= 3
	case "none":
		noSync = true
	case "always":
	default:
		return ha.Config{}, usageError{fmt.Errorf("--raft-sync %q: want auto, always or none", c.raftSync)}
	}
	return ha.Config{ID: c.nodeID, ClusterID: c.clusterID, BindAddr: c.raftAddr, AdvertiseAddr: c.raftAdvertise,
		DataDir: filepath.Join(data, "raft"), Peers: peers, Join: c.join, NoSync: noSync, Logger: log.With("component", "raft"),
		SnapshotThreshold: c.snapThreshold, TrailingLogs: c.trailingLogs, SnapshotInterval: c.snapInterval}, nil
}

// serveClusterNode is `tickwire server --cluster`: the feed server of cfg
// on the replicated journal, the FIX gateway and the replay while this node
// is the Active (node.ServeCluster).
func serveClusterNode(ctx context.Context, f *serverFlags, cfg feedserver.Config, stls tlsconf.Server, open func() (ticks.Source, error), stdout io.Writer, log *slog.Logger) error {
	hc, err := f.cluster.haConfig(f.rec.data, log)
	if err != nil {
		return err
	}
	if f.rec.retain > 0 || f.rec.retainAge > 0 {
		hc.Retention = recovery.Retention{MaxEntries: f.rec.retain, MaxAge: f.rec.retainAge}
		// The book's journal is replayed from its first record; a FIX
		// message store trims itself (docs/HA.md).
		hc.RetentionExempt = func(stream string) bool { return stream == "fix.orders" || strings.HasPrefix(stream, "fix.store.") }
	}
	if cfg.Name == "tickwire" { // --name's default: a cluster node is named by its id
		cfg.Name = hc.ID
	}
	if err := f.rec.applySessions(&cfg); err != nil {
		return err
	}
	if err := secfile.MkdirAll(f.rec.data, secfile.Dir); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	// Resume tokens verify on any node whose secret is the same: give every
	// node the same file (docs/HA.md).
	if cfg.SessionSecret, err = sessions.LoadOrCreateSecret(filepath.Join(f.rec.data, sessions.SecretFile)); err != nil {
		return err
	}
	var gateway func(recovery.Journal, fix.Prices, fix.OrderEvents) (*fix.Gateway, error)
	if f.fix.config != "" {
		if _, err := f.fix.gatewayConfig(nil, nil, log); err != nil {
			return err // a bad settings file fails at start, not at the first takeover
		}
		gateway = func(j recovery.Journal, prices fix.Prices, events fix.OrderEvents) (*fix.Gateway, error) {
			gc, err := f.fix.gatewayConfig(prices, events, log)
			if err != nil {
				return nil, err
			}
			gc.Journal = j
			if f.fix.dataDir == "" {
				gc.DataDir = filepath.Join(f.rec.data, "fix")
			}
			// The sessions' sequence numbers and sent messages live in the
			// replicated journal, so they continue on the next Active.
			gc.Settings.GlobalSettings().Set("TickwireMessageStore", "journal")
			return fix.New(gc)
		}
	}
	var ingest func(context.Context, *feedserver.Server) error
	if open != nil {
		ingest = func(ctx context.Context, srv *feedserver.Server) error {
			return node.Replay(srv, open, f.replay.options(), log)(ctx)
		}
		if f.replay.loop && f.replay.speed > 0 {
			// On the cluster's timeline: a new Active continues the replay
			// where the old one was (docs/HA.md).
			tl, err := tickfeed.NewTimeline(open, f.replay.speed)
			if err != nil {
				return fmt.Errorf("--replay: %w", err)
			}
			ingest = func(ctx context.Context, srv *feedserver.Server) error {
				return node.ResumeReplay(srv, tl, log)(ctx)
			}
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	wsURL := stls.WSScheme() + "://" + ln.Addr().String() + "/ws"
	nc := node.Cluster{HA: hc, Feed: cfg, Listener: stls.Listener(ln), Gateway: gateway, Ingest: ingest, Logger: log}
	if f.cluster.cascadeTokenFile != "" {
		if nc.CascadeToken, err = readSecretFile("--cascade-token-file", f.cluster.cascadeTokenFile); err != nil {
			_ = ln.Close()
			return err
		}
	}
	if stls.Config != nil {
		if nc.UpstreamTLS, err = tlsconf.ClientConfig(cmp.Or(f.cluster.peerCA, stls.Trust)); err != nil {
			_ = ln.Close()
			return fmt.Errorf("--peer-ca: %w", err)
		}
	}
	nc.Serving = func(_ *feedserver.Server, n *ha.Node) {
		log.Info("serving", "ws", wsURL, "node", hc.ID, "raft", n.RaftAddr(), "tls", stls.Config != nil)
		fmt.Fprintf(stdout, "tickwire cluster node %s listening on %s (raft %s)\n", hc.ID, wsURL, n.RaftAddr())
	}
	return node.ServeCluster(ctx, nc)
}
