package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"tickwire/recovery"
)

// TestMemRetaining: an in-memory journal keeping k entries per stream holds
// between k and 2k of the newest, whatever the appends' sizes, and a
// position before them is too old.
func TestMemRetaining(t *testing.T) {
	ctx := context.Background()
	const keep = 10
	j := recovery.NewMemRetaining(keep, 0)
	defer j.Close()
	var pos recovery.Position
	for k := range 60 {
		p, err := j.Append(ctx, "s", make([]recovery.Record, 1+k%7)...) // batches of 1 to 7
		if err != nil {
			t.Fatal(err)
		}
		pos = p
		if pos.Seq < keep {
			continue
		}
		all, err := j.ReadFrom(ctx, "s", recovery.Position{Seq: pos.Seq - keep, Epoch: pos.Epoch}, 100)
		if err != nil || len(all) != keep {
			t.Fatalf("head %d: the newest %d: %d entries, %v", pos.Seq, keep, len(all), err)
		}
	}
	if pos.Seq < 3*keep {
		t.Fatalf("only %d entries appended", pos.Seq)
	}
	_, err := j.ReadFrom(ctx, "s", recovery.Position{Seq: pos.Seq - 2*keep - 1, Epoch: pos.Epoch}, 1)
	if !errors.Is(err, recovery.ErrPositionTooOld) {
		t.Fatalf("a position 2k+1 behind the head: %v, want ErrPositionTooOld", err)
	}
}

// TestMemRetainingContent: across many trims (the stream's slice reused in
// place), every retained entry keeps its own sequence number and payload,
// also the entries of a batch cut in two by a trim.
func TestMemRetainingContent(t *testing.T) {
	ctx := context.Background()
	const keep = 10
	j := recovery.NewMemRetaining(keep, 0)
	defer j.Close()
	payload := func(seq uint64) string { return fmt.Sprintf("event %d", seq) }
	var head uint64
	for k := range 100 {
		recs := make([]recovery.Record, 1+k%7) // batches of 1 to 7
		for i := range recs {
			recs[i].Data = []byte(payload(head + uint64(i) + 1))
		}
		pos, err := j.Append(ctx, "s", recs...)
		if err != nil {
			t.Fatal(err)
		}
		head = pos.Seq
		first := uint64(1)
		all, err := j.ReadFrom(ctx, "s", recovery.Position{Epoch: pos.Epoch}, 100)
		if err != nil { // trimmed: read from the first retained
			first = readFirst(t, j, "s", pos)
			all, err = j.ReadFrom(ctx, "s", recovery.Position{Seq: first - 1, Epoch: pos.Epoch}, 100)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(all) < min(keep, int(head)) || all[len(all)-1].Seq != head {
			t.Fatalf("head %d: %d entries retained, the last %d", head, len(all), all[len(all)-1].Seq)
		}
		for i, e := range all {
			if e.Seq != first+uint64(i) || string(e.Data) != payload(e.Seq) {
				t.Fatalf("head %d: entry %d is seq %d %q, want seq %d %q", head, i, e.Seq, e.Data, first+uint64(i), payload(first+uint64(i)))
			}
		}
	}
}

// TestMemRetainingBytes: an in-memory journal bounded in bytes holds at
// most twice its byte bound of big events per stream, in what it retains and
// in the heap (the arenas of trimmed appends are freed, also when an append
// is trimmed only in part), whatever its entry bound; a position before the
// retained events is too old.
func TestMemRetainingBytes(t *testing.T) {
	ctx := context.Background()
	const (
		event     = 32 << 10
		keepBytes = 256 << 10
		total     = 32 << 20 // 1,024 events, in batches of 1 to 5
	)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	j := recovery.NewMemRetaining(1<<20, keepBytes)
	defer j.Close()
	before := heap()
	var pos recovery.Position
	for k, n := 0, 0; n < total/event; k++ {
		recs := make([]recovery.Record, 1+k%5)
		for i := range recs {
			recs[i].Data = make([]byte, event)
		}
		p, err := j.Append(ctx, "big", recs...)
		if err != nil {
			t.Fatal(err)
		}
		pos, n = p, n+len(recs)
	}
	grown := int64(heap()) - int64(before)
	if budget := int64(4 * keepBytes); grown > budget {
		t.Errorf("heap grew %d KiB with %d MiB appended: want under %d KiB", grown>>10, total>>20, budget>>10)
	}
	first := readFirst(t, j, "big", pos)
	all, err := j.ReadFrom(ctx, "big", recovery.Position{Seq: first - 1, Epoch: pos.Epoch}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, e := range all {
		held += len(e.Data)
	}
	if held < keepBytes || held >= 2*keepBytes {
		t.Errorf("retains %d bytes in %d events: want [%d, %d)", held, len(all), keepBytes, 2*keepBytes)
	}
	_, err = j.ReadFrom(ctx, "big", recovery.Position{Seq: first - 2, Epoch: pos.Epoch}, 1)
	if !errors.Is(err, recovery.ErrPositionTooOld) {
		t.Fatalf("a position before the retained events: %v, want ErrPositionTooOld", err)
	}
}

// readFirst returns the first retained seq of stream, from the error of a
// read from its start.
func readFirst(t *testing.T, j recovery.Journal, stream string, head recovery.Position) uint64 {
	t.Helper()
	_, err := j.ReadFrom(context.Background(), stream, recovery.Position{Epoch: head.Epoch}, 1)
	var pe *recovery.PositionError
	if !errors.As(err, &pe) {
		t.Fatalf("read from the start after trimming: %v, want a PositionError", err)
	}
	return pe.First
}
