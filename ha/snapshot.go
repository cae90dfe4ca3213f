package ha

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/hashicorp/raft"

	"tickwire/recovery"
)

// Snapshot format: magic, then uvarints and length-prefixed bytes:
//
//	"TWHASNP1", applied index, stream count, count × {name, epoch, first,
//	head, entry count, entries × {time (varint), key, data}},
//	member count, count × {id, raftAddr, feedAddr}
//
// A snapshot holds the retained entries, so its size is bounded by the
// journal's retention.
const snapshotMagic = "TWHASNP1"

// maxSnapshotCount bounds the counts read from a snapshot (streams,
// entries per stream, members) before they cost memory.
const maxSnapshotCount = 1 << 28

// fsmSnapshot is a point-in-time view of the state: per stream, the slice
// of entries as it was (Apply never modifies a slice in place).
type fsmSnapshot struct {
	applied uint64
	streams map[string]stream
	members []Peer
}

// Snapshot implements raft.FSM. It copies the stream headers only: the
// entries are shared with the live state, which never changes them.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	snap := &fsmSnapshot{applied: f.applied, streams: make(map[string]stream, len(f.streams))}
	for name, s := range f.streams {
		c := *s
		c.entries = c.entries[:len(c.entries):len(c.entries)]
		snap.streams[name] = c
	}
	snap.members = slices.Collect(maps.Values(f.members))
	return snap, nil
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 64<<10)
	err := s.write(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("ha: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) write(w *bufio.Writer) error {
	var buf [binary.MaxVarintLen64]byte
	uv := func(v uint64) { _, _ = w.Write(binary.AppendUvarint(buf[:0], v)) }
	str := func(b string) { uv(uint64(len(b))); _, _ = w.WriteString(b) }
	_, _ = w.WriteString(snapshotMagic)
	uv(s.applied)
	names := slices.Sorted(maps.Keys(s.streams))
	uv(uint64(len(names)))
	for _, name := range names {
		st := s.streams[name]
		str(name)
		str(st.epoch)
		uv(st.first)
		uv(st.head)
		uv(uint64(len(st.entries)))
		for _, e := range st.entries {
			_, _ = w.Write(binary.AppendVarint(buf[:0], e.Time))
			str(e.Key)
			uv(uint64(len(e.Data)))
			if _, err := w.Write(e.Data); err != nil {
				return err
			}
		}
	}
	uv(uint64(len(s.members)))
	for _, p := range s.members {
		str(p.ID)
		str(p.RaftAddr)
		str(p.FeedAddr)
	}
	return nil
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// Restore implements raft.FSM: it replaces the state with the snapshot's.
// Subscribers then receive the retained entries past what they were
// delivered; entries the snapshot no longer holds are skipped (a gap, which
// recovery.Cursor turns into a journal read).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	snap, err := readSnapshot(bufio.NewReaderSize(rc, 64<<10))
	if err != nil {
		return fmt.Errorf("ha: restore snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.streams
	f.streams = make(map[string]*stream, len(snap.streams))
	for name, s := range snap.streams {
		f.streams[name] = &s
		prev := old[name]
		if prev == nil {
			f.announceLocked(name)
		}
		var from uint64
		if prev != nil && prev.epoch == s.epoch {
			from = prev.head
		}
		if i := from + 1; i <= s.head && len(s.entries) > 0 {
			k := 0
			if i > s.first {
				k = int(i - s.first)
			}
			if k < len(s.entries) {
				for j := range f.handles {
					if j.hub.HasSubscribers(name) {
						j.hub.Publish(name, s.entries[k:])
					}
				}
			}
		}
	}
	f.members = make(map[string]Peer, len(snap.members))
	for _, p := range snap.members {
		f.members[p.ID] = p
	}
	f.applied = snap.applied
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	return nil
}

// readSnapshot decodes a snapshot, bounding every count and length.
func readSnapshot(r *bufio.Reader) (*fsmSnapshot, error) {
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, fmt.Errorf("not a tickwire journal snapshot (magic %q, %v)", magic, err)
	}
	var err error
	uv := func(max uint64) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = binary.ReadUvarint(r)
		if err == nil && v > max {
			err = fmt.Errorf("value %d over %d", v, max)
		}
		return v
	}
	bs := func(max int) []byte {
		n := uv(uint64(max))
		if err != nil {
			return nil
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b
	}
	snap := &fsmSnapshot{applied: uv(1<<63 - 1), streams: map[string]stream{}}
	nstreams := uv(maxSnapshotCount)
	for i := uint64(0); i < nstreams && err == nil; i++ {
		name := string(bs(recovery.MaxStreamName))
		s := stream{epoch: string(bs(maxIDBytes)), first: uv(1<<63 - 1), head: uv(1<<63 - 1)}
		n := uv(maxSnapshotCount)
		if err == nil && (name == "" || s.first == 0 || s.first+n != s.head+1) {
			err = fmt.Errorf("stream %q: first %d, head %d, %d entries: inconsistent", name, s.first, s.head, n)
		}
		for k := uint64(0); k < n && err == nil; k++ {
			var t int64
			t, err = binary.ReadVarint(r)
			key := bs(recovery.MaxRecordKey)
			data := bs(MaxCommandBytes)
			s.entries = append(s.entries, recovery.Entry{Stream: name, Seq: s.first + k, Epoch: s.epoch, Time: t, Key: string(key), Data: data})
		}
		snap.streams[name] = s
	}
	nmembers := uv(maxSnapshotCount)
	for i := uint64(0); i < nmembers && err == nil; i++ {
		snap.members = append(snap.members, Peer{ID: string(bs(maxIDBytes)), RaftAddr: string(bs(maxIDBytes)), FeedAddr: string(bs(maxIDBytes))})
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return snap, nil
}
