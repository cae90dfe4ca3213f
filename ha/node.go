package ha

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"tickwire/internal/secfile"
	"tickwire/recovery"
)

// Role is a node's raft role.
type Role int32

// Raft roles.
const (
	RoleFollower Role = iota
	RoleCandidate
	RoleLeader
	RoleShutdown
)

var roleNames = [...]string{"follower", "candidate", "leader", "shutdown"}

// String returns "follower", "candidate", "leader" or "shutdown".
func (r Role) String() string {
	if r >= 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int32(r))
}

// LeaderInfo names the leader as a node knows it. The zero value means no
// leader is known (an election is running, or this node is cut off).
type LeaderInfo struct {
	ID       string // raft server id
	RaftAddr string // raft address
	FeedAddr string // feed (WebSocket) address from the members record; "" if not known yet
}

// IsZero reports whether no leader is known.
func (l LeaderInfo) IsZero() bool { return l.ID == "" && l.RaftAddr == "" }

// Status is a node's view of itself and of the leader at one moment.
type Status struct {
	Role   Role
	Term   uint64
	Leader LeaderInfo
	// CaughtUp: this node is a follower that has heard from the leader
	// within HeartbeatTimeout and has applied every entry up to the commit
	// index the leader sent it last (so its journal is as complete as the
	// leader's was at that contact). On the leader: true once a barrier of
	// its term has applied (every entry committed before is in its state).
	// False on a candidate or a shut-down node.
	CaughtUp bool
	// LastContact is when this follower last heard from the leader (zero:
	// never; the leader's own status has it zero).
	LastContact time.Time
	// CommitIndex is the highest log index known committed; on a follower,
	// LeaderCommit is the commit index the leader sent in its last append
	// (the target for CaughtUp). AppliedIndex is the last index the journal
	// state has applied.
	CommitIndex, LeaderCommit, AppliedIndex uint64
}

// Stats are the numbers for /metrics.
type Stats struct {
	Status
	LastLogIndex      uint64 // last index in this node's log
	LastSnapshotIndex uint64
	// Followers is filled on the leader only: one per other server in the
	// configuration.
	Followers []FollowerStats
}

// FollowerStats is the leader's view of one other server.
//
// raft v1.7 does not expose the leader's match index per follower; the
// measure here is the follower's last log index as it reported it in its
// latest reply to the leader (a heartbeat every HeartbeatTimeout/10 or an
// append), seen by the leader's transport. It counts entries the follower
// holds, not entries it has applied.
type FollowerStats struct {
	ID       string
	RaftAddr string
	Voter    bool
	// LastLogIndex is the follower's last log index from its latest reply;
	// 0 if it has not replied since this node became leader.
	LastLogIndex uint64
	// Lag is the leader's last log index minus LastLogIndex (0 if not
	// behind), in log entries.
	Lag uint64
	// LastReply is when the follower last replied to the leader.
	LastReply time.Time
}

// Node is one raft server carrying the replicated journal.
type Node struct {
	cfg       Config
	log       *slog.Logger
	timeouts  Timeouts
	raft      *raft.Raft
	fsm       *fsm
	trans     *observedTransport
	store     *raftboltdb.BoltStore
	advertise string

	// readyTerm is the term in which this node, as leader, has applied a
	// barrier: it is caught up as leader in that term.
	readyTerm atomic.Uint64

	stop chan struct{} // closed by Close: ends the node's goroutines
	wg   sync.WaitGroup

	mu           sync.Mutex
	status       Status        // guarded by mu; refreshed by statusLoop
	changed      chan struct{} // guarded by mu; closed on a significant change
	behindSince  time.Time     // guarded by mu; when a caught-up follower fell behind
	lagTolerance time.Duration

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the node's data directory, checks its identity,
// opens the raft log, stable store and snapshot store, listens on BindAddr,
// bootstraps a new cluster when the directory is new (Config.Peers, default
// this node as the single voter; not with Join) and starts raft. It returns
// once raft runs; the journal state then replays (Status.CaughtUp, or
// WaitCaughtUp). Errors: ErrIdentity (another cluster's or node's data
// directory), ErrCorruptLog (an unreadable raft log), bad Config fields;
// nothing in the data directory is overwritten on error.
func Open(ctx context.Context, cfg Config) (_ *Node, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("node", cfg.ID)
	n := &Node{cfg: cfg, log: log, timeouts: cfg.timeouts(), stop: make(chan struct{}), changed: make(chan struct{}),
		lagTolerance: orDefault(cfg.LagTolerance, 2*time.Second)}
	hlog := newRaftLogger(log, cfg.RaftLogLevel)

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(cfg.ID)
	conf.HeartbeatTimeout = n.timeouts.HeartbeatTimeout
	conf.ElectionTimeout = n.timeouts.ElectionTimeout
	conf.LeaderLeaseTimeout = n.timeouts.LeaderLeaseTimeout
	conf.CommitTimeout = n.timeouts.CommitTimeout
	conf.SnapshotThreshold = orDefault(cfg.SnapshotThreshold, 8192)
	conf.TrailingLogs = orDefault(cfg.TrailingLogs, 10240)
	conf.SnapshotInterval = orDefault(cfg.SnapshotInterval, 30*time.Second)
	conf.MaxAppendEntries = 256
	conf.BatchApplyCh = true
	conf.Logger = hlog
	if err := raft.ValidateConfig(conf); err != nil {
		return nil, fmt.Errorf("ha: node %s: bad timeouts: %w", cfg.ID, err)
	}

	// The raft log is trusted as found: a directory others may write to, or
	// another user's, is refused (secfile.Dir), as is a log others may read
	// (below).
	if err := secfile.MkdirAll(cfg.DataDir, secfile.Dir); err != nil {
		return nil, fmt.Errorf("ha: node %s: data dir: %w", cfg.ID, err)
	}
	if err := checkIdentity(cfg.DataDir, cfg.ClusterID, cfg.ID); err != nil {
		return nil, fmt.Errorf("ha: node %s: %w", cfg.ID, err)
	}

	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	// A snapshot holds the whole journal, every order included, and raft
	// creates its snapshot directories 0755 and files 0644: their directory
	// is made 0700 first, and refused if others may enter it.
	if err := secfile.MkdirAll(filepath.Join(cfg.DataDir, snapshotDir), secfile.PrivateDir); err != nil {
		return nil, fmt.Errorf("ha: node %s: snapshots: %w", cfg.ID, err)
	}
	dbPath := filepath.Join(cfg.DataDir, raftDBFile)
	if err := secfile.CheckPath(dbPath, secfile.Private); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ha: node %s: raft log: %w", cfg.ID, err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        dbPath,
		NoSync:      cfg.NoSync,
		BoltOptions: &bbolt.Options{Timeout: time.Second},
	})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("ha: node %s: %s is in use by another process", cfg.ID, dbPath)
		}
		return nil, fmt.Errorf("%w: node %s: %s: %w", ErrCorruptLog, cfg.ID, dbPath, err)
	}
	n.store = store
	cleanup = append(cleanup, func() { _ = store.Close() })

	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("ha: node %s: snapshot store: %w", cfg.ID, err)
	}

	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("ha: node %s: raft listen: %w", cfg.ID, err)
	}
	cleanup = append(cleanup, func() { _ = ln.Close() })
	adv, err := advertiseAddr(cfg.AdvertiseAddr, ln.Addr())
	if err != nil {
		return nil, fmt.Errorf("ha: node %s: %w", cfg.ID, err)
	}
	n.advertise = adv.String()
	layer := newHandshakeLayer(ln, adv, cfg.ClusterID, log)
	cleanup = append(cleanup, func() { _ = layer.Close() })
	nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 2 * time.Second,
		Logger:  hlog,
	})
	n.trans = newObservedTransport(nt)
	cleanup = append(cleanup, func() { _ = n.trans.Close() })

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, fmt.Errorf("%w: node %s: %w", ErrCorruptLog, cfg.ID, err)
	}
	if !existing && !cfg.Join {
		servers, err := cfg.bootstrapServers(n.advertise)
		if err != nil {
			return nil, err
		}
		if err := raft.BootstrapCluster(conf, store, store, snaps, n.trans, raft.Configuration{Servers: servers}); err != nil {
			return nil, fmt.Errorf("ha: node %s: bootstrap: %w", cfg.ID, err)
		}
		log.Info("bootstrapped a new cluster", "cluster", cfg.ClusterID, "voters", len(servers))
	}

	n.fsm = newFSM()
	n.fsm.notify = make(chan struct{}, 1)
	r, err := raft.NewRaft(conf, n.fsm, store, store, snaps, n.trans)
	if err != nil {
		return nil, fmt.Errorf("%w: node %s: %s: %w", ErrCorruptLog, cfg.ID, cfg.DataDir, err)
	}
	n.raft = r
	n.status = n.computeStatus()

	obs := make(chan raft.Observation, 16)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	r.RegisterObserver(observer)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer r.DeregisterObserver(observer)
		n.statusLoop(obs)
	}()
	if !cfg.Retention.IsZero() {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.retentionLoop()
		}()
	}
	log.Info("raft node open", "raft_addr", n.advertise, "data_dir", cfg.DataDir, "existing_state", existing, "no_sync", cfg.NoSync)
	return n, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// timeouts fills zero fields with DefaultTimeouts.
func (c *Config) timeouts() Timeouts {
	t, d := c.Timeouts, DefaultTimeouts()
	t.HeartbeatTimeout = orDefault(t.HeartbeatTimeout, d.HeartbeatTimeout)
	t.ElectionTimeout = orDefault(t.ElectionTimeout, d.ElectionTimeout)
	t.LeaderLeaseTimeout = orDefault(t.LeaderLeaseTimeout, d.LeaderLeaseTimeout)
	t.CommitTimeout = orDefault(t.CommitTimeout, d.CommitTimeout)
	t.ApplyTimeout = orDefault(t.ApplyTimeout, d.ApplyTimeout)
	return t
}

// validate checks the fields that come from outside (flags, YAML).
func (c *Config) validate() error {
	if err := validName("node id", c.ID); err != nil {
		return err
	}
	if err := validName("cluster id", c.ClusterID); err != nil {
		return err
	}
	if c.DataDir == "" {
		return errors.New("ha: no data directory")
	}
	host, _, err := net.SplitHostPort(c.BindAddr)
	if err != nil {
		return fmt.Errorf("ha: raft bind address %q: %w", c.BindAddr, err)
	}
	if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && c.AdvertiseAddr == "" {
		return fmt.Errorf("ha: raft bind address %q listens on every interface: set an advertise address other nodes can dial", c.BindAddr)
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdvertiseAddr); err != nil {
			return fmt.Errorf("ha: raft advertise address %q: %w", c.AdvertiseAddr, err)
		}
	}
	if len(c.FeedAddr) > maxIDBytes {
		return fmt.Errorf("ha: feed address of %d bytes, max %d", len(c.FeedAddr), maxIDBytes)
	}
	if c.Join && len(c.Peers) > 0 {
		return errors.New("ha: Join and Peers are exclusive: a joining node is added by the leader")
	}
	if len(c.Peers) > 64 {
		return fmt.Errorf("ha: %d peers, max 64", len(c.Peers))
	}
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, p := range c.Peers {
		if err := p.validate(); err != nil {
			return err
		}
		if ids[p.ID] || addrs[p.RaftAddr] {
			return fmt.Errorf("ha: peer %s at %s listed twice", p.ID, p.RaftAddr)
		}
		ids[p.ID], addrs[p.RaftAddr] = true, true
	}
	if len(c.Peers) > 0 && !ids[c.ID] {
		return fmt.Errorf("ha: peers do not include this node %q", c.ID)
	}
	return nil
}

func (p Peer) validate() error {
	if err := validName("peer id", p.ID); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(p.RaftAddr); err != nil || len(p.RaftAddr) > maxIDBytes {
		return fmt.Errorf("ha: peer %s: raft address %q: %v", p.ID, p.RaftAddr, err)
	}
	if len(p.FeedAddr) > maxIDBytes {
		return fmt.Errorf("ha: peer %s: feed address of %d bytes", p.ID, len(p.FeedAddr))
	}
	return nil
}

// validName checks an id: 1..64 bytes of [A-Za-z0-9._-].
func validName(what, s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("ha: %s %q: must be 1..64 characters", what, s)
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("ha: %s %q: only letters, digits, '.', '_' and '-'", what, s)
		}
	}
	return nil
}

// bootstrapServers is the initial configuration: Peers, or this node alone.
func (c *Config) bootstrapServers(self string) ([]raft.Server, error) {
	if len(c.Peers) == 0 {
		return []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(c.ID), Address: raft.ServerAddress(self)}}, nil
	}
	out := make([]raft.Server, 0, len(c.Peers))
	for _, p := range c.Peers {
		if p.ID == c.ID && p.RaftAddr != self {
			return nil, fmt.Errorf("ha: peers list this node %s at %s, but it advertises %s", c.ID, p.RaftAddr, self)
		}
		out = append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
	}
	return out, nil
}

// advertiseAddr resolves the address other nodes dial.
func advertiseAddr(adv string, bound net.Addr) (net.Addr, error) {
	if adv == "" {
		a, ok := bound.(*net.TCPAddr)
		if !ok || a.IP.IsUnspecified() {
			return nil, fmt.Errorf("raft bound to %s: set an advertise address other nodes can dial", bound)
		}
		return a, nil
	}
	a, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		return nil, fmt.Errorf("raft advertise address %q: %w", adv, err)
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft advertise address %q is not dialable", adv)
	}
	return a, nil
}

// statusLoop keeps n.status current: on raft observations, after applied
// batches, and every HeartbeatTimeout/10 (catch-up and last contact move
// without an observation).
func (n *Node) statusLoop(obs <-chan raft.Observation) {
	tick := time.NewTicker(max(n.timeouts.HeartbeatTimeout/10, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-obs:
		case <-n.fsm.notify:
		case <-tick.C:
		case <-n.stop:
			return
		}
		n.refresh()
	}
}

// refresh recomputes the status and wakes watchers on a significant change.
func (n *Node) refresh() {
	st := n.computeStatus()
	n.mu.Lock()
	old := n.status
	// Hysteresis: a follower under load is a few entries behind the commit
	// index of the append it just received most of the time. It stops being
	// caught up when it is behind for LagTolerance, or loses the leader.
	if st.Role == RoleFollower && !st.CaughtUp && old.CaughtUp && old.Role == RoleFollower && st.Term == old.Term && n.inContact(st) {
		if n.behindSince.IsZero() {
			n.behindSince = time.Now()
		}
		if time.Since(n.behindSince) < n.lagTolerance {
			st.CaughtUp = true
		}
	}
	if st.CaughtUp && st.AppliedIndex >= st.LeaderCommit {
		n.behindSince = time.Time{}
	}
	n.status = st
	changed := st.Role != old.Role || st.Term != old.Term || st.Leader != old.Leader || st.CaughtUp != old.CaughtUp
	if changed {
		close(n.changed)
		n.changed = make(chan struct{})
	}
	n.mu.Unlock()
	if changed {
		n.log.Info("raft status", "role", st.Role.String(), "term", st.Term, "leader", st.Leader.ID, "caught_up", st.CaughtUp,
			"applied", st.AppliedIndex, "commit", st.CommitIndex)
		if st.Role == RoleLeader && (old.Role != RoleLeader || old.Term != st.Term) {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.takeOver(st.Term)
			}()
		}
	}
}

// takeOver runs when this node becomes leader in term: a barrier (so the
// journal state holds every committed entry: the leader is then CaughtUp),
// then its members record.
func (n *Node) takeOver(term uint64) {
	ctx, cancel := n.stopContext(n.timeouts.ApplyTimeout)
	defer cancel()
	if err := n.Barrier(ctx); err != nil {
		n.log.Warn("barrier after election", "term", term, "err", err)
		return
	}
	n.readyTerm.Store(term)
	n.refresh()
	if err := n.publishSelf(ctx); err != nil {
		n.log.Warn("publishing members record", "err", err)
	}
}

// stopContext returns a context ended by Close or after d.
func (n *Node) stopContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (n *Node) computeStatus() Status {
	var st Status
	switch n.raft.State() {
	case raft.Leader:
		st.Role = RoleLeader
	case raft.Candidate:
		st.Role = RoleCandidate
	case raft.Shutdown:
		st.Role = RoleShutdown
	default:
		st.Role = RoleFollower
	}
	st.Term = n.raft.CurrentTerm()
	addr, id := n.raft.LeaderWithID()
	st.Leader = LeaderInfo{ID: string(id), RaftAddr: string(addr)}
	if p, ok := n.fsm.member(string(id)); ok && id != "" {
		st.Leader.FeedAddr = p.FeedAddr
	}
	st.AppliedIndex = n.fsm.appliedIndex()
	st.CommitIndex = n.raft.CommitIndex()
	switch st.Role {
	case RoleLeader:
		st.CaughtUp = n.readyTerm.Load() == st.Term
	case RoleFollower:
		st.LastContact = n.raft.LastContact()
		st.LeaderCommit = n.trans.leaderCommitIn(st.Term)
		st.CaughtUp = n.inContact(st) && st.AppliedIndex >= st.LeaderCommit
	}
	return st
}

// inContact reports whether follower status st has a leader that it heard
// from within HeartbeatTimeout and that sent it a commit index.
func (n *Node) inContact(st Status) bool {
	return st.Leader.ID != "" && !st.LastContact.IsZero() && time.Since(st.LastContact) < n.timeouts.HeartbeatTimeout && st.LeaderCommit > 0
}

// publishSelf writes this node's members record if it is missing or stale
// (leader only).
func (n *Node) publishSelf(ctx context.Context) error {
	self := Peer{ID: n.cfg.ID, RaftAddr: n.advertise, FeedAddr: n.cfg.FeedAddr}
	if p, ok := n.fsm.member(self.ID); ok && p == self {
		return nil
	}
	return n.applyCtx(ctx, "members record", encodeMember(self, false))
}

// applyCtx proposes a non-journal command and returns its result's error.
func (n *Node) applyCtx(ctx context.Context, op string, cmd []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := n.apply(op, cmd)
	if err != nil {
		return err
	}
	return res.err
}

func (n *Node) retentionLoop() {
	every := orDefault(n.cfg.RetentionInterval, 10*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	j := n.Journal()
	defer j.Close()
	for {
		select {
		case <-tick.C:
		case <-n.stop:
			return
		}
		if !n.IsLeader() {
			continue
		}
		ctx, cancel := n.stopContext(every)
		removed, err := n.enforceRetention(ctx, j)
		cancel()
		if err != nil {
			n.log.Warn("journal retention", "removed", removed, "err", err)
		} else if removed > 0 {
			n.log.Debug("journal retention", "removed", removed)
		}
	}
}

// enforceRetention trims every stream but the exempt ones.
func (n *Node) enforceRetention(ctx context.Context, j recovery.Journal) (uint64, error) {
	streams, err := j.Streams()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var removed uint64
	for _, s := range streams {
		if n.cfg.RetentionExempt != nil && n.cfg.RetentionExempt(s) {
			continue
		}
		r, err := recovery.EnforceStreamRetention(ctx, j, s, n.cfg.Retention, now)
		removed += r
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// ID returns the node's raft server id.
func (n *Node) ID() string { return n.cfg.ID }

// RaftAddr returns the raft address other nodes dial (the advertised one).
func (n *Node) RaftAddr() string { return n.advertise }

// Journal returns a new handle on the node's replicated journal. Handles
// share the node's state; closing one ends its subscriptions and refuses its
// later calls (recovery.ErrClosed) but leaves the node and other handles
// running, so a component (a FIX gateway) can be stopped and restarted on
// the same node. Node.Close closes every handle.
func (n *Node) Journal() *Journal {
	j := newJournal(n)
	select {
	case <-n.stop:
		_ = j.Close()
	default:
	}
	return j
}

// Status returns the node's current status and a channel closed at the next
// change of Role, Term, Leader or CaughtUp: loop on it to follow changes
// without missing one (any number of watchers). The numbers (indexes, last
// contact) are as of the last refresh, at most HeartbeatTimeout/10 old.
func (n *Node) Status() (Status, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status, n.changed
}

// Stats returns the numbers for /metrics, fresh.
func (n *Node) Stats() Stats {
	st := Stats{Status: n.computeStatus()}
	st.LastLogIndex = n.raft.LastIndex()
	rs := n.raft.Stats()
	fmt.Sscan(rs["last_snapshot_index"], &st.LastSnapshotIndex)
	if st.Role != RoleLeader {
		return st
	}
	fut := n.raft.GetConfiguration()
	if fut.Error() != nil {
		return st
	}
	for _, s := range fut.Configuration().Servers {
		if string(s.ID) == n.cfg.ID {
			continue
		}
		fs := FollowerStats{ID: string(s.ID), RaftAddr: string(s.Address), Voter: s.Suffrage == raft.Voter}
		if r, ok := n.trans.reply(s.ID, st.Term); ok {
			fs.LastLogIndex, fs.LastReply = r.lastLog, r.at
			if st.LastLogIndex > r.lastLog {
				fs.Lag = st.LastLogIndex - r.lastLog
			}
		} else {
			fs.Lag = st.LastLogIndex
		}
		st.Followers = append(st.Followers, fs)
	}
	return st
}

// IsLeader reports whether this node is the raft leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the leader as this node knows it (zero if unknown).
func (n *Node) Leader() LeaderInfo {
	addr, id := n.raft.LeaderWithID()
	l := LeaderInfo{ID: string(id), RaftAddr: string(addr)}
	if p, ok := n.fsm.member(l.ID); ok && l.ID != "" {
		l.FeedAddr = p.FeedAddr
	}
	return l
}

// LeaderFeedAddr returns the leader's feed (WebSocket) address from the
// replicated members record, "" if no leader is known or it published none.
func (n *Node) LeaderFeedAddr() string { return n.Leader().FeedAddr }

// Members returns the replicated members records of the nodes that have
// published one (each leader publishes its own when it takes over; AddVoter
// publishes the new node's), sorted by id.
func (n *Node) Members() []Peer { return n.fsm.memberList() }

// Configuration returns raft's latest configuration (voters and
// non-voters; this package adds only voters) with the feed addresses known
// from the members records.
func (n *Node) Configuration() ([]Peer, error) {
	fut := n.raft.GetConfiguration()
	if err := fut.Error(); err != nil {
		return nil, fmt.Errorf("ha: configuration: %w", err)
	}
	var out []Peer
	for _, s := range fut.Configuration().Servers {
		p := Peer{ID: string(s.ID), RaftAddr: string(s.Address)}
		if m, ok := n.fsm.member(p.ID); ok {
			p.FeedAddr = m.FeedAddr
		}
		out = append(out, p)
	}
	return out, nil
}

// AddVoter adds a voting server (leader only: else a *NotLeaderError) and
// publishes its members record; it returns once the configuration change is
// committed. Adding a server already present with the same address changes
// nothing in raft.
func (n *Node) AddVoter(ctx context.Context, p Peer) error {
	if err := p.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.IsLeader() {
		return &NotLeaderError{Op: "add voter", Leader: n.Leader()}
	}
	if err := n.wait(ctx, n.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.RaftAddr), 0, n.timeouts.ApplyTimeout)); err != nil {
		return fmt.Errorf("ha: add voter %s at %s: %w", p.ID, p.RaftAddr, n.applyErr("add voter", err))
	}
	if err := n.applyCtx(ctx, "members record", encodeMember(p, false)); err != nil {
		return fmt.Errorf("ha: add voter %s: members record: %w", p.ID, err)
	}
	n.log.Info("voter added", "peer", p.ID, "raft_addr", p.RaftAddr)
	return nil
}

// RemoveServer removes a server from the configuration (leader only) and
// its members record. A leader removing itself steps down once the change
// commits.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := validName("peer id", id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.IsLeader() {
		return &NotLeaderError{Op: "remove server", Leader: n.Leader()}
	}
	if _, ok := n.fsm.member(id); ok && id != n.cfg.ID {
		if err := n.applyCtx(ctx, "members record", encodeMember(Peer{ID: id}, true)); err != nil {
			return fmt.Errorf("ha: remove server %s: members record: %w", id, err)
		}
	}
	if err := n.wait(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, n.timeouts.ApplyTimeout)); err != nil {
		return fmt.Errorf("ha: remove server %s: %w", id, n.applyErr("remove server", err))
	}
	n.log.Info("server removed", "peer", id)
	return nil
}

// Barrier waits until every command committed before it is applied to this
// node's journal state (leader only). The Driver calls it before
// BecomeActive.
func (n *Node) Barrier(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// A barrier command rather than raft.Barrier: see encodeBarrier.
	if err := n.applyCtx(ctx, "barrier", encodeBarrier()); err != nil {
		return fmt.Errorf("ha: barrier: %w", err)
	}
	return nil
}

// WaitCaughtUp waits until Status().CaughtUp or the context ends.
func (n *Node) WaitCaughtUp(ctx context.Context) error {
	for {
		st, ch := n.Status()
		if st.CaughtUp {
			return nil
		}
		if st.Role == RoleShutdown {
			return recovery.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitApplied waits until this node's journal state has applied log index
// idx (see Journal.LastIndex) or the context ends: read-your-writes on a
// follower.
func (n *Node) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		applied, ch := n.fsm.waitCh()
		if applied >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-n.stop:
			return recovery.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TransferLeadership asks raft to hand leadership to another up-to-date
// voter (leader only); used for a graceful stop of the Active.
func (n *Node) TransferLeadership(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.wait(ctx, n.raft.LeadershipTransfer()); err != nil {
		return fmt.Errorf("ha: leadership transfer: %w", n.applyErr("leadership transfer", err))
	}
	return nil
}

// wait waits for a raft future, the context or Close, whichever comes first
// (raft may leave a future unresolved at shutdown). On ctx or Close the
// operation's outcome is unknown.
func (n *Node) wait(ctx context.Context, fut raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- fut.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", ctx.Err(), ErrOutcomeUnknown)
	case <-n.stop:
		return fmt.Errorf("%w (%w)", recovery.ErrClosed, ErrOutcomeUnknown)
	}
}

// Close shuts raft down (without leaving the configuration), closes every
// journal handle, the transport and the stores. Closing twice is fine.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.stop)
		var errs []error
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
		if err := n.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("transport: %w", err))
		}
		n.wg.Wait()
		n.fsm.mu.RLock()
		handles := make([]*Journal, 0, len(n.fsm.handles))
		for j := range n.fsm.handles {
			handles = append(handles, j)
		}
		n.fsm.mu.RUnlock()
		for _, j := range handles {
			_ = j.Close()
		}
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft store: %w", err))
		}
		n.refresh()
		if len(errs) > 0 {
			n.closeErr = fmt.Errorf("ha: close node %s: %w", n.cfg.ID, errors.Join(errs...))
		}
		n.log.Info("raft node closed")
	})
	return n.closeErr
}
