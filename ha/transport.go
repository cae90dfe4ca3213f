package ha

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The raft transport is raft's NetworkTransport over TCP with two additions:
//
//   - handshakeLayer: every raft connection starts with both ends stating
//     their cluster id; a mismatch closes it before raft sees a byte, so a
//     node of another cluster (a wrong peer address, a copied data
//     directory) can never replicate into this cluster's log or vote in it.
//   - observedTransport: records, on the leader, each follower's last log
//     index from its replies (the per-follower lag raft v1.7 does not
//     expose), and, on a follower, the commit index of the leader's latest
//     append (the target of "caught up").

const handshakeVersion = "tickwire-raft/1"

// handshakeTimeout bounds the exchange of cluster ids on a new connection.
const handshakeTimeout = 2 * time.Second

// handshakeLayer is a raft.StreamLayer on a TCP listener.
type handshakeLayer struct {
	ln        net.Listener
	advertise net.Addr
	cluster   string
	log       *slog.Logger

	accepted chan net.Conn
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

func newHandshakeLayer(ln net.Listener, advertise net.Addr, cluster string, log *slog.Logger) *handshakeLayer {
	l := &handshakeLayer{ln: ln, advertise: advertise, cluster: cluster, log: log,
		accepted: make(chan net.Conn), done: make(chan struct{})}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// hello is the line each end sends first.
func (l *handshakeLayer) hello() string { return handshakeVersion + " " + l.cluster + "\n" }

// readHello reads and checks the other end's line.
func (l *handshakeLayer) readHello(conn net.Conn) error {
	r := bufio.NewReaderSize(io.LimitReader(conn, 256), 256)
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("no handshake: %w", err)
	}
	if r.Buffered() > 0 {
		return errors.New("data after the handshake line")
	}
	ver, cluster, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	if ver != handshakeVersion {
		return fmt.Errorf("not a tickwire raft peer (hello %.40q)", line)
	}
	if cluster != l.cluster {
		return fmt.Errorf("%w: peer is in cluster %q, this node in %q", ErrIdentity, cluster, l.cluster)
	}
	return nil
}

func (l *handshakeLayer) acceptLoop() {
	defer l.wg.Done()
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// A closed or broken listener: raft's accept loop sees the
			// close through Accept below.
			l.close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
			err := l.readHello(conn)
			if err == nil {
				_, err = io.WriteString(conn, l.hello())
			}
			if err != nil {
				l.log.Warn("raft connection refused", "remote", conn.RemoteAddr().String(), "err", err)
				_ = conn.Close()
				return
			}
			_ = conn.SetDeadline(time.Time{})
			select {
			case l.accepted <- conn:
			case <-l.done:
				_ = conn.Close()
			}
		}()
	}
}

// Accept implements net.Listener: connections that passed the handshake.
func (l *handshakeLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.accepted:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *handshakeLayer) Close() error {
	l.close()
	return nil
}

func (l *handshakeLayer) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.ln.Close()
	})
}

// Addr implements net.Listener: the advertised address.
func (l *handshakeLayer) Addr() net.Addr { return l.advertise }

// Dial implements raft.StreamLayer: TCP, then the handshake.
func (l *handshakeLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(min(timeout, handshakeTimeout)))
	if _, err := io.WriteString(conn, l.hello()); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("raft handshake with %s: %w", address, err)
	}
	if err := l.readHello(conn); err != nil {
		_ = conn.Close()
		l.log.Warn("raft connection refused", "remote", string(address), "err", err)
		return nil, fmt.Errorf("raft handshake with %s: %w", address, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// observedTransport wraps the network transport to observe replies and
// appends (see the comment at the top of the file).
type observedTransport struct {
	*raft.NetworkTransport
	consumer chan raft.RPC
	done     chan struct{}
	once     sync.Once

	mu      sync.Mutex
	replies map[raft.ServerID]followerReply // guarded by mu; leader side
	// leaderTerm/leaderCommit: the term and commit index of the latest
	// append received (follower side). Guarded by mu.
	leaderTerm, leaderCommit uint64
}

type followerReply struct {
	term    uint64
	lastLog uint64
	at      time.Time
}

func newObservedTransport(t *raft.NetworkTransport) *observedTransport {
	o := &observedTransport{NetworkTransport: t, consumer: make(chan raft.RPC), done: make(chan struct{}),
		replies: make(map[raft.ServerID]followerReply)}
	go o.forward()
	return o
}

// forward passes incoming RPCs on to raft, noting appends' commit index.
func (o *observedTransport) forward() {
	in := o.NetworkTransport.Consumer()
	for {
		select {
		case rpc := <-in:
			if a, ok := rpc.Command.(*raft.AppendEntriesRequest); ok && a.LeaderCommitIndex > 0 {
				o.mu.Lock()
				if a.Term > o.leaderTerm || a.Term == o.leaderTerm && a.LeaderCommitIndex > o.leaderCommit {
					o.leaderTerm, o.leaderCommit = a.Term, a.LeaderCommitIndex
				}
				o.mu.Unlock()
			}
			select {
			case o.consumer <- rpc:
			case <-o.done:
				return
			}
		case <-o.done:
			return
		}
	}
}

// Consumer implements raft.Transport.
func (o *observedTransport) Consumer() <-chan raft.RPC { return o.consumer }

// AppendEntries implements raft.Transport, recording the follower's reply
// (heartbeats included: every HeartbeatTimeout/10).
func (o *observedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := o.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil {
		o.mu.Lock()
		o.replies[id] = followerReply{term: args.Term, lastLog: resp.LastLog, at: time.Now()}
		o.mu.Unlock()
	}
	return err
}

// RequestPreVote implements raft.WithPreVote (the embedded transport's
// method, spelled out so the wrapper keeps pre-vote support).
func (o *observedTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return o.NetworkTransport.RequestPreVote(id, target, args, resp)
}

// Close implements raft.WithClose.
func (o *observedTransport) Close() error {
	o.once.Do(func() { close(o.done) })
	return o.NetworkTransport.Close()
}

// reply returns the latest reply of follower id in term.
func (o *observedTransport) reply(id raft.ServerID, term uint64) (followerReply, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.replies[id]
	return r, ok && r.term == term
}

// leaderCommitIn returns the commit index of the latest append received in
// term (0 if none).
func (o *observedTransport) leaderCommitIn(term uint64) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.leaderTerm != term {
		return 0
	}
	return o.leaderCommit
}

var (
	_ raft.WithPreVote = (*observedTransport)(nil)
	_ raft.WithClose   = (*observedTransport)(nil)
	_ raft.StreamLayer = (*handshakeLayer)(nil)
)
