package sessions

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/recovery"
)

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = NewSecret()
	}
	s, err := NewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// owner is a test connection: Kick detaches it from another goroutine, as a
// real connection does once its goroutines stop.
type owner struct {
	name  string
	store *Store
	sess  *Session
	state State
	kicks int
	mu    sync.Mutex
	stuck bool // never lets go
}

func (o *owner) Kick() {
	o.mu.Lock()
	o.kicks++
	stuck := o.stuck
	o.mu.Unlock()
	if !stuck {
		go o.store.Detach(o.sess, o, o.state)
	}
}

func TestTokens(t *testing.T) {
	sg, err := newSigner(NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	id := newID()
	tok := sg.sign(id)
	if got, err := sg.verify(tok); err != nil || got != id {
		t.Fatalf("verify(sign(%s)) = %q, %v", id, got, err)
	}
	other, _ := newSigner(NewSecret())
	if _, err := other.verify(tok); !errors.Is(err, ErrForeignToken) {
		t.Errorf("token under another secret: %v, want ErrForeignToken", err)
	}
	parts := strings.Split(tok, ".")
	otherID := newID()
	forged := []string{
		"",
		"garbage",
		strings.Join([]string{parts[0], parts[1], otherID, parts[3]}, "."),             // someone else's id, our MAC
		strings.Join([]string{parts[0], parts[1], parts[2], parts[3][:10] + "A"}, "."), // truncated MAC
		strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3])}, "."),      // one MAC character changed
		strings.Join([]string{"tw2", parts[1], parts[2], parts[3]}, "."),
		strings.Join([]string{parts[0], parts[1], strings.ToUpper(parts[2]), parts[3]}, "."),
		tok + ".",
		strings.Join([]string{parts[0], parts[1], parts[2], "!!!"}, "."),
	}
	for _, f := range forged {
		if _, err := sg.verify(f); !errors.Is(err, ErrBadToken) {
			t.Errorf("verify(%q) = %v, want ErrBadToken", f, err)
		}
	}
	if _, err := newSigner(make([]byte, MinSecret-1)); err == nil {
		t.Error("short secret accepted")
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", SecretFile)
	a, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateSecret(path)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("second load: %x, %v; want %x", b, err, a)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode: %v %v", fi.Mode(), err)
	}
	// Concurrent creators agree on one secret.
	path2 := filepath.Join(dir, "race", SecretFile)
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = LoadOrCreateSecret(path2)
		}()
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != MinSecret || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("concurrent creators disagree: %x vs %x", got[i], got[0])
		}
	}
	// A damaged file is refused, named, and left alone.
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("damaged secret: %v", err)
	}
	if raw, _ := os.ReadFile(bad); string(raw) != "not hex\n" {
		t.Fatalf("damaged secret was rewritten: %q", raw)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// TestSecretFileTrust: a session.key others could read or write, in a
// directory others could write to, or owned by another user, is refused
// with the fix named and left alone; a new one is private.
func TestSecretFileTrust(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, SecretFile)
	secret, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	const otherUID = 54321
	for _, tc := range []struct {
		name    string
		path    string // what is changed
		mode    os.FileMode
		chown   bool
		wantFix string
	}{
		{"world-readable file", path, 0o644, false, "chmod 600 " + path},
		{"group-writable file", path, 0o620, false, "chmod 600 " + path},
		{"world-writable directory", dir, 0o777, false, "chmod go-w " + dir},
		{"group-writable directory", dir, 0o770, false, "chmod go-w " + dir},
		{"file of another user", path, 0o600, true, "chown"},
		{"directory of another user", dir, 0o700, true, "chown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown {
				if os.Geteuid() != 0 {
					t.Skip("giving a file to another user needs root (CI runs as root)")
				}
				if err := os.Chown(tc.path, otherUID, otherUID); err != nil {
					t.Fatal(err)
				}
				defer os.Chown(tc.path, os.Geteuid(), os.Getegid())
			}
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(tc.path, tc.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tc.path, fi.Mode().Perm())
			_, err = LoadOrCreateSecret(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantFix) {
				t.Fatalf("LoadOrCreateSecret: %v; want a refusal saying %q", err, tc.wantFix)
			}
		})
	}
	// Put right, the same secret loads again: nothing was replaced.
	if got, err := LoadOrCreateSecret(path); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("after the fixes: %x, %v; want %x", got, err, secret)
	}
}

func TestResumeWithinLinger(t *testing.T) {
	s := newStore(t, Config{Linger: time.Minute})
	o1 := &owner{name: "one", store: s}
	sess := s.Create(o1, "")
	o1.sess = sess
	st := State{MaxBytesPerSec: 7, Subscriptions: []Subscription{
		{Topic: "orders.A", Sequenced: true, Position: recovery.Position{Seq: 41, Epoch: "e"}},
		{Topic: "EURUSD", Sent: 9, MinInterval: time.Second},
	}}
	s.Detach(sess, o1, st)
	if got := s.Stats(); got.Lingering != 1 || got.Attached != 0 {
		t.Fatalf("after detach: %+v", got)
	}
	o2 := &owner{name: "two", store: s}
	got, gotState, err := s.Resume(context.Background(), sess.Token, "", o2)
	if err != nil || got != sess {
		t.Fatalf("resume: %v, %v", got, err)
	}
	if gotState.MaxBytesPerSec != 7 || len(gotState.Subscriptions) != 2 || gotState.Subscriptions[0].Position.Seq != 41 {
		t.Fatalf("resumed state %+v", gotState)
	}
	// A late Detach from the first connection changes nothing.
	s.Detach(sess, o1, State{})
	if st := s.Stats(); st.Attached != 1 || st.Lingering != 0 {
		t.Fatalf("stale detach changed the session: %+v", st)
	}
}

func TestLingerExpiry(t *testing.T) {
	s := newStore(t, Config{Linger: 20 * time.Millisecond})
	o := &owner{store: s}
	sess := s.Create(o, "")
	s.Detach(sess, o, State{})
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Lingering != 0 {
		if time.Now().After(deadline) {
			t.Fatal("session never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, _, err := s.Resume(context.Background(), sess.Token, "", &owner{store: s}); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("resume after linger: %v, want ErrUnknownSession", err)
	}
	if st := s.Stats(); st.Expired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTakeover: resuming a session its old connection still holds (the
// server has not noticed the link died) kicks that connection and hands over
// the state it detached with.
func TestTakeover(t *testing.T) {
	s := newStore(t, Config{})
	old := &owner{store: s, state: State{MaxBytesPerSec: 99}}
	sess := s.Create(old, "")
	old.sess = sess
	nw := &owner{store: s}
	got, st, err := s.Resume(context.Background(), sess.Token, "", nw)
	if err != nil || got != sess || st.MaxBytesPerSec != 99 || old.kicks != 1 {
		t.Fatalf("takeover: %v %+v %v kicks=%d", got, st, err, old.kicks)
	}
	if s.Stats().Taken != 1 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

func TestTakeoverTimeout(t *testing.T) {
	s := newStore(t, Config{TakeoverTimeout: 30 * time.Millisecond})
	old := &owner{store: s, stuck: true}
	sess := s.Create(old, "")
	old.sess = sess
	if _, _, err := s.Resume(context.Background(), sess.Token, "", &owner{store: s}); !errors.Is(err, ErrBusy) {
		t.Fatalf("resume of a stuck session: %v, want ErrBusy", err)
	}
	// The holder keeps it.
	s.Detach(sess, old, State{MaxBytesPerSec: 3})
	if _, st, err := s.Resume(context.Background(), sess.Token, "", &owner{store: s}); err != nil || st.MaxBytesPerSec != 3 {
		t.Fatalf("resume after the holder let go: %+v %v", st, err)
	}
}

// TestForgedTokenHarmsNobody: a forged token for a live session neither
// kicks its connection nor changes its state.
func TestForgedTokenHarmsNobody(t *testing.T) {
	s := newStore(t, Config{})
	victim := &owner{store: s}
	sess := s.Create(victim, "")
	victim.sess = sess
	parts := strings.Split(sess.Token, ".")
	forged := strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3])}, ".")
	if _, _, err := s.Resume(context.Background(), forged, "", &owner{store: s}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("forged: %v", err)
	}
	if victim.kicks != 0 {
		t.Fatal("a forged token kicked the session's connection")
	}
	if st := s.Stats(); st.Refused != 1 || st.Attached != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMaxLingering(t *testing.T) {
	s := newStore(t, Config{MaxLingering: 3})
	var sessions []*Session
	for range 5 {
		o := &owner{store: s}
		sess := s.Create(o, "")
		s.Detach(sess, o, State{})
		sessions = append(sessions, sess)
	}
	if st := s.Stats(); st.Lingering != 3 || st.Expired != 2 {
		t.Fatalf("stats %+v", st)
	}
	if _, _, err := s.Resume(context.Background(), sessions[0].Token, "", &owner{store: s}); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("oldest should have been dropped: %v", err)
	}
	if _, _, err := s.Resume(context.Background(), sessions[4].Token, "", &owner{store: s}); err != nil {
		t.Fatalf("newest: %v", err)
	}
}

func TestNoLinger(t *testing.T) {
	s := newStore(t, Config{Linger: -1})
	o := &owner{store: s}
	sess := s.Create(o, "")
	s.Detach(sess, o, State{})
	if _, _, err := s.Resume(context.Background(), sess.Token, "", &owner{store: s}); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("resume without linger: %v", err)
	}
}

// TestResumeBySameSubjectOnly: a session of subject "ann" is resumed by ann
// only; another subject (or none) with its genuine token is refused with
// ErrNotYours, and the connection holding it is not kicked.
func TestResumeBySameSubjectOnly(t *testing.T) {
	s := newStore(t, Config{})
	holder := &owner{store: s, state: State{MaxBytesPerSec: 5}}
	sess := s.Create(holder, "ann")
	holder.sess = sess
	if sess.Subject != "ann" {
		t.Fatalf("subject %q", sess.Subject)
	}
	for _, other := range []string{"bob", ""} {
		if _, _, err := s.Resume(context.Background(), sess.Token, other, &owner{store: s}); !errors.Is(err, ErrNotYours) {
			t.Fatalf("resume by %q: %v, want ErrNotYours", other, err)
		}
	}
	if _, _, err := s.Resume(context.Background(), sess.Token, "", &owner{store: s}); !errors.Is(err, ErrNotYours) {
		t.Fatalf("Resume (no subject) of ann's session: %v, want ErrNotYours", err)
	}
	if holder.kicks != 0 {
		t.Fatalf("refused resumes kicked the holder %d times", holder.kicks)
	}
	if st := s.Stats(); st.Refused != 3 {
		t.Fatalf("stats %+v, want 3 refused", st)
	}
	got, st, err := s.Resume(context.Background(), sess.Token, "ann", &owner{store: s})
	if err != nil || got != sess || st.MaxBytesPerSec != 5 || holder.kicks != 1 {
		t.Fatalf("resume by ann: %v %+v %v kicks=%d", got, st, err, holder.kicks)
	}
}

// TestLingeringCaps: the lingering sessions are capped in bytes, per holder
// and in total, and a holder past a cap loses its own oldest sessions, not
// anyone else's.
func TestLingeringCaps(t *testing.T) {
	big := State{Holder: "subject:mallory", Subscriptions: make([]Subscription, 100)}
	size := big.Size()
	s := newStore(t, Config{MaxLingeringPerHolder: 3 * size, MaxLingeringBytes: 5 * size})
	leave := func(st State) *Session {
		o := &owner{store: s}
		sess := s.Create(o, "x")
		s.Detach(sess, o, st)
		return sess
	}
	alive := func(sess *Session) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.byID[sess.ID] == sess
	}
	ann := leave(State{Holder: "subject:ann", Subscriptions: make([]Subscription, 1)})
	bob := leave(State{Holder: "subject:bob", Subscriptions: make([]Subscription, 100)})
	var flood []*Session
	for range 10 {
		flood = append(flood, leave(big))
		st := s.Stats()
		if st.LingeringBytes > 5*size {
			t.Fatalf("%d bytes lingering: over the cap of %d", st.LingeringBytes, 5*size)
		}
	}
	if !alive(ann) || !alive(bob) {
		t.Fatal("mallory's sessions evicted another holder's")
	}
	// Mallory keeps her newest within her cap (3); the total (5 sizes) has
	// room for them beside bob's and ann's.
	for i, sess := range flood {
		if want := i >= len(flood)-3; alive(sess) != want {
			t.Fatalf("mallory's session %d alive %v, want %v", i, alive(sess), want)
		}
	}
	// Past the total: the holder with the most bytes loses its oldest.
	carol := leave(State{Holder: "addr:192.0.2.1", Subscriptions: make([]Subscription, 100)})
	if !alive(carol) || !alive(bob) || !alive(ann) || alive(flood[7]) || !alive(flood[8]) {
		t.Fatal("past the total, mallory's oldest should have gone, nobody else's")
	}
	if st := s.Stats(); st.Evicted != 8 || st.Lingering != 5 {
		t.Fatalf("stats %+v: want 8 evicted, 5 lingering", st)
	}
}
