package sessions

import (
	"container/list"
	"context"
	"sync"
	"time"
	"unsafe"

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
	// session of the holder with the most is dropped early. Default 10000.
	MaxLingering int
	// MaxLingeringBytes caps the memory of all lingering sessions (as
	// State.Size counts it); past it the oldest session of the holder with
	// the most bytes is dropped early. Default 128 MiB.
	MaxLingeringBytes int64
	// MaxLingeringPerHolder caps the memory of one holder's lingering sessions
	// (State.Holder: one subject, or one address); past it that holder's
	// oldest are dropped early, nobody else's. Default 16 MiB.
	MaxLingeringPerHolder int64
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

// State is what a session keeps while its client is away: names, positions
// and settings, nothing encoded or queued.
type State struct {
	Subscriptions  []Subscription
	MaxBytesPerSec uint64 // the client's bandwidth budget (Limits)
	// Holder is who the lingering state counts against (MaxLingeringPerHolder):
	// the subject of an authenticated client, the address of an anonymous
	// one.
	Holder string
}

// Size is the memory a lingering session with this state is counted for: a
// fixed cost per session (the Session, its timer, its list and map entries)
// and per subscription, and every string's bytes (counted even where they
// share another's: an upper bound).
func (st *State) Size() int64 {
	n := sessionBytes + int64(len(st.Holder)) + int64(cap(st.Subscriptions))*int64(unsafe.Sizeof(Subscription{}))
	for i := range st.Subscriptions {
		n += int64(len(st.Subscriptions[i].Topic) + len(st.Subscriptions[i].Position.Epoch))
	}
	return n
}

// sessionBytes is what a lingering session costs besides its state's
// slices and strings: the Session with its id and token, a timer, a list
// element and map entries.
const sessionBytes = 512

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
	// the same subject may resume it (Resume).
	Subject string

	// Guarded by Store.mu.
	owner    Owner         // nil while lingering
	state    State         // while lingering
	released chan struct{} // closed by the Detach of the current owner
	gen      uint64        // incremented by every Detach: names a lingering period
	linger   *time.Timer
	elem     *list.Element // in holder.sessions while lingering
	holder   *holder       // while lingering
	size     int64         // state.Size() while lingering
}

// holder is the lingering sessions of one State.Holder. Guarded by Store.mu.
type holder struct {
	key      string
	sessions *list.List // *Session, oldest first
	bytes    int64
}

// Stats counts a Store's sessions.
type Stats struct {
	Attached  int // sessions with a connection
	Lingering int // sessions waiting for their client
	// LingeringBytes is their memory as State.Size counts it.
	LingeringBytes int64
	Created        uint64 // sessions ever created
	Resumed        uint64 // successful resumes
	Taken          uint64 // resumes that took the session from a live connection
	Expired        uint64 // sessions dropped after their linger, or early (Evicted)
	Evicted        uint64 // sessions dropped early, over a cap (counted in Expired too)
	Refused        uint64 // resumes refused for a bad token or another subject
}

// Store holds the sessions of one server.
type Store struct {
	cfg    Config
	signer *signer

	mu        sync.Mutex
	byID      map[string]*Session
	holders   map[string]*holder // by State.Holder, while it has lingering sessions
	lingering int
	bytes     int64 // the lingering sessions' sizes
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
	if cfg.MaxLingeringBytes <= 0 {
		cfg.MaxLingeringBytes = 128 << 20
	}
	if cfg.MaxLingeringPerHolder <= 0 {
		cfg.MaxLingeringPerHolder = 16 << 20
	}
	if cfg.TakeoverTimeout <= 0 {
		cfg.TakeoverTimeout = 5 * time.Second
	}
	return &Store{cfg: cfg, signer: sg, byID: make(map[string]*Session), holders: make(map[string]*holder)}, nil
}

// Linger returns the configured linger time.
func (s *Store) Linger() time.Duration { return s.cfg.Linger }

// Create starts a new session held by owner for subject (the
// authenticated principal; only the same subject may resume it).
func (s *Store) Create(owner Owner, subject string) *Session {
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
// in, to owner. A session created for another subject is refused with
// ErrNotYours before anything happens to it (its connection is not
// kicked), so a stolen resume token is of no use to another principal. If
// another connection still holds the session, Resume kicks it and waits
// (up to TakeoverTimeout, or ctx) for its Detach. Errors: ErrBadToken
// (forged or damaged; nothing was looked up), ErrForeignToken,
// ErrUnknownSession, ErrNotYours, ErrBusy, ErrClosed, or ctx's error. On
// any error the caller starts a new session; nobody's session has changed.
func (s *Store) Resume(ctx context.Context, token, subject string, owner Owner) (*Session, State, error) {
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
			s.unlinkLocked(sess)
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
// session lingers for Config.Linger, then ends unless resumed. Over a cap,
// sessions end early, the offender's first: past MaxLingeringPerHolder, the oldest
// of st.Holder's (this one, if it alone is too large); past MaxLingering or
// MaxLingeringBytes, the oldest of the holder with the most. A Detach by a
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
	h := s.holders[st.Holder]
	if h == nil {
		h = &holder{key: st.Holder, sessions: list.New()}
		s.holders[st.Holder] = h
	}
	sess.holder, sess.size = h, st.Size()
	sess.elem = h.sessions.PushBack(sess)
	h.bytes += sess.size
	s.lingering++
	s.bytes += sess.size
	for h.bytes > s.cfg.MaxLingeringPerHolder {
		s.evictLocked(h)
	}
	for s.lingering > s.cfg.MaxLingering {
		s.evictLocked(s.largestLocked(func(h *holder) int64 { return int64(h.sessions.Len()) }))
	}
	for s.bytes > s.cfg.MaxLingeringBytes {
		s.evictLocked(s.largestLocked(func(h *holder) int64 { return h.bytes }))
	}
}

// largestLocked returns the holder of lingering sessions that has the most
// by size. It looks at every holder: it runs only when a cap is passed. Lock
// must be held; there is at least one holder.
func (s *Store) largestLocked(size func(*holder) int64) *holder {
	var top *holder
	for _, h := range s.holders {
		if top == nil || size(h) > size(top) {
			top = h
		}
	}
	return top
}

// evictLocked ends h's oldest lingering session early. Lock must be held.
func (s *Store) evictLocked(h *holder) {
	s.dropLocked(h.sessions.Front().Value.(*Session))
	s.stats.Evicted++
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
	s.unlinkLocked(sess)
	sess.state = State{}
	delete(s.byID, sess.ID)
	s.stats.Expired++
}

// unlinkLocked ends sess's lingering period: its timer, its place and its
// bytes among the lingering. Lock must be held.
func (s *Store) unlinkLocked(sess *Session) {
	if sess.linger != nil {
		sess.linger.Stop()
		sess.linger = nil
	}
	h := sess.holder
	if h == nil {
		return
	}
	h.sessions.Remove(sess.elem)
	h.bytes -= sess.size
	if h.sessions.Len() == 0 {
		delete(s.holders, h.key)
	}
	s.lingering--
	s.bytes -= sess.size
	sess.elem, sess.holder, sess.size = nil, nil, 0
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Lingering, st.LingeringBytes = s.lingering, s.bytes
	st.Attached = len(s.byID) - st.Lingering
	return st
}

// Close drops every lingering session and refuses resumes. Sessions still
// held end when their connections Detach.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, h := range s.holders {
		for h.sessions.Len() > 0 {
			s.dropLocked(h.sessions.Front().Value.(*Session))
		}
	}
}
