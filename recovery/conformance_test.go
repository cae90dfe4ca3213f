package recovery_test

import (
	"path/filepath"
	"testing"

	"tickwire/recovery"
	"tickwire/recovery/journaltest"
)

func TestConformanceMem(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{
		Open: func(t *testing.T) recovery.Journal { return recovery.NewMem() },
	})
}

func TestConformanceBolt(t *testing.T) {
	for _, policy := range []recovery.SyncPolicy{recovery.SyncAlways, recovery.SyncInterval, recovery.SyncNone} {
		t.Run("sync="+policy.String(), func(t *testing.T) {
			opts := recovery.BoltOptions{Sync: policy}
			journaltest.Run(t, journaltest.Harness{
				Open: func(t *testing.T) recovery.Journal {
					return openBolt(t, filepath.Join(t.TempDir(), "journal.db"), opts)
				},
				Reopen: func(t *testing.T, j recovery.Journal) recovery.Journal {
					path := j.(*recovery.BoltJournal).Path()
					if err := j.Close(); err != nil {
						t.Fatal(err)
					}
					return openBolt(t, path, opts)
				},
			})
		})
	}
}

func openBolt(t testing.TB, path string, opts recovery.BoltOptions) *recovery.BoltJournal {
	t.Helper()
	j, err := recovery.OpenBolt(path, opts)
	if err != nil {
		t.Fatalf("OpenBolt(%s): %v", path, err)
	}
	return j
}
