package sessions

import (
	"container/list"
	"context"
	"sync"
	"time"

	"tickwire/recovery"
)

// Config configures a Store. Zero fields take the defaults in their comments.
type Config struct {
	// Secret keys the resume tokens' HMAC: at least MinSecret bytes, from
	// LoadOrCreateSecret (tokens outlive restarts) or NewSecret. Required.
	Secret []byte
	// Linger is how long a disconnected session is kept for its client to
	// resume. Default 30s; negative: sessions end with their connection.
	Linger time.Duration
	// MaxLingering caps the disconnected sessions kept; past it the oldest
	// is dropped early. Default 10000.
	MaxLingering int
	// TakeoverTimeout bounds how long Resume waits for the connection still
	// holding a session to let go of it. Default 5s.
	TakeoverTimeout time.Duration
}

// Owner is the connection holding a session.
type Owner interface {
	// Kick asks the connection to close because its session is being
	// resumed elsewhere. It must not block, and the connection must then
	// call Store.Detach (promptly: Resume waits for it).
	Kick()
}

// State is what a session keeps while its client is away.
type State struct {
	Subscriptions  []Subscription
	MaxBytesPerSec uint64 // the client's bandwidth budget (Limits)
}

// Subscription is one topic of a session.
type Subscription struct {
	Topic       string
	MinInterval time.Duration // the client's rate limit on this topic
	Sequenced   bool
	// Position (sequenced topics): the last event sent on the previous
	// connection. Events in flight when it broke may not have arrived, so a
	// client that wants exactly-once sends its own position when it resumes.
	Position recovery.Position
	// Sent (conflated topics): the sequence number of the last value sent,
	// 0 if none. A later value on resume skipped something: it is a gap.
	Sent uint64
}

// Session is one client session. ID, Token and Subject never change.
type Session struct {
	ID    string // shown in Welcome, logs and stats
	Token string // the resume token
	// Subject is the authenticated principal the session belongs to: only
	// the same subject may resume it (ResumeAs).
	Subject string

	// Guarded by Store.mu.
	owner    Owner         // nil while lingering
	state    State         // while lingering
	released chan struct{} // closed by the Detach of the current owner
	gen      uint64        // incremented by every Detach: names a lingering period
	linger   *time.Timer
	elem     *list.Element // in Store.lingering while lingering
}

// Stats counts a Store's sessions.
type Stats struct {
	Attached  int    // sessions with a connection
	Lingering int    // sessions waiting for their client
	Created   uint64 // sessions ever created
	Resumed   uint64 // successful resumes
	Taken     uint64 // resumes that took the session from a live connection
	Expired   uint64 // sessions dropped after their linger (or early, past MaxLingering)
	Refused   uint64 // resumes refused for a bad token or another subject
}

// Store holds the sessions of one server.
type Store struct {
	cfg    Config
	signer *signer

	mu        sync.Mutex
	byID      map[string]*Session
	lingering *list.List // *Session, oldest first
	closed    bool
	stats     Stats
}

// NewStore returns an empty Store.
func NewStore(cfg Config) (*Store, error) {
	sg, err := newSigner(cfg.Secret)
	if err != nil {
		return nil, err
	}
	if cfg.Linger == 0 {
		cfg.Linger = 30 * time.Second
	}
	if cfg.MaxLingering <= 0 {
		cfg.MaxLingering = 10000
	}
	if cfg.TakeoverTimeout <= 0 {
		cfg.TakeoverTimeout = 5 * time.Second
	}
	return &Store{cfg: cfg, signer: sg, byID: make(map[string]*Session), lingering: list.New()}, nil
}

// Linger returns the configured linger time.
func (s *Store) Linger() time.Duration { return s.cfg.Linger }

// Create starts a new session held by owner, of no subject.
func (s *Store) Create(owner Owner) *Session { return s.CreateFor(owner, "") }

// CreateFor starts a new session held by owner for subject.
func (s *Store) CreateFor(owner Owner, subject string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id string
	for {
		if id = newID(); s.byID[id] == nil {
			break
		}
	}
	sess := &Session{ID: id, Token: s.signer.sign(id), Subject: subject, owner: owner, released: make(chan struct{})}
	if !s.closed {
		s.byID[id] = sess
	}
	s.stats.Created++
	return sess
}

// Resume verifies token and hands its session, with the state it was left
// in, to owner. If another connection still holds the session, Resume kicks
// it and waits (up to TakeoverTimeout, or ctx) for its Detach. Errors:
// ErrBadToken (forged or damaged; nothing was looked up), ErrForeignToken,
// ErrUnknownSession, ErrBusy, ErrClosed, or ctx's error. On any error the
// caller starts a new session; nobody's session has changed.
func (s *Store) Resume(ctx context.Context, token string, owner Owner) (*Session, State, error) {
	return s.ResumeAs(ctx, token, "", owner)
}

// ResumeAs is Resume for subject: a session created for another subject
// is refused with ErrNotYours before anything happens to it (its
// connection is not kicked), so a stolen resume token is of no use to
// another principal.
func (s *Store) ResumeAs(ctx context.Context, token, subject string, owner Owner) (*Session, State, error) {
	id, err := s.signer.verify(token)
	if err != nil {
		s.mu.Lock()
		s.stats.Refused++
		s.mu.Unlock()
		return nil, State{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TakeoverTimeout)
	defer cancel()
	taken := false
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, State{}, ErrClosed
		}
		sess := s.byID[id]
		if sess == nil {
			s.mu.Unlock()
			return nil, State{}, ErrUnknownSession
		}
		if sess.Subject != subject {
			s.stats.Refused++
			s.mu.Unlock()
			return nil, State{}, ErrNotYours
		}
		if sess.owner == nil {
			sess.owner = owner
			if sess.linger != nil {
				sess.linger.Stop()
				sess.linger = nil
			}
			if sess.elem != nil {
				s.lingering.Remove(sess.elem)
				sess.elem = nil
			}
			st := sess.state
			sess.state = State{}
			s.stats.Resumed++
			if taken {
				s.stats.Taken++
			}
			s.mu.Unlock()
			return sess, st, nil
		}
		old, released := sess.owner, sess.released
		s.mu.Unlock()
		taken = true
		old.Kick()
		select {
		case <-released:
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, State{}, ErrBusy
			}
			return nil, State{}, ctx.Err()
		}
	}
}

// Detach records that owner, which held sess, is gone, leaving st. The
// session lingers for Config.Linger, then ends unless resumed. A Detach by a
// connection that no longer holds the session is ignored.
func (s *Store) Detach(sess *Session, owner Owner, st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.owner != owner {
		return
	}
	sess.owner = nil
	sess.gen++
	close(sess.released)
	sess.released = make(chan struct{})
	if s.closed || s.cfg.Linger < 0 || s.byID[sess.ID] != sess {
		delete(s.byID, sess.ID)
		return
	}
	sess.state = st
	gen := sess.gen
	sess.linger = time.AfterFunc(s.cfg.Linger, func() { s.expire(sess, gen) })
	sess.elem = s.lingering.PushBack(sess)
	for s.lingering.Len() > s.cfg.MaxLingering {
		s.dropLocked(s.lingering.Front().Value.(*Session))
	}
}

// expire ends sess if it is still in the lingering period gen.
func (s *Store) expire(sess *Session, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.owner == nil && sess.gen == gen && s.byID[sess.ID] == sess {
		s.dropLocked(sess)
	}
}

// dropLocked ends lingering session sess. Lock must be held.
func (s *Store) dropLocked(sess *Session) {
	if sess.linger != nil {
		sess.linger.Stop()
		sess.linger = nil
	}
	if sess.elem != nil {
		s.lingering.Remove(sess.elem)
		sess.elem = nil
	}
	sess.state = State{}
	delete(s.byID, sess.ID)
	s.stats.Expired++
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Lingering = s.lingering.Len()
	st.Attached = len(s.byID) - st.Lingering
	return st
}

// Close drops every lingering session and refuses resumes. Sessions still
// held end when their connections Detach.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for s.lingering.Len() > 0 {
		s.dropLocked(s.lingering.Front().Value.(*Session))
	}
}
