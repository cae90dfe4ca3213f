package feedserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/auth"
	"tickwire/protocol"
	"tickwire/recovery"
)

// Follow mode (docs/HA.md, "Standbys as edges"). On a standby node the
// journal behind the sequenced topics is written by the active node and
// replicated; the server does not append to it, it follows it: one follower
// goroutine per sequenced stream reads the entries the journal commits
// (Subscribe, and ReadFrom from the topic's head) and feeds them into the
// topic's ring exactly as a local publish does (insertLocked), with the
// journal's seqs and epochs. Subscribers are served by the same window and
// cursor code, so a trader on a standby gets the same events, in the same
// order, at the same positions as on the active node, and its positions
// resume on any node. New streams are found by listing the journal every
// followPoll, or at once when the journal says so (StreamWatcher).
//
// While following, sequenced publishes are refused (ErrStandby). Requests
// (requests.go) are forwarded to the active node on behalf of their sender
// (SetRequestForwarder), or refused with an Error naming the reason and the
// active node (SetActiveAddr). StopFollowing (the node becomes active) stops the
// followers, feeds the rings up to the journal's head, and only then
// accepts publishes: the next event continues the window, no gap, no
// duplicate.

// ErrStandby refuses a sequenced publish on a node that follows the active
// node's journal.
var ErrStandby = errors.New("this node is a standby: its sequenced topics follow the active node's journal, publish on the active node")

// StreamWatcher is optionally implemented by a journal that can say when a
// stream is created (ha.Journal: a replicated journal applying another
// node's first append), so a follower learns of it at once rather than at
// the next listing.
type StreamWatcher interface {
	// WatchStreams returns a channel that receives the name of every
	// stream created after the call (names that do not fit in buffer are
	// dropped: the listing catches them), and stop, which ends the watch
	// and closes the channel.
	WatchStreams(buffer int) (c <-chan string, stop func() (dropped uint64))
}

// followPoll is how often a following server lists the journal's streams;
// watchedPoll, when the journal also tells of new ones (StreamWatcher).
const (
	followPoll  = 250 * time.Millisecond
	watchedPoll = 2 * time.Second
)

// followRetryMin and followRetryMax bound the pause of a stream follower
// after a journal error before it tries again.
const (
	followRetryMin = 100 * time.Millisecond
	followRetryMax = 5 * time.Second
)

// followBuffer is a stream follower's subscription buffer; past it the
// follower catches up by reading the journal.
const followBuffer = 1024

// followState is the hub's follow mode. Its mutex orders FollowJournal and
// StopFollowing; on is read on every sequenced publish.
type followState struct {
	on      atomic.Bool
	active  atomic.Pointer[string]           // the active node's feed address, for refusals
	forward atomic.Pointer[RequestForwarder] // sends requests there; nil: refuse them

	mu     sync.Mutex
	ctx    context.Context    // the followers' context, guarded by mu
	cancel context.CancelFunc // guarded by mu; nil when no follower runs
	wg     sync.WaitGroup     // the discoverer and the stream followers
}

// FollowJournal makes the server a standby edge: from now on its sequenced
// topics are fed from the journal's committed entries, written by another
// node, until StopFollowing. ctx bounds the followers: when it ends they
// stop, publishes stay refused, and the next FollowJournal starts them
// again; give it the node's lifetime. Sequenced publishes are refused and
// requests forwarded or refused meanwhile (SetRequestForwarder). Calling it
// while following does nothing.
func (s *Server) FollowJournal(ctx context.Context) error {
	return s.hub.followJournal(ctx, s)
}

// StopFollowing ends follow mode (the node becomes active): it stops the
// followers, feeds every followed topic up to the journal's head (call it
// once the journal holds every committed entry: after a raft barrier), and
// then accepts publishes again, which continue each topic's window. It
// returns ctx's error if the catch-up cannot finish in time (the server then
// stays in follow mode: call it again).
func (s *Server) StopFollowing(ctx context.Context) error {
	return s.hub.stopFollowing(ctx, s)
}

// Following reports whether the server is in follow mode.
func (s *Server) Following() bool { return s.hub.follow.on.Load() }

// SetActiveAddr tells a standby where the active node's feed is
// ("ws://host:port/ws"; "" while there is none), for the refusals of
// publishes and requests.
func (s *Server) SetActiveAddr(addr string) { s.hub.follow.active.Store(&addr) }

// RequestForwarder sends a request a standby received to the active node,
// on behalf of its sender: it presents the sender's own credential (its
// Hello's) there, so the active node authenticates and authorizes the
// request exactly as if the client had connected to it, and the standby
// can do nothing the client could not. Its error is the client's answer, as
// a RequestHandler's: the active node's refusal verbatim, or why the
// request could not be forwarded (then its outcome may be unknown: the
// error says so). cascade.Forwarder implements it.
type RequestForwarder func(ctx context.Context, credential, topic string, data []byte) error

// SetRequestForwarder makes a following server forward requests to the
// active node (nil: refuse them, naming the active node).
func (s *Server) SetRequestForwarder(f RequestForwarder) {
	if f == nil {
		s.hub.follow.forward.Store(nil)
		return
	}
	s.hub.follow.forward.Store(&f)
}

// forwardRequest answers a request on a following server: forwarded to the
// active node when a forwarder is set and an active node is known, refused
// naming the reason otherwise. Reader goroutine.
func (c *Conn) forwardRequest(f *protocol.Event) error {
	fs := &c.srv.hub.follow
	addr := ""
	if p := fs.active.Load(); p != nil {
		addr = *p
	}
	if addr == "" {
		return errors.New("this node is a standby and there is no active node at the moment (failover under way): retry shortly")
	}
	fw := fs.forward.Load()
	if fw == nil {
		return fmt.Errorf("this node is a standby: send requests to the active node at %s", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	err := (*fw)(ctx, c.credential, f.Topic, f.Data)
	if err != nil {
		c.logger().Info("forwarded request refused or failed", "topic", f.Topic, "active", addr, "err", err)
	}
	return err
}

// isRequestTopic reports whether topic is a request topic a standby refuses:
// one with a handler, or any requests.* name (a standby's wiring may have
// none installed).
func (s *Server) isRequestTopic(topic string) bool {
	return s.cfg.Requests[topic] != nil || strings.HasPrefix(topic, auth.RequestTopicPrefix)
}

func (h *Hub) followJournal(ctx context.Context, srv *Server) error {
	f := &h.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		if f.ctx.Err() == nil {
			return nil // following
		}
		// The followers' context ended: start them again, from each
		// window's head.
		f.cancel()
		f.wg.Wait()
	}
	f.on.Store(true)
	fctx, cancel := context.WithCancel(ctx)
	f.ctx, f.cancel = fctx, cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		h.discover(fctx, srv)
	}()
	srv.log.Info("following the journal (standby edge)")
	return nil
}

func (h *Hub) stopFollowing(ctx context.Context, srv *Server) error {
	f := &h.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
		f.wg.Wait()
		f.cancel = nil
	}
	if !f.on.Load() {
		return nil
	}
	// Every stream, not only the followed ones: one created since the last
	// poll has a history this node must not append over.
	streams, err := h.journal.Streams()
	if err != nil {
		return fmt.Errorf("stop following: list journal streams: %w", err)
	}
	for _, name := range streams {
		if !h.followable(name) {
			continue
		}
		pos := h.followStart(name)
		for {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stop following: catch up %q: %w", name, err)
			}
			next, n, err := h.followRead(ctx, name, pos)
			if err != nil {
				return fmt.Errorf("stop following: catch up %q: %w", name, err)
			}
			pos = next
			if n < journalPage {
				break
			}
		}
	}
	// The idempotency indexes know only this node's own publishes: rebuild
	// them from the journal on the next keyed publish.
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, tp := range s.topics {
			tp.idem = nil
		}
		s.mu.Unlock()
	}
	f.on.Store(false)
	srv.log.Info("stopped following the journal: sequenced publishes accepted")
	return nil
}

// followable reports whether journal stream name is a sequenced topic (the
// journal also holds the gateway's own streams, fix.*).
func (h *Hub) followable(name string) bool {
	return protocol.ValidTopic(name) == nil && h.Kind(name) == Sequenced
}

// discover starts a follower for every sequenced stream of the journal, and
// for every new one, until ctx ends.
func (h *Hub) discover(ctx context.Context, srv *Server) {
	var watch <-chan string
	poll := followPoll
	if w, ok := h.journal.(StreamWatcher); ok {
		c, stop := w.WatchStreams(256)
		defer stop()
		watch, poll = c, watchedPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	f := &h.follow
	followed := make(map[string]bool)
	start := func(name string) {
		if followed[name] || !h.followable(name) {
			return
		}
		followed[name] = true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			h.followStream(ctx, srv, name)
		}()
	}
	for {
		streams, err := h.journal.Streams()
		if err != nil {
			if errors.Is(err, recovery.ErrClosed) {
				return
			}
			srv.log.Error("follow: list journal streams", "err", err)
		}
		for _, name := range streams {
			start(name)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				break wait
			case name, ok := <-watch:
				if !ok {
					watch = nil // closed: listing only
					continue
				}
				start(name)
			}
		}
	}
}

// followStream feeds topic name from the journal until ctx ends or the
// journal closes: the history after the topic's head first, then each
// commit as the subscription announces it. A live batch that does not
// continue the position (a lagged or re-established subscription) is read
// from the journal instead.
func (h *Hub) followStream(ctx context.Context, srv *Server, name string) {
	pos := h.followStart(name)
	var sub *recovery.Subscription
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	needRead := true
	live := make([]recovery.Entry, 0, journalPage)
	// failed says whether to go on after err: not when the journal is
	// closed or ctx ended; otherwise (a storage error) after a pause that
	// grows, so the topic is not given up on.
	backoff := followRetryMin
	failed := func(what string, err error) bool {
		if ctx.Err() != nil || errors.Is(err, recovery.ErrClosed) {
			return false
		}
		srv.log.Error("follow: "+what, "topic", name, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, followRetryMax)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		if sub == nil {
			var err error
			if sub, err = h.journal.Subscribe(name, followBuffer); err != nil {
				sub = nil
				if failed("subscribe", err) {
					continue
				}
				return
			}
			needRead = true // whatever was committed before it subscribed
		}
		if needRead {
			next, n, err := h.followRead(ctx, name, pos)
			if err != nil {
				if failed("read journal", err) {
					continue
				}
				return
			}
			pos, needRead, backoff = next, n == journalPage, followRetryMin
			continue
		}
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				err := sub.Err()
				sub = nil
				if errors.Is(err, recovery.ErrLagged) {
					continue // resubscribe and read what was missed
				}
				return
			}
			live = append(live[:0], e)
		drain:
			for len(live) < journalPage {
				select {
				case e, ok := <-sub.C:
					if !ok {
						break drain // noticed on the next receive
					}
					live = append(live, e)
				default:
					break drain
				}
			}
			// Entries at or below the position are duplicates of a read.
			i := 0
			for i < len(live) && live[i].Epoch == pos.Epoch && live[i].Seq <= pos.Seq {
				i++
			}
			es := live[i:]
			if len(es) == 0 {
				continue
			}
			if es[0].Seq != pos.Seq+1 || (pos.Epoch != "" && es[0].Epoch != pos.Epoch) || !contiguous(es) {
				needRead = true
				continue
			}
			h.applyFollowed(name, es)
			pos = es[len(es)-1].Position()
		}
	}
}

// contiguous reports whether es are consecutive entries of one epoch.
func contiguous(es []recovery.Entry) bool {
	for i := 1; i < len(es); i++ {
		if es[i].Seq != es[i-1].Seq+1 || es[i].Epoch != es[0].Epoch {
			return false
		}
	}
	return true
}

// followStart returns where topic name's cache ends, making the topic (its
// head is the journal's at that moment: what came before is read from the
// journal by whoever needs it).
func (h *Hub) followStart(name string) recovery.Position {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := h.topicLocked(s, name)
	return recovery.Position{Seq: tp.events.head, Epoch: tp.events.epoch}
}

// followRead reads a page of name's entries after pos into its cache and
// returns the new position and how many entries it read. A position the
// journal cannot continue (the history was trimmed past it, or replaced)
// restarts the cache at the journal's head: subscribers behind it are
// served from the journal, which tells them what was lost.
func (h *Hub) followRead(ctx context.Context, name string, pos recovery.Position) (recovery.Position, int, error) {
	es, err := h.journal.ReadFrom(ctx, name, pos, journalPage)
	var pe *recovery.PositionError
	if errors.As(err, &pe) {
		s := h.shard(name)
		s.mu.Lock()
		tp := h.topicLocked(s, name)
		tp.events.reset(pe.Head.Seq, pe.Head.Epoch)
		members := tp.members
		s.mu.Unlock()
		for _, m := range members {
			m.c.queue.mark(m.sb)
		}
		return pe.Head, 0, nil
	}
	if err != nil {
		return pos, 0, err
	}
	if len(es) > 0 {
		h.applyFollowed(name, es)
		pos = es[len(es)-1].Position()
	}
	return pos, len(es), nil
}

// applyFollowed adds consecutive committed entries es of topic name to its
// cache and wakes its subscribers, as publishEvents does after an append.
func (h *Hub) applyFollowed(name string, es []recovery.Entry) {
	evs := make([]EventIn, len(es))
	for i := range es {
		evs[i] = EventIn{Data: es[i].Data, Time: es[i].Time}
	}
	s := h.shard(name)
	s.mu.Lock()
	tp := h.topicLocked(s, name)
	h.holdLocked(tp) // a history: it holds a slot whatever the limits
	moved := h.insertLocked(s, tp, es[0].Seq, es[0].Epoch, evs)
	members := tp.members
	s.mu.Unlock()
	if moved {
		for _, m := range members {
			m.c.queue.mark(m.sb)
		}
	}
	h.published.Add(uint64(len(es)))
	h.enqueued.Add(uint64(len(members) * len(es)))
}
