// Package journaltest is the conformance suite for recovery.Journal
// implementations. Every implementation (bbolt, in-memory, and the
// replicated one to come) runs the same Run, so callers can rely on the
// semantics documented on recovery.Journal whatever is behind it.
package journaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tickwire/recovery"
)

// Harness tells Run how to get journals.
type Harness struct {
	// Open returns a new, empty journal (a new history). Run closes it.
	Open func(t *testing.T) recovery.Journal
	// Reopen closes j and opens the same storage again, for persistent
	// journals; nil skips the persistence tests.
	Reopen func(t *testing.T, j recovery.Journal) recovery.Journal
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"AppendRead", testAppendRead},
		{"Contiguity", testContiguity},
		{"Paging", testPaging},
		{"Positions", testPositions},
		{"Trim", testTrim},
		{"Retention", testRetention},
		{"Streams", testStreams},
		{"InvalidArguments", testInvalid},
		{"DataOwnership", testOwnership},
		{"CancelledContext", testCancelled},
		{"ConcurrentAppends", testConcurrent},
		{"Subscribe", testSubscribe},
		{"SubscribeLagged", testLagged},
		{"CatchupConcurrent", testCatchupConcurrent},
		{"CursorErrors", testCursorErrors},
		{"Closed", testClosed},
		{"Reopen", testReopen},
		{"Keys", testKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// open returns a journal closed at the end of the test.
func open(t *testing.T, h Harness) recovery.Journal {
	t.Helper()
	j := h.Open(t)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func rec(s string) recovery.Record { return recovery.Record{Data: []byte(s)} }

func mustAppend(t *testing.T, j recovery.Journal, stream string, recs ...recovery.Record) recovery.Position {
	t.Helper()
	p, err := j.Append(ctx(t), stream, recs...)
	if err != nil {
		t.Fatalf("Append(%q, %d records): %v", stream, len(recs), err)
	}
	return p
}

func mustRead(t *testing.T, j recovery.Journal, stream string, after recovery.Position, limit int) []recovery.Entry {
	t.Helper()
	es, err := j.ReadFrom(ctx(t), stream, after, limit)
	if err != nil {
		t.Fatalf("ReadFrom(%q, %s, %d): %v", stream, after, limit, err)
	}
	return es
}

// readAll reads stream from after to the head.
func readAll(t *testing.T, j recovery.Journal, stream string, after recovery.Position) []recovery.Entry {
	t.Helper()
	var all []recovery.Entry
	for {
		es := mustRead(t, j, stream, after, 100)
		all = append(all, es...)
		if len(es) < 100 {
			return all
		}
		after = es[len(es)-1].Position()
	}
}

func wantPosErr(t *testing.T, err, want error) *recovery.PositionError {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	var pe *recovery.PositionError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *recovery.PositionError", err)
	}
	return pe
}

func testAppendRead(t *testing.T, h Harness) {
	j := open(t, h)
	if p, err := j.Head("orders"); err != nil || !p.IsZero() {
		t.Fatalf("Head of new stream = %v, %v; want zero, nil", p, err)
	}
	before := time.Now().UnixNano()
	p := mustAppend(t, j, "orders", recovery.Record{Time: 42, Data: []byte("a")}, rec("b"), rec("c"))
	after := time.Now().UnixNano()
	if p.Seq != 3 || p.Epoch == "" {
		t.Fatalf("Append returned %v, want seq 3 and an epoch", p)
	}
	if h, _ := j.Head("orders"); h != p {
		t.Fatalf("Head = %v, want %v", h, p)
	}
	es := mustRead(t, j, "orders", recovery.Position{}, 10)
	if len(es) != 3 {
		t.Fatalf("read %d entries, want 3", len(es))
	}
	for i, e := range es {
		if e.Stream != "orders" || e.Seq != uint64(i+1) || e.Epoch != p.Epoch || string(e.Data) != string(rune('a'+i)) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	if es[0].Time != 42 {
		t.Errorf("caller-supplied time not kept: %d", es[0].Time)
	}
	for _, e := range es[1:] {
		if e.Time < before || e.Time > after {
			t.Errorf("stamped time %d not within the Append call [%d, %d]", e.Time, before, after)
		}
	}
	// Reading again returns the same stored times (deterministic replay).
	again := mustRead(t, j, "orders", recovery.Position{}, 10)
	for i := range es {
		if again[i].Time != es[i].Time {
			t.Errorf("entry %d time changed between reads: %d then %d", i+1, es[i].Time, again[i].Time)
		}
	}
	// Appending nothing returns the head and writes nothing.
	if p2 := mustAppend(t, j, "orders"); p2 != p {
		t.Errorf("empty Append = %v, want head %v", p2, p)
	}
	// An empty payload is a record like any other.
	if p3 := mustAppend(t, j, "orders", recovery.Record{}); p3.Seq != 4 {
		t.Errorf("empty payload appended at %v, want seq 4", p3)
	}
	if es := mustRead(t, j, "orders", p, 10); len(es) != 1 || len(es[0].Data) != 0 {
		t.Errorf("read of empty payload = %+v", es)
	}
}

func testContiguity(t *testing.T, h Harness) {
	j := open(t, h)
	for i := range 20 {
		s := []string{"orders", "fills", "alerts"}[i%3]
		mustAppend(t, j, s, rec(fmt.Sprintf("%s-%d-0", s, i)), rec(fmt.Sprintf("%s-%d-1", s, i)))
	}
	epochs := map[string]bool{}
	for _, s := range []string{"orders", "fills", "alerts"} {
		es := readAll(t, j, s, recovery.Position{})
		head, _ := j.Head(s)
		if uint64(len(es)) != head.Seq {
			t.Fatalf("%s: %d entries, head %v", s, len(es), head)
		}
		for i, e := range es {
			if e.Seq != uint64(i+1) || e.Epoch != head.Epoch {
				t.Fatalf("%s: entry %d is %v", s, i, e.Position())
			}
		}
		epochs[head.Epoch] = true
	}
	if len(epochs) != 3 {
		t.Errorf("streams share epochs: %v", epochs)
	}
}

func testPaging(t *testing.T, h Harness) {
	j := open(t, h)
	for i := range 10 {
		mustAppend(t, j, "s", rec(fmt.Sprint(i)))
	}
	var pos recovery.Position
	var got []string
	for {
		es := mustRead(t, j, "s", pos, 3)
		for _, e := range es {
			got = append(got, string(e.Data))
		}
		if len(es) < 3 {
			break
		}
		pos = es[len(es)-1].Position()
	}
	if want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; !slices.Equal(got, want) {
		t.Fatalf("paged read = %v", got)
	}
}

func testPositions(t *testing.T, h Harness) {
	j := open(t, h)
	// A stream without history: the zero position reads nothing, anything
	// else is from a history this journal does not have.
	if es := mustRead(t, j, "none", recovery.Position{}, 10); len(es) != 0 {
		t.Fatalf("read of empty stream = %v", es)
	}
	_, err := j.ReadFrom(ctx(t), "none", recovery.Position{Seq: 3, Epoch: "old"}, 10)
	wantPosErr(t, err, recovery.ErrEpochMismatch)

	p := mustAppend(t, j, "s", rec("1"), rec("2"), rec("3"))
	if es := mustRead(t, j, "s", p, 10); len(es) != 0 {
		t.Errorf("read at head = %v, want nothing", es)
	}
	_, err = j.ReadFrom(ctx(t), "s", recovery.Position{Seq: 4, Epoch: p.Epoch}, 10)
	pe := wantPosErr(t, err, recovery.ErrPositionAhead)
	if pe.Head != p || pe.Stream != "s" {
		t.Errorf("PositionError = %+v, want head %v", pe, p)
	}
	_, err = j.ReadFrom(ctx(t), "s", recovery.Position{Seq: 1, Epoch: "other-epoch"}, 10)
	wantPosErr(t, err, recovery.ErrEpochMismatch)
	_, err = j.ReadFrom(ctx(t), "s", recovery.Position{Seq: 1}, 10)
	wantPosErr(t, err, recovery.ErrEpochMismatch) // a seq without epoch
	// Epoch mismatch wins over "ahead": the caller must re-snapshot either way.
	_, err = j.ReadFrom(ctx(t), "s", recovery.Position{Seq: 99, Epoch: "other-epoch"}, 10)
	wantPosErr(t, err, recovery.ErrEpochMismatch)
	es := mustRead(t, j, "s", recovery.Position{Seq: 1, Epoch: p.Epoch}, 10)
	if len(es) != 2 || es[0].Seq != 2 {
		t.Errorf("read after 1 = %v", es)
	}
}

func testTrim(t *testing.T, h Harness) {
	j := open(t, h)
	var p recovery.Position
	for i := range 10 {
		p = mustAppend(t, j, "s", rec(fmt.Sprint(i+1)))
	}
	c := ctx(t)
	if err := j.Trim(c, "s", 5); err != nil {
		t.Fatal(err)
	}
	_, err := j.ReadFrom(c, "s", recovery.Position{Seq: 3, Epoch: p.Epoch}, 10)
	if pe := wantPosErr(t, err, recovery.ErrPositionTooOld); pe.First != 6 || pe.Head != p {
		t.Errorf("PositionError = %+v, want First 6, Head %v", pe, p)
	}
	_, err = j.ReadFrom(c, "s", recovery.Position{}, 10)
	wantPosErr(t, err, recovery.ErrPositionTooOld)
	es := mustRead(t, j, "s", recovery.Position{Seq: 5, Epoch: p.Epoch}, 10)
	if len(es) != 5 || es[0].Seq != 6 || string(es[0].Data) != "6" {
		t.Fatalf("read after trim point = %v", es)
	}
	if hd, _ := j.Head("s"); hd != p {
		t.Errorf("Head after trim = %v, want %v", hd, p)
	}
	if err := j.Trim(c, "s", 3); err != nil {
		t.Errorf("trim below the trim point: %v", err)
	}
	wantPosErr(t, j.Trim(c, "s", 11), recovery.ErrPositionAhead)
	if err := j.Trim(c, "nope", 0); err != nil {
		t.Errorf("trim of empty stream through 0: %v", err)
	}
	// Trim everything: the head and epoch stay, appends continue.
	if err := j.Trim(c, "s", 10); err != nil {
		t.Fatal(err)
	}
	if es := mustRead(t, j, "s", p, 10); len(es) != 0 {
		t.Errorf("read at head of fully trimmed stream = %v", es)
	}
	_, err = j.ReadFrom(c, "s", recovery.Position{Seq: 9, Epoch: p.Epoch}, 10)
	wantPosErr(t, err, recovery.ErrPositionTooOld)
	p2 := mustAppend(t, j, "s", rec("11"))
	if p2.Seq != 11 || p2.Epoch != p.Epoch {
		t.Errorf("append after full trim = %v, want 11@%s", p2, p.Epoch)
	}
	if es := mustRead(t, j, "s", p, 10); len(es) != 1 || es[0].Seq != 11 {
		t.Errorf("read after full trim and append = %v", es)
	}
}

func testRetention(t *testing.T, h Harness) {
	j := open(t, h)
	c := ctx(t)
	base := time.Unix(1_700_000_000, 0)
	for i := range 10 { // times base+0s .. base+9s
		mustAppend(t, j, "byage", recovery.Record{Time: base.Add(time.Duration(i) * time.Second).UnixNano(), Data: []byte{byte(i)}})
		mustAppend(t, j, "bycount", rec(fmt.Sprint(i)))
	}
	// An out-of-order old time after a young one must not be trimmed.
	mustAppend(t, j, "byage", recovery.Record{Time: base.UnixNano(), Data: []byte{10}})

	n, err := recovery.EnforceRetention(c, j, recovery.Retention{MaxEntries: 4}, base)
	if err != nil || n != 6+7 {
		t.Fatalf("EnforceRetention(MaxEntries 4) = %d, %v; want 13 removed", n, err)
	}
	for s, first := range map[string]uint64{"bycount": 7, "byage": 8} {
		_, err := j.ReadFrom(c, s, recovery.Position{}, 1)
		if pe := wantPosErr(t, err, recovery.ErrPositionTooOld); pe.First != first {
			t.Errorf("%s: first retained %d, want %d", s, pe.First, first)
		}
	}
	// byage now holds seqs 8..11 with times +7s, +8s, +9s, +0s. At now =
	// base+18.5s with MaxAge 10s the cutoff is +8.5s: seqs 8 and 9 go, the
	// prefix stops at seq 10 (+9s) and seq 11 (+0s) stays behind it.
	n, err = recovery.EnforceRetention(c, j, recovery.Retention{MaxAge: 10 * time.Second}, base.Add(18500*time.Millisecond))
	if err != nil || n != 2 {
		t.Fatalf("EnforceRetention(MaxAge) = %d, %v; want 2 removed", n, err)
	}
	hd, _ := j.Head("byage")
	es := mustRead(t, j, "byage", recovery.Position{Seq: 9, Epoch: hd.Epoch}, 10)
	if len(es) != 2 || es[0].Seq != 10 || es[1].Seq != 11 {
		t.Errorf("byage after age retention = %v", es)
	}
	if n, err := recovery.EnforceRetention(c, j, recovery.Retention{}, base); n != 0 || err != nil {
		t.Errorf("zero Retention removed %d, %v", n, err)
	}
}

func testStreams(t *testing.T, h Harness) {
	j := open(t, h)
	if ss, err := j.Streams(); err != nil || len(ss) != 0 {
		t.Fatalf("Streams of new journal = %v, %v", ss, err)
	}
	for _, s := range []string{"b", "a", "c/with/slash", "a"} {
		mustAppend(t, j, s, rec("x"))
	}
	ss, err := j.Streams()
	if want := []string{"a", "b", "c/with/slash"}; err != nil || !slices.Equal(ss, want) {
		t.Fatalf("Streams = %v, %v; want %v", ss, err, want)
	}
}

func testInvalid(t *testing.T, h Harness) {
	j := open(t, h)
	c := ctx(t)
	if _, err := j.Append(c, "", rec("x")); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Errorf("Append to empty stream name: %v", err)
	}
	long := string(bytes.Repeat([]byte("x"), recovery.MaxStreamName+1))
	if _, err := j.Append(c, long, rec("x")); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Errorf("Append to too long stream name: %v", err)
	}
	if _, err := j.ReadFrom(c, "s", recovery.Position{}, 0); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Errorf("ReadFrom limit 0: %v", err)
	}
	if _, err := j.Subscribe("", 1); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Errorf("Subscribe to empty stream name: %v", err)
	}
	if ss, _ := j.Streams(); len(ss) != 0 {
		t.Errorf("invalid calls created streams %v", ss)
	}
}

func testOwnership(t *testing.T, h Harness) {
	j := open(t, h)
	buf := []byte("original")
	mustAppend(t, j, "s", recovery.Record{Data: buf})
	copy(buf, "CHANGED!")
	es := mustRead(t, j, "s", recovery.Position{}, 1)
	if string(es[0].Data) != "original" {
		t.Fatalf("journal kept the caller's buffer: %q", es[0].Data)
	}
	copy(es[0].Data, "CHANGED!")
	if es := mustRead(t, j, "s", recovery.Position{}, 1); string(es[0].Data) != "original" {
		t.Fatalf("ReadFrom returned journal memory: %q", es[0].Data)
	}
}

func testCancelled(t *testing.T, h Harness) {
	j := open(t, h)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Append(c, "s", rec("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with cancelled context: %v", err)
	}
	if hd, _ := j.Head("s"); !hd.IsZero() {
		t.Fatalf("cancelled Append was written: head %v", hd)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	j := open(t, h)
	const workers, perWorker = 8, 50
	streams := []string{"orders", "fills"}
	type ack struct {
		pos  recovery.Position
		data []string
	}
	acks := make([][]ack, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := 1 + i%3
				recs := make([]recovery.Record, n)
				data := make([]string, n)
				for k := range n {
					data[k] = fmt.Sprintf("w%d-i%d-k%d", w, i, k)
					recs[k] = rec(data[k])
				}
				p, err := j.Append(context.Background(), streams[(w+i)%2], recs...)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				acks[w] = append(acks[w], ack{p, data})
			}
		})
	}
	wg.Wait()
	for _, s := range streams {
		es := readAll(t, j, s, recovery.Position{})
		hd, _ := j.Head(s)
		if uint64(len(es)) != hd.Seq {
			t.Fatalf("%s: read %d entries, head %v", s, len(es), hd)
		}
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("%s: entry %d has seq %d", s, i, e.Seq)
			}
		}
	}
	// Each Append's records sit contiguously, ending at the returned position.
	total := map[string]int{}
	for w := range workers {
		for i, a := range acks[w] {
			s := streams[(w+i)%2]
			total[s] += len(a.data)
			es := mustRead(t, j, s, recovery.Position{Seq: a.pos.Seq - uint64(len(a.data)), Epoch: a.pos.Epoch}, len(a.data))
			for k, e := range es {
				if string(e.Data) != a.data[k] {
					t.Fatalf("%s seq %d = %q, want %q", s, e.Seq, e.Data, a.data[k])
				}
			}
		}
	}
	for _, s := range streams {
		if hd, _ := j.Head(s); hd.Seq != uint64(total[s]) {
			t.Errorf("%s: head %v, %d records appended", s, hd, total[s])
		}
	}
}

func recv(t *testing.T, sub *recovery.Subscription) (recovery.Entry, bool) {
	t.Helper()
	select {
	case e, ok := <-sub.C:
		return e, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no entry on subscription within 10s")
		return recovery.Entry{}, false
	}
}

func testSubscribe(t *testing.T, h Harness) {
	j := open(t, h)
	mustAppend(t, j, "s", rec("before"))
	sub, err := j.Subscribe("s", 16)
	if err != nil {
		t.Fatal(err)
	}
	other, err := j.Subscribe("other", 16)
	if err != nil {
		t.Fatal(err)
	}
	p := mustAppend(t, j, "s", rec("a"), rec("b"))
	mustAppend(t, j, "s", rec("c"))
	for i, want := range []string{"a", "b", "c"} {
		e, ok := recv(t, sub)
		if !ok || e.Seq != uint64(i+2) || string(e.Data) != want || e.Epoch != p.Epoch || e.Stream != "s" {
			t.Fatalf("live entry %d = %+v, %v", i, e, ok)
		}
	}
	select {
	case e := <-other.C:
		t.Fatalf("subscriber of another stream got %+v", e)
	default:
	}
	sub.Close()
	if _, ok := recv(t, sub); ok {
		t.Fatal("channel open after Close")
	}
	if err := sub.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	mustAppend(t, j, "s", rec("d")) // publishing to nobody is fine
	_ = j.Close()
	if _, ok := recv(t, other); ok || !errors.Is(other.Err(), recovery.ErrClosed) {
		t.Errorf("after journal Close: open=%v Err=%v, want closed with ErrClosed", ok, other.Err())
	}
}

func testLagged(t *testing.T, h Harness) {
	j := open(t, h)
	sub, err := j.Subscribe("s", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	mustAppend(t, j, "s", rec("1"), rec("2"), rec("3"))
	n := 0
	for {
		_, ok := recv(t, sub)
		if !ok {
			break
		}
		n++
	}
	if n > 2 || !errors.Is(sub.Err(), recovery.ErrLagged) {
		t.Fatalf("lagged subscriber got %d entries then Err %v; want <= 2 then ErrLagged", n, sub.Err())
	}
}

// testCatchupConcurrent is the replay->live handover check: appenders run
// while readers catch up from various positions, with small pages and a tiny
// live buffer so that every path (history pages, duplicates, gaps, lagging)
// is taken; each reader must see every seq after its start exactly once, in
// order.
func testCatchupConcurrent(t *testing.T, h Harness) {
	j := open(t, h)
	const appenders, perAppender = 4, 150
	const total = appenders * perAppender
	// Some history before the readers start.
	for i := range 20 {
		mustAppend(t, j, "s", rec(fmt.Sprint("pre", i)))
	}
	total0 := uint64(total + 20)
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			for i := range perAppender {
				if _, err := j.Append(context.Background(), "s", rec(fmt.Sprintf("a%d-%d", a, i))); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				if i%10 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	hd, _ := j.Head("s")
	readers := []struct {
		name string
		from recovery.Position
		opts recovery.CursorOptions
	}{
		{"zero", recovery.Position{}, recovery.CursorOptions{ReadLimit: 7, Buffer: 3}},
		{"mid", recovery.Position{Seq: 10, Epoch: hd.Epoch}, recovery.CursorOptions{ReadLimit: 1, Buffer: 1}},
		{"defaults", recovery.Position{}, recovery.CursorOptions{}},
		{"head", hd, recovery.CursorOptions{Buffer: 2}},
	}
	for _, r := range readers {
		wg.Go(func() {
			next := r.from.Seq + 1
			stop := errors.New("done")
			err := recovery.Catchup(ctx(t), j, "s", r.from, r.opts, func(e recovery.Entry) error {
				if e.Seq != next || e.Epoch != hd.Epoch {
					return fmt.Errorf("got %v, want seq %d", e.Position(), next)
				}
				next++
				if e.Seq == total0 {
					return stop
				}
				if e.Seq%50 == 0 {
					time.Sleep(time.Millisecond) // a slow consumer now and then
				}
				return nil
			})
			if err != stop {
				t.Errorf("reader %s: %v (next seq %d of %d)", r.name, err, next, total0)
			}
		})
	}
	wg.Wait()
}

func testCursorErrors(t *testing.T, h Harness) {
	j := open(t, h)
	p := mustAppend(t, j, "s", rec("1"), rec("2"))
	c := ctx(t)
	for _, tc := range []struct {
		from recovery.Position
		want error
	}{
		{recovery.Position{Seq: 1, Epoch: "gone"}, recovery.ErrEpochMismatch},
		{recovery.Position{Seq: 5, Epoch: p.Epoch}, recovery.ErrPositionAhead},
	} {
		cur := recovery.NewCursor(j, "s", tc.from, recovery.CursorOptions{})
		if _, err := cur.Next(c); !errors.Is(err, tc.want) {
			t.Errorf("Next from %v: %v, want %v", tc.from, err, tc.want)
		}
		if _, err := cur.Next(c); !errors.Is(err, tc.want) {
			t.Errorf("second Next from %v: %v, want the same error", tc.from, err)
		}
		cur.Close()
	}
	// Waiting at the head honours the context.
	cur := recovery.NewCursor(j, "s", p, recovery.CursorOptions{})
	defer cur.Close()
	short, cancel := context.WithTimeout(c, 20*time.Millisecond)
	defer cancel()
	if _, err := cur.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next at head: %v, want deadline exceeded", err)
	}
	// ... and the cursor is still usable afterwards.
	go func() {
		if _, err := j.Append(context.Background(), "s", rec("3")); err != nil {
			t.Errorf("Append: %v", err)
		}
	}()
	if e, err := cur.Next(c); err != nil || e.Seq != 3 {
		t.Fatalf("Next after a timeout = %v, %v", e.Position(), err)
	}
	_ = j.Close()
	if _, err := cur.Next(c); !errors.Is(err, recovery.ErrClosed) {
		t.Fatalf("Next after journal Close: %v, want ErrClosed", err)
	}
}

func testClosed(t *testing.T, h Harness) {
	j := h.Open(t)
	mustAppend(t, j, "s", rec("x"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	c := context.Background()
	if _, err := j.Append(c, "s", rec("y")); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := j.ReadFrom(c, "s", recovery.Position{}, 1); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("ReadFrom after Close: %v", err)
	}
	if _, err := j.Head("s"); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("Head after Close: %v", err)
	}
	if _, err := j.Streams(); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("Streams after Close: %v", err)
	}
	if _, err := j.Subscribe("s", 1); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := j.Trim(c, "s", 1); !errors.Is(err, recovery.ErrClosed) {
		t.Errorf("Trim after Close: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("journal is not persistent")
	}
	j := h.Open(t)
	p := mustAppend(t, j, "s", recovery.Record{Time: 7, Data: []byte("one")}, rec("two"), rec("three"))
	q := mustAppend(t, j, "t", rec("x"))
	if err := j.Trim(ctx(t), "s", 1); err != nil {
		t.Fatal(err)
	}
	j = h.Reopen(t, j)
	t.Cleanup(func() { _ = j.Close() })
	for s, want := range map[string]recovery.Position{"s": p, "t": q} {
		if hd, err := j.Head(s); err != nil || hd != want {
			t.Fatalf("Head(%s) after reopen = %v, %v; want %v", s, hd, err, want)
		}
	}
	_, err := j.ReadFrom(ctx(t), "s", recovery.Position{}, 10)
	wantPosErr(t, err, recovery.ErrPositionTooOld)
	es := mustRead(t, j, "s", recovery.Position{Seq: 1, Epoch: p.Epoch}, 10)
	if len(es) != 2 || string(es[0].Data) != "two" || string(es[1].Data) != "three" {
		t.Fatalf("entries after reopen = %+v", es)
	}
	if p2 := mustAppend(t, j, "s", rec("four")); p2.Seq != 4 || p2.Epoch != p.Epoch {
		t.Fatalf("append after reopen = %v, want 4@%s", p2, p.Epoch)
	}
	if ss, _ := j.Streams(); !slices.Equal(ss, []string{"s", "t"}) {
		t.Fatalf("Streams after reopen = %v", ss)
	}
}

// testKeys checks that a record's Key is stored with it: read back (paged,
// and on a subscription), dropped by Trim with the record, kept by a reopen,
// and bounded.
func testKeys(t *testing.T, h Harness) {
	j := h.Open(t)
	t.Cleanup(func() { _ = j.Close() })
	sub, err := j.Subscribe("s", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	keyed := func(data, key string) recovery.Record { return recovery.Record{Data: []byte(data), Key: key} }
	mustAppend(t, j, "s", keyed("1", "k1"), rec("2"), keyed("3", "k3"))
	mustAppend(t, j, "other", keyed("x", "kx"))
	p := mustAppend(t, j, "s", rec("4"), keyed("5", "k5"))
	want := []string{"k1", "", "k3", "", "k5"}
	check := func(what string, es []recovery.Entry, from int) {
		t.Helper()
		if len(es) != len(want)-from {
			t.Fatalf("%s: %d entries, want %d", what, len(es), len(want)-from)
		}
		for i, e := range es {
			if e.Key != want[from+i] || string(e.Data) != fmt.Sprint(from+i+1) {
				t.Errorf("%s: entry %d = %q key %q, want %d key %q", what, e.Seq, e.Data, e.Key, from+i+1, want[from+i])
			}
		}
	}
	check("ReadFrom", readAll(t, j, "s", recovery.Position{}), 0)
	var paged []recovery.Entry
	for after := (recovery.Position{}); after.Seq < p.Seq; {
		es := mustRead(t, j, "s", after, 2)
		paged = append(paged, es...)
		after = es[len(es)-1].Position()
	}
	check("ReadFrom by pages of 2", paged, 0)
	var got []recovery.Entry
	for range want {
		e, ok := recv(t, sub)
		if !ok {
			t.Fatal("subscription ended")
		}
		got = append(got, e)
	}
	check("Subscribe", got, 0)

	if err := j.Trim(ctx(t), "s", 3); err != nil {
		t.Fatal(err)
	}
	check("ReadFrom after Trim", mustRead(t, j, "s", recovery.Position{Seq: 3, Epoch: p.Epoch}, 10), 3)
	if h.Reopen != nil {
		j = h.Reopen(t, j)
		t.Cleanup(func() { _ = j.Close() })
		check("ReadFrom after reopen", mustRead(t, j, "s", recovery.Position{Seq: 3, Epoch: p.Epoch}, 10), 3)
		if es := mustRead(t, j, "other", recovery.Position{}, 10); len(es) != 1 || es[0].Key != "kx" {
			t.Errorf("other stream after reopen = %+v", es)
		}
	}
	big := keyed("x", string(bytes.Repeat([]byte("k"), recovery.MaxRecordKey+1)))
	if _, err := j.Append(ctx(t), "s", big); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Errorf("Append with a %d-byte key: %v, want ErrInvalidArgument", len(big.Key), err)
	}
	if hd, _ := j.Head("s"); hd != p {
		t.Errorf("Head after refused Append = %v, want %v", hd, p)
	}
}
