package ha

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"tickwire/recovery"
)

func logOf(i uint64, data []byte) *raft.Log {
	return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: data}
}

// TestApplyBadCommands: every malformed command gets an ErrBadCommand
// result and changes nothing; a good one after it applies normally.
func TestApplyBadCommands(t *testing.T) {
	good := encodeAppend(mustSize(t, "s", "e1", 2), "s", "e1", 5, []recovery.Record{{Data: []byte("a"), Key: "k"}, {Time: 7, Data: []byte("b")}})
	bad := [][]byte{
		nil,
		{},
		{cmdVersion},
		{99, opAppend},
		{cmdVersion, 77},
		good[:len(good)-1],
		append(bytes.Clone(good), 0),
		{cmdVersion, opAppend, 0}, // empty stream
		{cmdVersion, opAppend, 1, 's', 0, 0, 0xff, 0xff, 0xff, 0x7f}, // huge record count
		{cmdVersion, opAppend, 0xff, 0xff, 0xff, 0xff, 0x0f},         // huge stream length
		{cmdVersion, opTrim, 1, 's'},
		{cmdVersion, opMember, 0, 0, 0, 0},
		bytes.Repeat([]byte{cmdVersion}, MaxCommandBytes+100),
	}
	f := newFSM()
	for i, b := range bad {
		res, ok := f.Apply(logOf(uint64(i+1), b)).(applyResult)
		if !ok || !errors.Is(res.err, ErrBadCommand) {
			t.Errorf("command %d (%x...): result %+v, want ErrBadCommand", i, b[:min(len(b), 12)], res)
		}
	}
	if len(f.streams) != 0 || len(f.members) != 0 || f.applied != uint64(len(bad)) {
		t.Fatalf("bad commands changed the state: %d streams, %d members, applied %d", len(f.streams), len(f.members), f.applied)
	}
	res := f.Apply(logOf(100, good)).(applyResult)
	if res.err != nil || res.pos != (recovery.Position{Seq: 2, Epoch: "e1"}) {
		t.Fatalf("good command after bad ones: %+v", res)
	}
	s := f.streams["s"]
	if s.entries[0].Time != 5 || s.entries[1].Time != 7 || s.entries[0].Key != "k" {
		t.Fatalf("entries %+v", s.entries)
	}
	// Trim beyond the head: a PositionError result, deterministic.
	res = f.Apply(logOf(101, encodeTrim("s", 9))).(applyResult)
	if !errors.Is(res.err, recovery.ErrPositionAhead) {
		t.Fatalf("trim beyond head: %+v", res)
	}
}

func mustSize(t *testing.T, stream, epoch string, n int) int {
	recs := make([]recovery.Record, n)
	for i := range recs {
		recs[i] = recovery.Record{Data: []byte("ab"), Key: "k"}
	}
	size, err := appendSize(stream, epoch, recs)
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// FuzzApply: no command panics or corrupts the state's invariants.
func FuzzApply(f *testing.F) {
	f.Add(encodeAppend(64, "s", "e", 1, []recovery.Record{{Data: []byte("x"), Key: "k"}}))
	f.Add(encodeTrim("s", 1))
	f.Add(encodeMember(Peer{ID: "n1", RaftAddr: "127.0.0.1:1", FeedAddr: "127.0.0.1:2"}, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := newFSM()
		m.Apply(logOf(1, encodeAppend(64, "s", "e", 1, []recovery.Record{{Data: []byte("x")}})))
		m.Apply(logOf(2, b))
		for name, s := range m.streams {
			if s.first == 0 || s.first+uint64(len(s.entries)) != s.head+1 {
				t.Fatalf("stream %q: first %d head %d with %d entries", name, s.first, s.head, len(s.entries))
			}
		}
	})
}

// TestSnapshotRoundTrip: Persist then Restore gives the same state; a
// garbage or truncated snapshot is refused without changing the state.
func TestSnapshotRoundTrip(t *testing.T) {
	f := newFSM()
	for i := uint64(1); i <= 5; i++ {
		f.Apply(logOf(i, encodeAppend(256, "orders", "ep", int64(i), []recovery.Record{{Data: []byte{byte(i)}, Key: "k"}, {Data: nil}})))
	}
	f.Apply(logOf(6, encodeTrim("orders", 3)))
	f.Apply(logOf(7, encodeMember(Peer{ID: "n1", RaftAddr: "127.0.0.1:1", FeedAddr: "127.0.0.1:2"}, false)))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	fs, gs := f.streams["orders"], g.streams["orders"]
	if g.applied != 7 || gs.first != 4 || gs.head != 10 || gs.epoch != "ep" || len(gs.entries) != 7 || gs.entries[1].Key != "k" || g.members["n1"].FeedAddr != "127.0.0.1:2" {
		t.Fatalf("restored %+v (applied %d, members %v), from %+v", gs, g.applied, g.members, fs)
	}
	for i := range fs.entries {
		a, b := fs.entries[i], gs.entries[i]
		if a.Seq != b.Seq || a.Time != b.Time || a.Key != b.Key || !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("entry %d: %+v vs %+v", i, a, b)
		}
	}
	for _, b := range [][]byte{nil, []byte("garbage"), sink.Bytes()[:len(sink.Bytes())-3], append([]byte(snapshotMagic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)} {
		if err := g.Restore(io.NopCloser(bytes.NewReader(b))); err == nil {
			t.Errorf("restore of %d bad bytes succeeded", len(b))
		}
	}
	if g.streams["orders"].head != 10 {
		t.Fatal("a refused restore changed the state")
	}
}

type memSink struct{ bytes.Buffer }

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { return nil }
func (s *memSink) Close() error  { return nil }

// TestPoisonCommand: a bad command that got into the raft log (past the
// proposer's checks) is applied as an error result, and the node keeps
// applying.
func TestPoisonCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	dir := t.TempDir()
	n, err := Open(context.Background(), Config{ID: "n1", ClusterID: "p", BindAddr: "127.0.0.1:0", DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	fut := n.raft.Apply([]byte{cmdVersion, opAppend, 0xff, 0xff, 0xff, 0xff, 0x0f}, time.Second)
	if err := fut.Error(); err != nil {
		t.Fatal(err)
	}
	if res, _ := fut.Response().(applyResult); !errors.Is(res.err, ErrBadCommand) {
		t.Fatalf("poison result %+v", res)
	}
	j := n.Journal()
	defer j.Close()
	if p, err := j.Append(ctx, "s", recovery.Record{Data: []byte("ok")}); err != nil || p.Seq != 1 {
		t.Fatalf("append after poison: %v %v", p, err)
	}
}
