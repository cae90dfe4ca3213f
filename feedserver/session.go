package feedserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"tickwire/auth"
	"tickwire/protocol"
	"tickwire/recovery"
	"tickwire/sessions"
)

// Sessions: every connection belongs to a sessions.Session. Welcome carries
// its id and resume token. When the connection ends, its subscriptions and
// where each stood (sequenced: the last event written; conflated: the last
// value's seq) stay with the session for Config.SessionLinger; a Hello with
// the token gets them back on the new connection:
//
//   - conflated topics: the current value as a Snapshot, flagged FlagGap if
//     the session had sent a value before: values may have been skipped
//     (written is not received: values written just before the link broke
//     may never have arrived); the client knows which seq it holds;
//   - sequenced topics: held until the rest of the resuming message is read,
//     so that a Subscribe in it can move each to the client's own position
//     (the Go client always sends one: events in flight when the link broke
//     were written, not received); then served from there, from the journal.
//
// A token that fails its signature check gets Error 1005 and a new session,
// and touches no session; so does a genuine token of a session that belongs
// to another subject (the authenticated principal that created it). A
// resumed session's topics are re-checked against the resuming principal. After the linger, a restart or on another server
// the client gets a new session and continues from the positions it sends.

// kickGrace is how long a connection whose session was resumed elsewhere
// gets to send its final Error frame before its socket is closed: the link
// is usually dead, and the resume waits for it.
const kickGrace = 100 * time.Millisecond

// Kick implements sessions.Owner: the session is being resumed on another
// connection. This one ends; its reader then detaches the session.
func (c *Conn) Kick() {
	c.closeWith(protocol.CodeSessionMoved, "session resumed on another connection")
	time.AfterFunc(kickGrace, c.shutdown)
}

// startSession answers a Hello: it resumes the session the resume token
// names, or starts a new one, and sends the Welcome. Reader goroutine.
func (c *Conn) startSession(h *protocol.Hello) bool {
	store := c.srv.sessions
	var (
		st      sessions.State
		resumed bool
		refusal error
	)
	subject := c.principalOf().Subject
	if h.ResumeToken != "" {
		sess, state, err := store.Resume(context.Background(), h.ResumeToken, subject, c)
		switch {
		case err == nil:
			c.sess, st, resumed = sess, state, true
		case errors.Is(err, sessions.ErrBadToken):
			refusal = err
		case errors.Is(err, sessions.ErrNotYours):
			// Someone else's session: theirs stays untouched. Logged as
			// the refusal it is.
			c.logger().Warn("not entitled", "action", "resume", "reason", err.Error())
			refusal = err
		default:
			// Expired, restarted, another server, still held: a new session,
			// and the client continues from the positions it sends.
			c.logger().Info("session not resumed", "err", err)
		}
	}
	if c.sess == nil {
		c.sess = store.Create(c, subject)
	}
	sess := c.sess
	c.sessStats.Store(sess)
	c.hello = true
	c.logger().Info("hello", "client_name", h.Client, "session", sess.ID, "resumed", resumed)
	ok := c.send(&protocol.Welcome{
		Version:     protocol.Version,
		SessionID:   sess.ID,
		Server:      c.srv.cfg.Name,
		HeartbeatMs: uint32(c.srv.cfg.Heartbeat / time.Millisecond),
		ResumeToken: sess.Token,
		Resumed:     resumed,
		ServerTime:  c.srv.hub.clock(),
		Role:        c.srv.role(),
	})
	if refusal != nil {
		c.sendError(protocol.CodeBadResume, fmt.Sprintf("resume refused: %v; this is a new session", refusal), "")
	}
	if resumed {
		c.restore(st)
	}
	return ok
}

// restore subscribes c to a resumed session's topics. Each is checked
// against the principal of the resuming Hello: a topic it may no longer
// subscribe to is dropped with Error 1007. Reader goroutine.
func (c *Conn) restore(st sessions.State) {
	c.maxBps.Store(st.MaxBytesPerSec)
	for _, s := range st.Subscriptions {
		if !c.canSubscribe(s.Topic) {
			c.notEntitled("resume", s.Topic)
			continue
		}
		if _, ok := c.subs[s.Topic]; ok || len(c.subs) >= c.srv.cfg.MaxTopicsPerClient {
			continue
		}
		start := subStart{minInterval: s.MinInterval}
		if s.Sequenced {
			start.pos, start.held = s.Position, true
		} else {
			start.gapAfter = s.Sent
		}
		sb := c.srv.hub.subscribe(c, s.Topic, start)
		c.subs[s.Topic] = sb
		c.nsubs.Add(1)
		if start.held {
			c.held = append(c.held, sb)
		}
	}
}

// releaseHeld lets the writer serve the resumed sequenced subscriptions,
// once the message that resumed them has been read. Reader goroutine.
func (c *Conn) releaseHeld() {
	for _, sb := range c.held {
		c.queue.release(sb)
	}
	c.held = nil
}

// subscribePositions returns the positions of s by topic, refusing those
// that cannot apply (Error 1006). Reader goroutine.
func (c *Conn) subscribePositions(s *protocol.Subscribe) map[string]recovery.Position {
	if len(s.Positions) == 0 || s.Unsubscribe {
		return nil
	}
	m := make(map[string]recovery.Position, len(s.Positions))
	for _, p := range s.Positions {
		switch {
		case protocol.ValidTopic(p.Topic) == nil && !c.canSubscribe(p.Topic):
			// The topic itself is refused (1007); its position says nothing more.
		case protocol.ValidTopic(p.Topic) != nil:
			c.sendError(protocol.CodeBadPosition, "position for an invalid topic name", "")
		case c.srv.hub.Kind(p.Topic) != Sequenced:
			c.sendError(protocol.CodeBadPosition, fmt.Sprintf("position for %s topic: only sequenced topics have positions", c.srv.hub.Kind(p.Topic)), p.Topic)
		case !slices.Contains(s.Topics, p.Topic):
			c.sendError(protocol.CodeBadPosition, "position for a topic the Subscribe does not list", p.Topic)
		default:
			m[p.Topic] = recovery.Position{Seq: p.Seq, Epoch: p.Epoch}
		}
	}
	return m
}

// reposition moves sequenced subscription sb of topic name to the client's
// position. A held one (just resumed) is moved in place; a live one is
// replaced by a new subscription from pos. Reader goroutine.
func (c *Conn) reposition(name string, sb *sub, pos recovery.Position) {
	if slices.Contains(c.held, sb) {
		c.srv.hub.reseat(sb, pos)
		return
	}
	c.srv.hub.unsubscribe(c, name)
	c.subs[name] = c.srv.hub.subscribe(c, name, subStart{minInterval: sb.minInterval, pos: pos})
}

// holder is whom c's lingering session counts against
// (sessions.Config.MaxLingeringPerHolder): its authenticated subject, or
// the remote address of an anonymous client (open mode), so that a flood of
// sessions evicts its sender's own first.
func (c *Conn) holder() string {
	if p := c.principalOf(); p != nil && p.Method != auth.MethodNone {
		return "subject:" + p.Subject
	}
	return "addr:" + addrKey(c.addr)
}

// endSession removes every subscription and leaves their state with the
// session, which lingers for its client to come back. Reader goroutine, once
// the connection has ended.
func (c *Conn) endSession() {
	st := sessions.State{
		MaxBytesPerSec: c.maxBps.Load(),
		Holder:         c.holder(),
		Subscriptions:  make([]sessions.Subscription, 0, len(c.subs)),
	}
	for name, sb := range c.subs {
		pos, sent := c.srv.hub.unsubscribe(c, name)
		// Names and positions only. The name is the topic's own string,
		// not the client's decoded copy: the sessions of many clients of
		// the same topics share it.
		st.Subscriptions = append(st.Subscriptions, sessions.Subscription{
			Topic: sb.topic.name, MinInterval: sb.minInterval, Sequenced: sb.seqd, Position: pos, Sent: sent,
		})
	}
	clear(c.subs)
	c.nsubs.Store(0)
	c.held = nil
	if c.sess != nil {
		c.srv.sessions.Detach(c.sess, c, st)
	}
}
