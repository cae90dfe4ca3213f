package soak

import (
	"context"
	"testing"
	"time"

	"tickwire/recovery"
)

// TestSoak: 20,000 order events on two topics into a bbolt journal (fsync
// per commit), four clients (three WebSocket, one HTTP streaming), each cut
// at random (RST, or blackholed so the server only learns of it when the
// session is resumed elsewhere) 200+ times in all while the events flow.
// Every client's stream must equal the published one: 0 lost, 0 duplicated,
// in order.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: slow; make test runs it")
	}
	opts := Options{Events: 20000, Cuts: 200, JournalDir: t.TempDir(), Sync: recovery.SyncAlways, Duration: 6 * time.Second, Timeout: 60 * time.Second}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d\n%s", res.Options.Seed, res)
	if !res.OK() {
		t.Fatalf("streams differ (seed %d)", res.Options.Seed)
	}
	if res.Cuts < opts.Cuts {
		t.Fatalf("%d cuts, want >= %d", res.Cuts, opts.Cuts)
	}
	for _, c := range res.Clients {
		if c.Stats.Duplicates != 0 || c.Gaps != 0 {
			// The server sends exactly the events after the client's
			// position: the client's defences should never fire.
			t.Errorf("%s: the server sent %d duplicates and %d out-of-order events", c.Name, c.Stats.Duplicates, c.Gaps)
		}
	}
}
