package recovery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"tickwire/recovery"
)

func bg() context.Context { return context.Background() }

func TestBoltWipedDirIsNewEpoch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "journal.db")
	j := openBolt(t, path, recovery.BoltOptions{})
	old, err := j.Append(bg(), "orders", recovery.Record{Data: []byte("1")}, recovery.Record{Data: []byte("2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	j = openBolt(t, path, recovery.BoltOptions{})
	defer j.Close()
	if hd, _ := j.Head("orders"); !hd.IsZero() {
		t.Fatalf("Head after wipe = %v, want zero", hd)
	}
	_, err = j.ReadFrom(bg(), "orders", old, 10)
	if !errors.Is(err, recovery.ErrEpochMismatch) {
		t.Fatalf("ReadFrom(old position) on a wiped journal: %v, want ErrEpochMismatch", err)
	}
	p, err := j.Append(bg(), "orders", recovery.Record{Data: []byte("new 1")}, recovery.Record{Data: []byte("new 2")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Epoch == old.Epoch {
		t.Fatalf("new history reuses epoch %q", p.Epoch)
	}
	// Same sequence numbers, different history: still a mismatch, never a
	// silent "recovered" with the wrong events.
	_, err = j.ReadFrom(bg(), "orders", recovery.Position{Seq: 1, Epoch: old.Epoch}, 10)
	if !errors.Is(err, recovery.ErrEpochMismatch) {
		t.Fatalf("ReadFrom(old epoch, seq 1) after new appends: %v, want ErrEpochMismatch", err)
	}
}

func TestBoltRefusesForeignFiles(t *testing.T) {
	random := make([]byte, 3*4096)
	_, _ = rand.Read(random)
	cases := map[string]func(path string) error{
		"text": func(path string) error {
			return os.WriteFile(path, []byte("hello, I am not a database\n"), 0o600)
		},
		"random": func(path string) error { return os.WriteFile(path, random, 0o600) },
		"other bbolt file": func(path string) error {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				return err
			}
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("someone-elses"))
				if err != nil {
					return err
				}
				return b.Put([]byte("k"), []byte("v"))
			})
			return errors.Join(err, db.Close())
		},
		"damaged journal": func(path string) error {
			j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
			if err != nil {
				return err
			}
			if _, err := j.Append(bg(), "s", recovery.Record{Data: []byte("x")}); err != nil {
				return err
			}
			if err := j.Close(); err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, page := range []int{0, 4096} { // both meta pages
				for i := page + 32; i < page+64; i++ {
					b[i] ^= 0xff
				}
			}
			return os.WriteFile(path, b, 0o600)
		},
	}
	for name, write := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			if err := write(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
			if err == nil {
				j.Close()
				t.Fatal("OpenBolt accepted a foreign file")
			}
			if !errors.Is(err, recovery.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v; want ErrCorrupt naming %s", err, path)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("OpenBolt modified the file it refused")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		path := t.TempDir()
		_, err := recovery.OpenBolt(path, recovery.BoltOptions{})
		if !errors.Is(err, recovery.ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v; want ErrCorrupt naming %s", err, path)
		}
	})
}

func TestBoltLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBolt(t, path, recovery.BoltOptions{})
	defer j.Close()
	_, err := recovery.OpenBolt(path, recovery.BoltOptions{LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked") || !strings.Contains(err.Error(), path) {
		t.Fatalf("second OpenBolt of the same file: %v; want a lock error naming the path", err)
	}
}

func TestBoltGroupCommit(t *testing.T) {
	j := openBolt(t, filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{})
	defer j.Close()
	const appenders, each = 32, 10
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			for i := range each {
				if _, err := j.Append(bg(), "s", recovery.Record{Data: fmt.Appendf(nil, "%d-%d", a, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := j.Stats()
	if st.Records != appenders*each {
		t.Fatalf("Stats = %+v, want %d records", st, appenders*each)
	}
	// Each fsync takes a millisecond or more: concurrent appends must share
	// commits.
	if st.Commits*2 > st.Records {
		t.Errorf("%d commits for %d records: appends are not grouped", st.Commits, st.Records)
	}
	t.Logf("%d records in %d commits", st.Records, st.Commits)
}

func TestBoltBatchLimits(t *testing.T) {
	j := openBolt(t, filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{
		MaxBatchRecords: 10, MaxBatchBytes: 64, MaxRecordSize: 32, Sync: recovery.SyncNone,
	})
	defer j.Close()
	if _, err := j.Append(bg(), "s", recovery.Record{Data: make([]byte, 33)}); !errors.Is(err, recovery.ErrInvalidArgument) {
		t.Fatalf("oversized record: %v", err)
	}
	var wg sync.WaitGroup
	for a := range 4 {
		wg.Go(func() {
			recs := make([]recovery.Record, 25) // larger than a batch: committed alone
			for i := range recs {
				recs[i].Data = fmt.Appendf(nil, "%d-%d", a, i)
			}
			for range 5 {
				p, err := j.Append(bg(), "s", recs...)
				if err != nil {
					t.Error(err)
					return
				}
				es, err := j.ReadFrom(bg(), "s", recovery.Position{Seq: p.Seq - 25, Epoch: p.Epoch}, 25)
				if err != nil || len(es) != 25 {
					t.Errorf("read back: %d entries, %v", len(es), err)
					return
				}
				for i, e := range es {
					if !bytes.Equal(e.Data, recs[i].Data) {
						t.Errorf("seq %d = %q, want %q: appends interleaved", e.Seq, e.Data, recs[i].Data)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestBoltBackgroundRetention(t *testing.T) {
	errs := make(chan error, 10)
	j := openBolt(t, filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{
		Sync:              recovery.SyncNone,
		Retention:         recovery.Retention{MaxEntries: 5},
		RetentionInterval: 5 * time.Millisecond,
		OnBackgroundError: func(err error) { errs <- err },
	})
	defer j.Close()
	var p recovery.Position
	for i := range 20 {
		var err error
		if p, err = j.Append(bg(), "s", recovery.Record{Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := j.ReadFrom(bg(), "s", recovery.Position{Seq: 14, Epoch: p.Epoch}, 1)
		if errors.Is(err, recovery.ErrPositionTooOld) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not trim within 10s: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if es, err := j.ReadFrom(bg(), "s", recovery.Position{Seq: 15, Epoch: p.Epoch}, 10); err != nil || len(es) != 5 {
		t.Fatalf("retained = %d entries, %v; want 5", len(es), err)
	}
	select {
	case err := <-errs:
		t.Fatalf("background error: %v", err)
	default:
	}
}

// TestBoltLargeTrim trims more than one trim transaction's worth.
func TestBoltLargeTrim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBolt(t, path, recovery.BoltOptions{Sync: recovery.SyncNone})
	recs := make([]recovery.Record, 4000)
	var p recovery.Position
	for range 20 {
		var err error
		if p, err = j.Append(bg(), "s", recs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Trim(bg(), "s", 70_000); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openBolt(t, path, recovery.BoltOptions{})
	defer j.Close()
	_, err := j.ReadFrom(bg(), "s", recovery.Position{Seq: 69_999, Epoch: p.Epoch}, 1)
	var pe *recovery.PositionError
	if !errors.As(err, &pe) || pe.First != 70_001 || pe.Head != p {
		t.Fatalf("after trim and reopen: %v", err)
	}
	es, err := j.ReadFrom(bg(), "s", recovery.Position{Seq: 70_000, Epoch: p.Epoch}, 20_000)
	if err != nil || len(es) != 10_000 {
		t.Fatalf("read of retained entries: %d, %v", len(es), err)
	}
}

// TestBoltCloseDrainsQueue: appends queued when Close starts are committed
// (or refused with ErrClosed), never lost after a nil error.
func TestBoltCloseDrainsQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBolt(t, path, recovery.BoltOptions{})
	var mu sync.Mutex
	acked := map[string]recovery.Position{}
	var wg sync.WaitGroup
	for a := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				d := fmt.Sprintf("%d-%d", a, i)
				p, err := j.Append(bg(), "s", recovery.Record{Data: []byte(d)})
				if errors.Is(err, recovery.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[d] = p
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	j = openBolt(t, path, recovery.BoltOptions{})
	defer j.Close()
	var pos recovery.Position
	seen := 0
	for {
		es, err := j.ReadFrom(bg(), "s", pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if p, ok := acked[string(e.Data)]; ok && p != e.Position() {
				t.Fatalf("%q acked at %v, stored at %v", e.Data, p, e.Position())
			}
			seen++
		}
		if len(es) < 1000 {
			break
		}
		pos = es[len(es)-1].Position()
	}
	if seen != len(acked) {
		t.Fatalf("%d entries after reopen, %d acked", seen, len(acked))
	}
}

// TestBoltCancelledAppendsNotWritten: an Append that fails with its
// context's error was not written; one that succeeded was. Contexts expire
// while requests wait in the queue, while they are being committed, and
// before they are queued.
func TestBoltCancelledAppendsNotWritten(t *testing.T) {
	j := openBolt(t, filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{})
	defer j.Close()
	var mu sync.Mutex
	ok, cancelled := map[string]bool{}, 0
	var wg sync.WaitGroup
	for a := range 32 {
		wg.Go(func() {
			for i := range 15 {
				d := fmt.Sprintf("%d-%d", a, i)
				ctx, cancel := context.WithTimeout(bg(), time.Duration((a*7+i*13)%2000)*time.Microsecond)
				_, err := j.Append(ctx, "s", recovery.Record{Data: []byte(d)})
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					ok[d] = true
				case errors.Is(err, context.DeadlineExceeded):
					cancelled++
				default:
					t.Errorf("Append: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	es, err := j.ReadFrom(bg(), "s", recovery.Position{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !ok[string(e.Data)] {
			t.Errorf("%q is in the journal but its Append failed", e.Data)
		}
		delete(ok, string(e.Data))
	}
	if len(ok) != 0 {
		t.Errorf("%d acknowledged appends missing", len(ok))
	}
	t.Logf("%d written, %d cancelled", len(es), cancelled)
	if cancelled == 0 || len(es) == 0 {
		t.Logf("warning: did not exercise both outcomes")
	}
}

// TestBoltRefusesOpenFile: an existing journal others may read or write is
// refused with the fix named, and left as it is; 0600 opens.
func TestBoltRefusesOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o666, 0o644, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := recovery.OpenBolt(path, recovery.BoltOptions{})
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: %v, want a refusal naming chmod 600", mode, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("mode %04o: the refused file was changed (%v, %v)", mode, fi.Mode(), err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err = recovery.OpenBolt(path, recovery.BoltOptions{})
	if err != nil {
		t.Fatalf("0600: %v", err)
	}
	_ = j.Close()
}
