package recovery

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func openLagJournal(t *testing.T, opts BoltOptions) *BoltJournal {
	t.Helper()
	j, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func recs(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Data: []byte("event")}
	}
	return out
}

// TestBoltLagUnsynced: under SyncInterval, committed records count as
// unsynced, with the time of their Append, until an fsync; then the lag is 0.
func TestBoltLagUnsynced(t *testing.T) {
	j := openLagJournal(t, BoltOptions{Sync: SyncInterval, SyncInterval: time.Hour}) // no periodic fsync during the test
	if st := j.Stats(); st.Pending != 0 || st.Unsynced != 0 || !st.OldestNotDurable.IsZero() {
		t.Fatalf("fresh journal: %+v", st)
	}
	before := time.Now()
	if _, err := j.Append(context.Background(), "orders.A", recs(3)...); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), "orders.B", recs(2)...); err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	if st.Unsynced != 5 || st.Pending != 0 || st.Records != 5 {
		t.Fatalf("after appends: %+v", st)
	}
	if st.OldestNotDurable.Before(before) || st.OldestNotDurable.After(time.Now()) {
		t.Fatalf("oldest not durable %v, want between %v and now", st.OldestNotDurable, before)
	}
	if st.LastCommit <= 0 {
		t.Fatalf("last commit %v", st.LastCommit)
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.Unsynced != 0 || !st.OldestNotDurable.IsZero() || st.Records != 5 {
		t.Fatalf("after Sync: %+v", st)
	}
}

// TestBoltLagPending: under SyncAlways nothing is ever unsynced, but records
// of an Append whose commit has not finished are pending, with their age;
// the lag returns to 0 once the commit is done.
func TestBoltLagPending(t *testing.T) {
	j := openLagJournal(t, BoltOptions{})
	// The committer reads the streams' states under j.mu: holding it stalls
	// the commit deterministically.
	j.mu.Lock()
	done := make(chan error, 1)
	go func() {
		_, err := j.Append(context.Background(), "orders.A", recs(4)...)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	var st BoltStats
	for st = j.Stats(); st.Pending != 4 || st.OldestNotDurable.IsZero(); st = j.Stats() {
		if time.Now().After(deadline) {
			j.mu.Unlock()
			t.Fatalf("stalled commit not reported pending: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	if st.Unsynced != 0 || st.Records != 0 {
		t.Errorf("while stalled: %+v", st)
	}
	j.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.Pending != 0 || st.Unsynced != 0 || !st.OldestNotDurable.IsZero() || st.Records != 4 || st.Commits != 1 {
		t.Fatalf("after the commit: %+v", st)
	}
	if err := j.Sync(); err != nil { // nothing to do under SyncAlways
		t.Fatal(err)
	}
}
