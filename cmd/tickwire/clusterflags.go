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

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/ha"
	"tickwire/node"
	"tickwire/recovery"
	"tickwire/ticks"
	"tickwire/tlsconf"
)

// clusterFlags are `tickwire server --cluster`'s: one node of a cluster
// (docs/HA.md). In a config file they are the same keys, peers a YAML list.
type clusterFlags struct {
	enabled                  bool
	opts                     node.ClusterOptions
	peers                    string
	cascadeTokenFile, peerCA string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	o := &c.opts
	fs.BoolVar(&c.enabled, "cluster", false, "run as one node of a cluster (raft; needs --data, --node-id, --raft-addr, and --peers or --join): docs/HA.md")
	fs.StringVar(&o.NodeID, "node-id", "", "this node's id in the cluster (`ID`, [A-Za-z0-9._-], stable for its --data)")
	fs.StringVar(&o.ClusterID, "cluster-id", "tickwire", "the cluster's name: a data directory or a peer of another cluster is refused")
	fs.StringVar(&o.RaftAddr, "raft-addr", "", "raft listen address (`HOST:PORT`)")
	fs.StringVar(&o.RaftAdvertise, "raft-advertise", "", "raft address the other nodes dial (default --raft-addr)")
	fs.StringVar(&c.peers, "peers", "", "the initial members, this node included, the same list on each: comma-separated `ID=RAFTADDR=FEEDADDR` (a new cluster bootstraps from it; ignored once the data directory has raft state)")
	fs.BoolVar(&o.Join, "join", false, "a new node joining a running cluster: start without bootstrapping and wait for POST /cluster/voters on the active node")
	fs.StringVar(&o.RaftSync, "raft-sync", "auto", "raft log fsync: always, none (an entry is acknowledged once a quorum holds it: the quorum is the disk), auto (none with 3 or more voters, always for fewer): docs/HA.md")
	// Raft snapshots: tests and the soak make them frequent, so a standby
	// far behind installs one.
	fs.Uint64Var(&o.SnapshotThreshold, "raft-snapshot-threshold", 0, "snapshot the journal state after this many raft log entries (0: 8192)")
	fs.Uint64Var(&o.TrailingLogs, "raft-trailing-logs", 0, "raft log entries kept after a snapshot, for a standby slightly behind (0: 10240)")
	fs.DurationVar(&o.SnapshotInterval, "raft-snapshot-interval", 0, "how often raft checks whether to snapshot (0: 30s)")
	fs.StringVar(&c.cascadeTokenFile, "cascade-token-file", "", "a standby's credential on the active node's feed for the price cascade, read from `FILE` (an API key with no role: 'tickwire token apikey --name edge-cascade'); none in open mode")
	fs.StringVar(&c.peerCA, "peer-ca", "", "with TLS, trust the other nodes' feed certificates in this PEM `FILE` (default: --tls-self-signed's certificate, else the system roots)")
}

// serveClusterNode is `tickwire server --cluster`: the feed server of cfg
// on the replicated journal, the FIX gateway and the replay while this node
// is the Active (node.ServeCluster).
func serveClusterNode(ctx context.Context, f *serverFlags, cfg feedserver.Config, stls tlsconf.Server, open func() (ticks.Source, error), stdout io.Writer, log *slog.Logger) error {
	o := f.cluster.opts
	o.Peers, o.Data = splitList(f.cluster.peers), f.rec.data
	o.Retention = recovery.Retention{MaxEntries: f.rec.retain, MaxAge: f.rec.retainAge}
	hc, err := o.HAConfig(log)
	if err != nil {
		return usageError{err}
	}
	if err := f.rec.applySessions(&cfg); err != nil {
		return err
	}
	if err := o.FeedConfig(&cfg); err != nil {
		return err
	}
	ingest, err := node.ClusterReplay(open, f.replay.options(), log)
	if err != nil {
		return err
	}
	nc := node.Cluster{HA: hc, Feed: cfg, Ingest: ingest, Logger: log}
	if f.fix.config != "" {
		fixData := ""
		if f.fix.dataDir == "" {
			fixData = filepath.Join(f.rec.data, "fix")
		}
		config := func(p fix.Prices, e fix.OrderEvents) (fix.Config, error) { return f.fix.gatewayConfig(p, e, log) }
		if nc.FIX, err = node.ClusterGateway(config, fixData); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	nc.Listener = stls.Listener(ln)
	wsURL := stls.WSScheme() + "://" + ln.Addr().String() + "/ws"
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
