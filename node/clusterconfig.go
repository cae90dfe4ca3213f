package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/ha"
	"tickwire/internal/secfile"
	"tickwire/recovery"
	"tickwire/sessions"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

// ClusterOptions is one cluster node's configuration in plain values: the
// flags of `tickwire server --cluster` (docs/HA.md). Its errors name those
// flags, their only source.
type ClusterOptions struct {
	NodeID, ClusterID string
	// RaftAddr is where raft listens; RaftAdvertise, when not empty, the
	// address the other nodes dial.
	RaftAddr, RaftAdvertise string
	// Peers are the initial members, this node included, each
	// ID=RAFTADDR=FEEDADDR (ParsePeers).
	Peers []string
	// Join: a new node joining a running cluster, bootstrapping nothing.
	Join bool
	// RaftSync is the raft log's fsync: "always", "none", or "auto" (none
	// with 3 or more voters: the quorum is the disk).
	RaftSync string
	// Raft snapshots (0: ha.Config's defaults).
	SnapshotThreshold, TrailingLogs uint64
	SnapshotInterval                time.Duration
	// Data is the node's data directory: the raft log and snapshots in
	// Data/raft, the session secret, the FIX gateway's files in Data/fix.
	Data string
	// Retention trims the replicated journal (but the streams replayed from
	// their first record: the order book's and the FIX message stores').
	Retention recovery.Retention
}

// HAConfig checks o and returns its raft node's Config.
func (o ClusterOptions) HAConfig(log *slog.Logger) (ha.Config, error) {
	switch {
	case o.Data == "":
		return ha.Config{}, errors.New("--cluster needs --data (the raft log and snapshots live there)")
	case o.NodeID == "" || o.RaftAddr == "":
		return ha.Config{}, errors.New("--cluster needs --node-id and --raft-addr")
	case o.Join && len(o.Peers) > 0:
		return ha.Config{}, errors.New("--join and --peers: a joining node is added by the active node, it bootstraps nothing")
	}
	peers, err := ParsePeers(o.Peers)
	if err != nil {
		return ha.Config{}, fmt.Errorf("--peers: %w", err)
	}
	if len(peers) > 0 {
		self := false
		for _, p := range peers {
			self = self || p.ID == o.NodeID
		}
		if !self {
			return ha.Config{}, fmt.Errorf("--peers does not list this node (--node-id %s)", o.NodeID)
		}
	}
	noSync := false
	switch o.RaftSync {
	case "auto":
		noSync = len(peers) >= 3
	case "none":
		noSync = true
	case "always":
	default:
		return ha.Config{}, fmt.Errorf("--raft-sync %q: want auto, always or none", o.RaftSync)
	}
	hc := ha.Config{ID: o.NodeID, ClusterID: o.ClusterID, BindAddr: o.RaftAddr, AdvertiseAddr: o.RaftAdvertise,
		DataDir: filepath.Join(o.Data, "raft"), Peers: peers, Join: o.Join, NoSync: noSync, Logger: log.With("component", "raft"),
		SnapshotThreshold: o.SnapshotThreshold, TrailingLogs: o.TrailingLogs, SnapshotInterval: o.SnapshotInterval}
	if o.Retention != (recovery.Retention{}) {
		hc.Retention = o.Retention
		// The book's journal is replayed from its first record; a FIX
		// message store trims itself (docs/HA.md).
		hc.RetentionExempt = func(stream string) bool { return stream == "fix.orders" || strings.HasPrefix(stream, "fix.store.") }
	}
	return hc, nil
}

// FeedConfig completes cfg for the node: named by its id unless named
// otherwise (cfg.Name "tickwire", the default), and the session secret of
// o.Data, made if missing. Resume tokens verify on any node whose secret
// is the same: give every node the same file (docs/HA.md).
func (o ClusterOptions) FeedConfig(cfg *feedserver.Config) error {
	if cfg.Name == "tickwire" {
		cfg.Name = o.NodeID
	}
	if err := secfile.MkdirAll(o.Data, secfile.Dir); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	var err error
	cfg.SessionSecret, err = sessions.LoadOrCreateSecret(filepath.Join(o.Data, sessions.SecretFile))
	return err
}

// ClusterFIX is the FIX gateway of a cluster node (Cluster.FIX): one warm
// acceptor for the node's life, built and started at node start on every
// node (its port closed until the node is Active), and a gateway attached
// to it for each term as the Active (docs/HA.md, "FIX failover time: a
// warm acceptor").
type ClusterFIX struct {
	// Acceptor builds the node's warm acceptor (not started).
	Acceptor func() (*fix.Acceptor, error)
	// Gateway builds the Active's gateway on acc and the replicated journal
	// j (not started): the book replayed from j, the sessions' stores read
	// from j.
	Gateway func(acc *fix.Acceptor, j recovery.Journal, prices fix.Prices, events fix.OrderEvents) (*fix.Gateway, error)
}

// ClusterGateway returns Cluster.FIX for the gateway config builds, its
// files in dataDir unless that is empty. It builds one config now, so a
// bad settings file fails at start, not at the first takeover; the
// acceptor's settings are loaded once, at node start, and each gateway's
// config (its prices and order events) on each takeover. The sessions'
// sequence numbers and sent messages live in the replicated journal
// (TickwireMessageStore=journal), so they continue on the next Active.
func ClusterGateway(config func(fix.Prices, fix.OrderEvents) (fix.Config, error), dataDir string) (*ClusterFIX, error) {
	if _, err := config(nil, nil); err != nil {
		return nil, err
	}
	build := func(prices fix.Prices, events fix.OrderEvents) (fix.Config, error) {
		gc, err := config(prices, events)
		if err != nil {
			return fix.Config{}, err
		}
		if dataDir != "" {
			gc.DataDir = dataDir
		}
		gc.Settings.GlobalSettings().Set("TickwireMessageStore", "journal")
		return gc, nil
	}
	return &ClusterFIX{
		Acceptor: func() (*fix.Acceptor, error) {
			gc, err := build(nil, nil)
			if err != nil {
				return nil, err
			}
			return fix.NewAcceptor(gc)
		},
		Gateway: func(acc *fix.Acceptor, j recovery.Journal, prices fix.Prices, events fix.OrderEvents) (*fix.Gateway, error) {
			gc, err := build(prices, events)
			if err != nil {
				return nil, err
			}
			gc.Journal, gc.Acceptor = j, acc
			return fix.New(gc)
		},
	}, nil
}

// ClusterReplay is Cluster.Ingest for a replay, nil without sources. A
// looping, paced replay runs on the cluster's shared timeline (a
// tickfeed.Timeline read once here), so a new Active continues where the
// old one was instead of starting its files again (ResumeReplay,
// docs/HA.md); any other replay is Replay's.
func ClusterReplay(open func() (ticks.Source, error), opt ticks.ReplayOptions, log *slog.Logger) (func(context.Context, *feedserver.Server) error, error) {
	if open == nil {
		return nil, nil
	}
	if opt.Loop && opt.Speed > 0 {
		tl, err := tickfeed.NewTimeline(open, opt.Speed)
		if err != nil {
			return nil, fmt.Errorf("--replay: %w", err)
		}
		return func(ctx context.Context, srv *feedserver.Server) error {
			return ResumeReplay(srv, tl, log)(ctx)
		}, nil
	}
	return func(ctx context.Context, srv *feedserver.Server) error {
		return Replay(srv, open, opt, log)(ctx)
	}, nil
}
