package fix

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"tickwire/recovery"
)

// storeJournals runs f on a BoltJournal (reopened from its file by reopen)
// and on a MemJournal (reopen gives the same one).
func storeJournals(t *testing.T, f func(t *testing.T, j recovery.Journal, reopen func() recovery.Journal)) {
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "journal.db")
		j, err := recovery.OpenBolt(path, recovery.BoltOptions{Sync: recovery.SyncNone})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Close() })
		f(t, j, func() recovery.Journal {
			t.Helper()
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if j, err = recovery.OpenBolt(path, recovery.BoltOptions{Sync: recovery.SyncNone}); err != nil {
				t.Fatal(err)
			}
			return j
		})
	})
	t.Run("mem", func(t *testing.T) {
		j := recovery.NewMem()
		f(t, j, func() recovery.Journal { return j })
	})
}

func testFIXMessage(seq int, msgType, text string) []byte {
	return []byte(fmt.Sprintf("8=FIX.4.4\x019=10\x0135=%s\x0134=%d\x0158=%s\x0110=000\x01", msgType, seq, text))
}

func openTestStore(t *testing.T, j recovery.Journal, ret StoreRetention) *journalStore {
	t.Helper()
	s, err := openJournalStore(j, "fix.store.GW-CL", ret.withDefaults(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// iterate returns "seq:text" of the stored messages of a range.
func iterate(t *testing.T, s quickfix.MessageStore, begin, end int) string {
	t.Helper()
	var got []string
	if err := s.IterateMessages(begin, end, func(m []byte) error {
		_, text, _ := strings.Cut(string(m), "\x0158=")
		text, _, _ = strings.Cut(text, "\x01")
		got = append(got, fmt.Sprintf("%d:%s", storedSeq(m), text))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

// TestJournalStoreContinues: a store reopened on the journal (a new
// gateway, after a restart or on another node) has the same sequence
// numbers, creation time and sent messages; Reset starts a new history;
// numbers set back make the messages from there on stale.
func TestJournalStoreContinues(t *testing.T) {
	storeJournals(t, func(t *testing.T, j recovery.Journal, reopen func() recovery.Journal) {
		s := openTestStore(t, j, StoreRetention{})
		ct := s.CreationTime()
		if s.NextSenderMsgSeqNum() != 1 || s.NextTargetMsgSeqNum() != 1 {
			t.Fatalf("new store: %d %d", s.NextSenderMsgSeqNum(), s.NextTargetMsgSeqNum())
		}
		for seq := 1; seq <= 5; seq++ {
			must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(seq, testFIXMessage(seq, "8", "a")))
			must(t, s.IncrNextTargetMsgSeqNum())
		}
		must(t, s.SetNextTargetMsgSeqNum(4))
		must(t, s.Close())

		s = openTestStore(t, reopen(), StoreRetention{})
		if s.NextSenderMsgSeqNum() != 6 || s.NextTargetMsgSeqNum() != 4 || !s.CreationTime().Equal(ct) || s.CreationTime().UnixNano() != ct.UnixNano() {
			t.Fatalf("reopened: sender %d target %d ct %v; want 6 4 %v", s.NextSenderMsgSeqNum(), s.NextTargetMsgSeqNum(), s.CreationTime(), ct)
		}
		if got := iterate(t, s, 2, 4); got != "2:a 3:a 4:a" {
			t.Fatalf("range 2..4: %s", got)
		}
		// Numbers set back: 4 and 5 are used again, the old copies go.
		must(t, s.SetNextSenderMsgSeqNum(4))
		must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(4, testFIXMessage(4, "8", "b")))
		if got := iterate(t, s, 1, 10); got != "1:a 2:a 3:a 4:b" {
			t.Fatalf("after set back: %s", got)
		}
		must(t, s.Reset())
		if s.NextSenderMsgSeqNum() != 1 || s.NextTargetMsgSeqNum() != 1 || !s.CreationTime().After(ct) {
			t.Fatalf("reset: %d %d %v", s.NextSenderMsgSeqNum(), s.NextTargetMsgSeqNum(), s.CreationTime())
		}
		ct2 := s.CreationTime()
		must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(1, testFIXMessage(1, "0", "new")))
		must(t, s.Close())
		s = openTestStore(t, reopen(), StoreRetention{})
		defer s.Close()
		if got := iterate(t, s, 1, 10); got != "1:new" || s.CreationTime().UnixNano() != ct2.UnixNano() || s.NextSenderMsgSeqNum() != 2 {
			t.Fatalf("after reset and reopen: %q ct %v sender %d", got, s.CreationTime(), s.NextSenderMsgSeqNum())
		}
	})
}

// TestJournalStoreRetention: the store keeps about MaxMessages newest
// messages (trimming the stream just before a checkpoint), and a reopened
// store has the right state and the retained messages.
func TestJournalStoreRetention(t *testing.T) {
	storeJournals(t, func(t *testing.T, j recovery.Journal, reopen func() recovery.Journal) {
		ret := StoreRetention{MaxMessages: 8, MaxBytes: 1 << 20}
		s := openTestStore(t, j, ret)
		const n = 100
		for seq := 1; seq <= n; seq++ {
			must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(seq, testFIXMessage(seq, "8", "x")))
			must(t, s.SetNextTargetMsgSeqNum(seq+1))
		}
		must(t, s.Close())
		j = reopen()
		check := func(s *journalStore) {
			t.Helper()
			var seqs []int
			must(t, s.IterateMessages(1, n, func(m []byte) error { seqs = append(seqs, storedSeq(m)); return nil }))
			if len(seqs) < ret.MaxMessages || len(seqs) > ret.MaxMessages+ret.MaxMessages/4+1 || seqs[len(seqs)-1] != n {
				t.Fatalf("retained %v, want the newest %d to %d", seqs, ret.MaxMessages, ret.MaxMessages+ret.MaxMessages/4+1)
			}
			if s.NextSenderMsgSeqNum() != n+1 || s.NextTargetMsgSeqNum() != n+1 {
				t.Fatalf("sender %d target %d", s.NextSenderMsgSeqNum(), s.NextTargetMsgSeqNum())
			}
		}
		s = openTestStore(t, j, ret)
		check(s)
		head, err := j.Head(s.stream)
		must(t, err)
		var first []recovery.Entry
		must(t, scanStream(context.Background(), j, s.stream, func(e recovery.Entry) error { first = append(first, e); return nil }))
		if len(first) == 0 || first[0].Data[0] != jsCheckpoint || head.Seq-first[0].Seq > 40 {
			t.Fatalf("stream keeps %d entries from seq %d (head %d), first type %q", len(first), first[0].Seq, head.Seq, first[0].Data[0])
		}
		must(t, s.Close())
	})
}

// failingJournal refuses Append and Trim on the streams fail selects once
// armed, as the raft journal does on a deposed leader.
type failingJournal struct {
	recovery.Journal
	armed atomic.Bool
	fail  func(stream string) bool
}

var errRefused = errors.New("test journal: not leader")

func (f *failingJournal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	if f.armed.Load() && f.fail(stream) {
		return recovery.Position{}, errRefused
	}
	return f.Journal.Append(ctx, stream, recs...)
}

func (f *failingJournal) Trim(ctx context.Context, stream string, through uint64) error {
	if f.armed.Load() && f.fail(stream) {
		return errRefused
	}
	return f.Journal.Trim(ctx, stream, through)
}

// TestJournalStoreFailure: a refused append makes the store refuse every
// later write and fail its durability wait, and tells the gateway once.
func TestJournalStoreFailure(t *testing.T) {
	fj := &failingJournal{Journal: recovery.NewMem(), fail: func(string) bool { return true }}
	failed := make(chan error, 2)
	s, err := openJournalStore(fj, "fix.store.GW-CL", StoreRetention{}.withDefaults(), nil, nil, func(err error) { failed <- err })
	must(t, err)
	must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(1, testFIXMessage(1, "8", "ok")))
	must(t, s.waitDurable(time.Second))
	fj.armed.Store(true)
	must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(2, testFIXMessage(2, "8", "refused")))
	if err := s.waitDurable(5 * time.Second); !errors.Is(err, errRefused) {
		t.Fatalf("waitDurable after a refused append: %v", err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, errRefused) {
			t.Fatalf("onFail: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onFail not called")
	}
	if err := s.SaveMessageAndIncrNextSenderMsgSeqNum(3, testFIXMessage(3, "8", "later")); !errors.Is(err, errRefused) {
		t.Fatalf("save after the failure: %v", err)
	}
	_ = s.Close()
	select {
	case err := <-failed:
		t.Fatalf("onFail called twice: %v", err)
	default:
	}
}

// TestJournalStoreBadStream: a stream that is not a store (a record that
// does not decode, or trimmed by something else) is a clear error at open,
// and nothing is written to it.
func TestJournalStoreBadStream(t *testing.T) {
	for name, recs := range map[string][][]byte{
		"garbage":               {[]byte("R"), []byte("{json}")},
		"bad number":            {encodeReset(nil, time.Unix(1, 0)), {jsMessage, 0x80}},
		"unknown type":          {encodeReset(nil, time.Unix(1, 0)), {'Z', 1}},
		"no checkpoint first":   {encodeNumber(nil, jsTarget, 3)},
		"trailing bytes":        {append(encodeNumber(nil, jsSender, 3), 1)},
		"empty record":          {{}},
		"checkpoint seq beyond": {encodeCheckpoint(nil, time.Unix(1, 0), 1, 1), {jsSender, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		t.Run(name, func(t *testing.T) {
			j := recovery.NewMem()
			var rs []recovery.Record
			for _, d := range recs {
				rs = append(rs, recovery.Record{Data: d})
			}
			head, err := j.Append(context.Background(), "fix.store.GW-CL", rs...)
			must(t, err)
			_, err = openJournalStore(j, "fix.store.GW-CL", StoreRetention{}.withDefaults(), nil, nil, nil)
			if err == nil || !strings.Contains(err.Error(), "fix.store.GW-CL") {
				t.Fatalf("open: %v, want an error naming the stream", err)
			}
			if h, _ := j.Head("fix.store.GW-CL"); h != head {
				t.Fatalf("head moved from %v to %v", head, h)
			}
		})
	}
}

// TestStoreStreamNames: distinct sessions never share a stream.
func TestStoreStreamNames(t *testing.T) {
	seen := map[string]quickfix.SessionID{}
	for _, id := range []quickfix.SessionID{
		{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL"},
		{BeginString: "FIX.4.4", SenderCompID: "GW-CL", TargetCompID: ""},
		{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL", Qualifier: "A"},
		{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL-A"},
		{BeginString: "FIX.4.4", SenderCompID: "G%2DW", TargetCompID: "CL"},
		{BeginString: "FIX.4.4", SenderCompID: "G-W", TargetCompID: "CL"},
	} {
		name := storeStream(id)
		if prev, ok := seen[name]; ok {
			t.Fatalf("%v and %v share %s", prev, id, name)
		}
		seen[name] = id
	}
	if got := storeStream(quickfix.SessionID{SenderCompID: "TICKWIRE", TargetCompID: "CLIENT_1"}); got != "fix.store.TICKWIRE-CLIENT_1" {
		t.Fatalf("plain name: %s", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// countingJournal records the largest Append.
type countingJournal struct {
	recovery.Journal
	maxRecs, maxBytes atomic.Int64
}

func (c *countingJournal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	n := 0
	for _, r := range recs {
		n += len(r.Data)
	}
	for c.maxRecs.Load() < int64(len(recs)) {
		c.maxRecs.Store(int64(len(recs)))
	}
	for c.maxBytes.Load() < int64(n) {
		c.maxBytes.Store(int64(n))
	}
	return c.Journal.Append(ctx, stream, recs...)
}

// TestJournalStoreFlushBounds: a burst of messages is appended in
// Appends of bounded size (a journal bounds one command), all of them.
func TestJournalStoreFlushBounds(t *testing.T) {
	cj := &countingJournal{Journal: recovery.NewMem()}
	s, err := openJournalStore(cj, "fix.store.GW-CL", StoreRetention{MaxMessages: 1 << 20, MaxBytes: 1 << 30}, nil, nil, nil)
	must(t, err)
	defer s.Close()
	big := strings.Repeat("x", 400)
	const n = 5000 // 2 MB: more than one Append's bytes
	for seq := 1; seq <= n; seq++ {
		must(t, s.SaveMessageAndIncrNextSenderMsgSeqNum(seq, testFIXMessage(seq, "8", big)))
	}
	must(t, s.waitDurable(time.Minute))
	if r, b := cj.maxRecs.Load(), cj.maxBytes.Load(); r > maxFlushRecords || b > maxFlushBytes {
		t.Fatalf("largest Append: %d records, %d bytes; want at most %d, %d", r, b, maxFlushRecords, maxFlushBytes)
	}
	var got int
	must(t, s.IterateMessages(1, n, func([]byte) error { got++; return nil }))
	if got != n {
		t.Fatalf("%d messages stored, want %d", got, n)
	}
}
