package ha_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
)

// appendRetry appends on whichever node is leader, retrying while there is
// none or it changes (a loaded machine may see an extra election). It
// returns the acknowledged position.
func appendRetry(t testing.TB, c *cluster, stream string, data string) recovery.Position {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		l := c.leader(20 * time.Second)
		j := c.nodes[l].Journal()
		p, err := j.Append(context.Background(), stream, recovery.Record{Data: []byte(data)})
		_ = j.Close()
		if err == nil {
			return p
		}
		if !errors.Is(err, ha.ErrNotLeader) {
			t.Fatalf("append: %v", err)
		}
		// A loaded machine can depose a leader by itself; the entry may
		// then be in the journal twice, which no caller here minds.
		t.Logf("append %q: %v (retrying)", data, err)
	}
	t.Fatal("no append succeeded within 20s")
	return recovery.Position{}
}

// readAll reads stream from the start on j.
func readAll(t testing.TB, j recovery.Journal, stream string) []recovery.Entry {
	t.Helper()
	var out []recovery.Entry
	var after recovery.Position
	for {
		es, err := j.ReadFrom(context.Background(), stream, after, 256)
		if err != nil {
			t.Fatalf("read %s after %v: %v", stream, after, err)
		}
		out = append(out, es...)
		if len(es) < 256 {
			return out
		}
		after = es[len(es)-1].Position()
	}
}

// TestLeaderKilled kills the leader of 3 nodes while appenders run: a new
// leader is elected, every acknowledged entry is on it with its sequence
// number and epoch, the outcome of the in-flight ones is reported unknown
// or not-leader (never success then loss), and appends continue.
func TestLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("raft failover")
	}
	c := newCluster(t, 3, slow)
	l := c.leader(10 * time.Second)
	first := appendRetry(t, c, "orders", "first")

	// Appenders on the leader until it is killed.
	type ack struct {
		pos  recovery.Position
		data string
	}
	var (
		mu      sync.Mutex
		acks    []ack
		unknown int
	)
	j := c.nodes[l].Journal()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data := fmt.Sprintf("w%d-%d", w, i)
				p, err := j.Append(context.Background(), "orders", recovery.Record{Data: []byte(data)})
				mu.Lock()
				switch {
				case err == nil:
					acks = append(acks, ack{p, data})
				case errors.Is(err, ha.ErrOutcomeUnknown):
					unknown++
				}
				mu.Unlock()
				if err != nil {
					return // not leader, closed: the gateway would stop here
				}
			}
		})
	}
	// Let some appends through, then kill the leader mid-flow.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 50 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.stop(l)
	close(stop)
	wg.Wait()
	if len(acks) < 50 {
		t.Fatalf("only %d appends acknowledged before the kill", len(acks))
	}
	t.Logf("%d acknowledged, %d outcome unknown at the kill", len(acks), unknown)

	nl := c.leader(20 * time.Second)
	if nl == l {
		t.Fatal("killed node is leader")
	}
	after := appendRetry(t, c, "orders", "after")
	if after.Epoch != first.Epoch {
		t.Fatalf("epoch changed across failover: %s then %s", first.Epoch, after.Epoch)
	}
	// Every acknowledged entry is on both survivors, where it was acked.
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		if err := n.WaitApplied(ctxT(t, 10*time.Second), c.nodes[c.leader(20*time.Second)].Stats().AppliedIndex); err != nil {
			t.Fatal(err)
		}
		nj := n.Journal()
		es := readAll(t, nj, "orders")
		_ = nj.Close()
		if uint64(len(es)) != es[len(es)-1].Seq || es[len(es)-1].Seq < after.Seq {
			t.Fatalf("node %d: %d entries, last %v, want contiguous through %v", i, len(es), es[len(es)-1].Position(), after)
		}
		for _, a := range acks {
			e := es[a.pos.Seq-1]
			if e.Epoch != a.pos.Epoch || string(e.Data) != a.data {
				t.Fatalf("node %d: acknowledged %q at %v, found %q at %v", i, a.data, a.pos, e.Data, e.Position())
			}
		}
	}
}

// TestIsolatedLeaderCannotAppend stops both followers: the leader's Append
// fails (not leader, outcome unknown) and never reports success; after
// the followers return, every acknowledged entry is there.
func TestIsolatedLeaderCannotAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("raft failover")
	}
	c := newCluster(t, 3, slow)
	p := appendRetry(t, c, "orders", "acked")
	l := c.leader(10 * time.Second)
	for i := range c.nodes {
		if i != l {
			c.stop(i)
		}
	}
	j := c.nodes[l].Journal()
	defer j.Close()
	_, err := j.Append(context.Background(), "orders", recovery.Record{Data: []byte("isolated")})
	if err == nil {
		t.Fatal("isolated leader acknowledged an append")
	}
	if !errors.Is(err, ha.ErrNotLeader) {
		t.Fatalf("isolated append: %v, want ErrNotLeader", err)
	}
	t.Logf("isolated append: %v", err)
	// It stepped down: later appends are refused at once.
	if _, err := j.Append(context.Background(), "orders", recovery.Record{Data: []byte("again")}); !errors.Is(err, ha.ErrNotLeader) || errors.Is(err, ha.ErrOutcomeUnknown) {
		t.Fatalf("append after stepping down: %v, want ErrNotLeader (nothing written)", err)
	}
	waitFor(t, "the isolated leader steps down", func() bool {
		st, _ := c.nodes[l].Status()
		return st.Role != ha.RoleLeader
	})
	for i := range c.nodes {
		if c.nodes[i] == nil {
			c.start(i)
		}
	}
	q := appendRetry(t, c, "orders", "back")
	if q.Epoch != p.Epoch || q.Seq <= p.Seq {
		t.Fatalf("after the followers returned: %v, before %v", q, p)
	}
	es := readAll(t, j, "orders")
	if string(es[p.Seq-1].Data) != "acked" {
		t.Fatalf("acknowledged entry lost: %+v", es)
	}
}
