package recovery_test

import (
	"context"
	"errors"
	"testing"

	"tickwire/recovery"
)

// TestMemRetaining: an in-memory journal keeping k entries per stream holds
// between k and 2k of the newest, whatever the appends' sizes, and a
// position before them is too old.
func TestMemRetaining(t *testing.T) {
	ctx := context.Background()
	const keep = 10
	j := recovery.NewMemRetaining(keep)
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
