package fixclient

import (
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"
)

// lockedStoreFactory wraps quickfix's FileStore with a mutex. quickfix
// writes the store from the goroutine that sends (SendToTarget) and reads it
// from the session's goroutine (answering a ResendRequest), and the
// FileStore's cached sequence numbers are not synchronised: the race
// detector sees it whenever the peer asks for a resend while we send.
type lockedStoreFactory struct{ inner quickfix.MessageStoreFactory }

// Create implements quickfix.MessageStoreFactory.
func (f lockedStoreFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	s, err := f.inner.Create(id)
	if err != nil {
		return nil, err
	}
	return &lockedStore{inner: s}, nil
}

// lockedStore serialises every call but IterateMessages, whose callback
// sends (and so calls back into the store).
type lockedStore struct {
	mu    sync.Mutex
	inner quickfix.MessageStore
}

func (s *lockedStore) NextSenderMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.NextSenderMsgSeqNum()
}

func (s *lockedStore) NextTargetMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.NextTargetMsgSeqNum()
}

func (s *lockedStore) IncrNextSenderMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.IncrNextSenderMsgSeqNum()
}

func (s *lockedStore) IncrNextTargetMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.IncrNextTargetMsgSeqNum()
}

func (s *lockedStore) SetNextSenderMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SetNextSenderMsgSeqNum(next)
}

func (s *lockedStore) SetNextTargetMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SetNextTargetMsgSeqNum(next)
}

func (s *lockedStore) CreationTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.CreationTime()
}

func (s *lockedStore) SetCreationTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inner.SetCreationTime(t)
}

func (s *lockedStore) SaveMessage(seq int, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SaveMessage(seq, msg)
}

func (s *lockedStore) SaveMessageAndIncrNextSenderMsgSeqNum(seq int, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SaveMessageAndIncrNextSenderMsgSeqNum(seq, msg)
}

func (s *lockedStore) GetMessages(begin, end int) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.GetMessages(begin, end)
}

func (s *lockedStore) IterateMessages(begin, end int, cb func([]byte) error) error {
	return s.inner.IterateMessages(begin, end, cb)
}

func (s *lockedStore) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Refresh()
}

func (s *lockedStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Reset()
}

func (s *lockedStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Close()
}
