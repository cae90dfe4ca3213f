package fix

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/quickfix/store/file"

	"tickwire/internal/secfile"
)

// The message store: quickfix's durable FileStore, wrapped so that the
// incoming sequence number it persists never runs ahead of the journal.
//
// quickfix calls FromApp and then stores NextTargetMsgSeqNum+1. FromApp only
// hands the message to the engine, which journals it a little later (group
// commit). If the process died in between, the peer would never resend the
// message and it would be lost. So the gated store keeps the number quickfix
// sees (in memory) apart from the number it writes: it writes at most the
// sequence number of the oldest inbound application message that is not yet
// journalled ("held"). After a crash the gateway therefore expects a lower
// sequence number than the peer sends, asks for a resend, and gets every
// message that was not journalled; the ones that were are recognised and
// dropped (engine.seen).

// storeFactory creates one gatedStore per session and remembers them.
type storeFactory struct {
	inner quickfix.MessageStoreFactory

	mu     sync.Mutex
	stores map[quickfix.SessionID]*gatedStore
}

// newStoreFactory makes the store directories private first (privateDirs).
func newStoreFactory(settings *quickfix.Settings) (*storeFactory, error) {
	if err := privateDirs(settings, config.FileStorePath); err != nil {
		return nil, err
	}
	return &storeFactory{
		inner:  file.NewStoreFactory(settings),
		stores: make(map[quickfix.SessionID]*gatedStore),
	}, nil
}

// newJournalStoreFactory keeps the stores in journal streams
// (journalstore.go).
func newJournalStoreFactory(f *journalStoreFactory) *storeFactory {
	return &storeFactory{inner: f, stores: make(map[quickfix.SessionID]*gatedStore)}
}

// journalStores returns the journal stores (none for FileStores).
func (f *storeFactory) journalStores() []*journalStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*journalStore
	for _, s := range f.stores {
		if js, ok := s.current().(*journalStore); ok {
			out = append(out, js)
		}
	}
	return out
}

// attach gives every session of a warm acceptor (whose stores are
// standbyStores) its journal store on j, read from the session's stream
// now: the state a gateway attached to the acceptor continues from. On a
// failure the stores opened are closed and every session is on standby
// again.
func (f *storeFactory) attach(jf *journalStoreFactory) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, gs := range f.stores {
		js, err := jf.Create(id)
		if err != nil {
			f.detachLocked()
			return err
		}
		gs.swap(js)
	}
	return nil
}

// detach puts every session of a warm acceptor back on standby and closes
// the journal stores it had (their queued records are appended first, if
// the journal still takes them). It returns the first close error.
func (f *storeFactory) detach() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.detachLocked()
}

func (f *storeFactory) detachLocked() error {
	var first error
	for _, gs := range f.stores {
		if old := gs.swap(standbyStore{}); old != nil {
			if err := old.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// durable waits until every store record queued so far is durable (see
// journalstore.go): what a connection is about to write was saved before.
// It fails after timeout or on a store's write failure. FileStores write
// before they return: nothing to wait for.
func (f *storeFactory) durable(timeout time.Duration) error {
	for _, js := range f.journalStores() {
		if err := js.waitDurable(timeout); err != nil {
			return err
		}
	}
	return nil
}

// fail makes every journal store refuse later writes.
func (f *storeFactory) fail(err error) {
	for _, js := range f.journalStores() {
		js.fail(err)
	}
}

// privateDirs creates the directories that setting names, in the defaults
// or any session, 0700 before quickfix does (it would make them 0777 less
// the umask), and refuses one that others may enter or write to, or that
// another user owns (secfile.PrivateDir): quickfix creates its store and
// log files readable by others, and they hold every order.
func privateDirs(settings *quickfix.Settings, setting string) error {
	all := []*quickfix.SessionSettings{settings.GlobalSettings()}
	for _, ss := range settings.SessionSettings() {
		all = append(all, ss)
	}
	for _, ss := range all {
		if !ss.HasSetting(setting) {
			continue
		}
		dir, err := ss.Setting(setting)
		if err != nil {
			return fmt.Errorf("fix: %s: %w", setting, err)
		}
		if err := secfile.MkdirAll(dir, secfile.PrivateDir); err != nil {
			return fmt.Errorf("fix: %s: %w", setting, err)
		}
	}
	return nil
}

// Create implements quickfix.MessageStoreFactory.
func (f *storeFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	inner, err := f.inner.Create(id)
	if err != nil {
		return nil, err
	}
	g := &gatedStore{inner: inner}
	g.nextTarget = inner.NextTargetMsgSeqNum()
	g.persisted = g.nextTarget
	f.mu.Lock()
	f.stores[id] = g
	f.mu.Unlock()
	return g, nil
}

func (f *storeFactory) get(id quickfix.SessionID) *gatedStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stores[id]
}

func (f *storeFactory) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stores {
		_ = s.Close()
	}
}

// gatedStore is a quickfix.MessageStore whose persisted incoming sequence
// number waits for the journal (see the file comment). All methods are safe
// for concurrent use. A warm acceptor's sessions keep their gatedStore for
// the node's life and change what is inside (swap): a standbyStore while
// no gateway is attached, a journal store read at the attach otherwise.
type gatedStore struct {
	mu    sync.Mutex
	inner quickfix.MessageStore // guarded by mu

	nextTarget int   // what quickfix believes; guarded by mu
	persisted  int   // what the inner store has on disk; guarded by mu
	holds      []int // inbound app seqnums handed to the engine, not journalled, ascending; guarded by mu
}

var _ quickfix.MessageStore = (*gatedStore)(nil)

// current returns the inner store.
func (s *gatedStore) current() quickfix.MessageStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner
}

// swap makes inner the store and returns the one it replaces. The numbers
// are inner's; holds are dropped (they were the previous gateway's).
func (s *gatedStore) swap(inner quickfix.MessageStore) quickfix.MessageStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.inner
	s.inner = inner
	s.holds = nil
	s.nextTarget = inner.NextTargetMsgSeqNum()
	s.persisted = s.nextTarget
	return old
}

// hold records that the inbound message seq is with the engine: the
// persisted next target stays at or below seq until release.
func (s *gatedStore) hold(seq int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearch(s.holds, seq)
	s.holds = slices.Insert(s.holds, i, seq)
}

// release drops the holds of seqs (journalled or deliberately dropped),
// taken in the store epoch epoch, and persists the next target sequence
// number that is now safe. Holds of an older epoch were dropped by Reset.
func (s *gatedStore) release(epoch int64, seqs []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch != s.inner.CreationTime().UnixNano() {
		return nil
	}
	for _, q := range seqs {
		if i, ok := slices.BinarySearch(s.holds, q); ok {
			s.holds = slices.Delete(s.holds, i, i+1)
		}
	}
	return s.persistLocked()
}

// persistLocked writes min(nextTarget, oldest hold). Lock must be held.
func (s *gatedStore) persistLocked() error {
	want := s.nextTarget
	if len(s.holds) > 0 && s.holds[0] < want {
		want = s.holds[0]
	}
	if want == s.persisted {
		return nil
	}
	if err := s.inner.SetNextTargetMsgSeqNum(want); err != nil {
		return fmt.Errorf("fix: store next target seqnum: %w", err)
	}
	s.persisted = want
	return nil
}

// epoch identifies the store's current sequence-number history: it changes
// when the store is reset (e.g. a logon with ResetSeqNumFlag=Y).
func (s *gatedStore) epoch() int64 { return s.CreationTime().UnixNano() }

func (s *gatedStore) NextSenderMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.NextSenderMsgSeqNum()
}

func (s *gatedStore) NextTargetMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextTarget
}

func (s *gatedStore) IncrNextSenderMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.IncrNextSenderMsgSeqNum()
}

func (s *gatedStore) IncrNextTargetMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextTarget++
	return s.persistLocked()
}

func (s *gatedStore) SetNextSenderMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SetNextSenderMsgSeqNum(next)
}

func (s *gatedStore) SetNextTargetMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextTarget = next
	return s.persistLocked()
}

func (s *gatedStore) CreationTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.CreationTime()
}

func (s *gatedStore) SetCreationTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inner.SetCreationTime(t)
}

func (s *gatedStore) SaveMessage(seq int, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SaveMessage(seq, msg)
}

func (s *gatedStore) SaveMessageAndIncrNextSenderMsgSeqNum(seq int, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SaveMessageAndIncrNextSenderMsgSeqNum(seq, msg)
}

func (s *gatedStore) GetMessages(begin, end int) ([][]byte, error) {
	var out [][]byte
	err := s.IterateMessages(begin, end, func(m []byte) error {
		out = append(out, append([]byte(nil), m...))
		return nil
	})
	return out, err
}

// IterateMessages gives each stored message of the range once, the last
// stored under its sequence number, in order. The FileStore saves a message,
// then advances the next sender sequence number, in two writes: a process
// killed between them leaves a message that was never sent, and after the
// restart the number is used again for the one that was. Given both,
// quickfix's resend would send the stale one too, and a gap fill backwards
// after it (MsgSeqNum 106, NewSeqNo 105), which the peer rejects. Two passes
// over the store: the first finds each number's last copy.
//
// It runs without the lock: the callback sends (resend), and the FileStore
// synchronises its files itself.
func (s *gatedStore) IterateMessages(begin, end int, cb func([]byte) error) error {
	inner := s.current()
	if _, ok := inner.(interface{ lastCopyOnly() }); ok {
		return inner.IterateMessages(begin, end, cb)
	}
	last := make(map[int]int) // seq -> position of its last copy
	pos := 0
	if err := inner.IterateMessages(begin, end, func(m []byte) error {
		last[storedSeq(m)] = pos
		pos++
		return nil
	}); err != nil {
		return err
	}
	pos = 0
	return inner.IterateMessages(begin, end, func(m []byte) error {
		i := pos
		pos++
		if last[storedSeq(m)] != i {
			return nil // a stale copy
		}
		return cb(m)
	})
}

// storedSeq returns the MsgSeqNum of a stored message, or -1.
func storedSeq(m []byte) int {
	i := bytes.Index(m, []byte("\x0134="))
	if i < 0 {
		return -1
	}
	n, ok := 0, false
	for _, c := range m[i+4:] {
		if c < '0' || c > '9' {
			break
		}
		n, ok = n*10+int(c-'0'), true
	}
	if !ok {
		return -1
	}
	return n
}

// Refresh reloads the inner store. Holds stay: messages still with the
// engine must keep the persisted number down.
func (s *gatedStore) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.inner.Refresh(); err != nil {
		return err
	}
	s.nextTarget = s.inner.NextTargetMsgSeqNum()
	s.persisted = s.nextTarget
	return s.persistLocked()
}

// Reset starts a new sequence-number history (new epoch). Old holds refer
// to the old numbering and are dropped.
func (s *gatedStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.inner.Reset(); err != nil {
		return err
	}
	s.holds = nil
	s.nextTarget = s.inner.NextTargetMsgSeqNum()
	s.persisted = s.nextTarget
	return nil
}

func (s *gatedStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Close()
}

// errNotActive is the standby store's refusal.
var errNotActive = errors.New("fix: this node is not the active node: its FIX sessions take no messages")

// standbyStore is the store of a warm acceptor's session while no gateway
// is attached (the node is not Active): it refuses every write and every
// read of messages, so nothing a standby's session might do (it has no
// connection: the port is closed) reaches the journal or a socket.
type standbyStore struct{}

var _ quickfix.MessageStore = standbyStore{}

func (standbyStore) NextSenderMsgSeqNum() int         { return 1 }
func (standbyStore) NextTargetMsgSeqNum() int         { return 1 }
func (standbyStore) IncrNextSenderMsgSeqNum() error   { return errNotActive }
func (standbyStore) IncrNextTargetMsgSeqNum() error   { return errNotActive }
func (standbyStore) SetNextSenderMsgSeqNum(int) error { return errNotActive }
func (standbyStore) SetNextTargetMsgSeqNum(int) error { return errNotActive }

// CreationTime is now: a standby store has no history, and a session
// with a session time (StartTime/EndTime) must not take it for one from an
// earlier session period and try to reset it every second.
func (standbyStore) CreationTime() time.Time                                 { return time.Now() }
func (standbyStore) SetCreationTime(time.Time)                               {}
func (standbyStore) SaveMessage(int, []byte) error                           { return errNotActive }
func (standbyStore) SaveMessageAndIncrNextSenderMsgSeqNum(int, []byte) error { return errNotActive }
func (standbyStore) GetMessages(int, int) ([][]byte, error)                  { return nil, errNotActive }
func (standbyStore) IterateMessages(int, int, func([]byte) error) error      { return errNotActive }
func (standbyStore) Refresh() error                                          { return errNotActive }
func (standbyStore) Reset() error                                            { return errNotActive }
func (standbyStore) Close() error                                            { return nil }

// standbyStoreFactory makes a warm acceptor's stores: standbyStores until
// a gateway attaches its journal stores (storeFactory.attach).
type standbyStoreFactory struct{}

func (standbyStoreFactory) Create(quickfix.SessionID) (quickfix.MessageStore, error) {
	return standbyStore{}, nil
}
