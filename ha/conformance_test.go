package ha_test

import (
	"context"
	"testing"
	"time"

	"tickwire/ha"
	"tickwire/recovery"
	"tickwire/recovery/journaltest"
)

// clusterJournal is the journal a conformance run sees: writes go to the
// leader, reads to the reader node (the leader itself, or a follower: then
// each write waits until the follower has applied it, so the suite's
// read-after-write checks hold). Close closes the whole cluster.
type clusterJournal struct {
	*ha.Journal // reads
	w           *ha.Journal
	rn          *ha.Node
	c           *cluster
}

func (j *clusterJournal) sync(ctx context.Context) error {
	return j.rn.WaitApplied(ctx, j.w.LastIndex())
}

func (j *clusterJournal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	p, err := j.w.Append(ctx, stream, recs...)
	if err == nil && j.w != j.Journal {
		err = j.sync(context.Background())
	}
	return p, err
}

func (j *clusterJournal) Trim(ctx context.Context, stream string, through uint64) error {
	err := j.w.Trim(ctx, stream, through)
	if j.w != j.Journal {
		if serr := j.sync(context.Background()); err == nil {
			err = serr
		}
	}
	return err
}

func (j *clusterJournal) Close() error {
	_ = j.w.Close()
	_ = j.Journal.Close()
	j.c.closeAll()
	return nil
}

// journalOf returns the conformance view of c.
func journalOf(c *cluster, followerReads bool) *clusterJournal {
	l := c.leader(10 * time.Second)
	r := l
	if followerReads {
		r = c.follower(l)
		// The follower must hold everything the leader has applied so far
		// (its members record, after a reopen the replayed log).
		if err := c.nodes[r].WaitApplied(ctxT(c.t, 10*time.Second), c.nodes[l].Stats().AppliedIndex); err != nil {
			c.t.Fatal(err)
		}
	}
	w := c.nodes[l].Journal()
	rj := w
	if r != l {
		rj = c.nodes[r].Journal()
	}
	return &clusterJournal{Journal: rj, w: w, rn: c.nodes[r], c: c}
}

func runConformance(t *testing.T, size int, followerReads bool) {
	clusters := map[recovery.Journal]*cluster{}
	journaltest.Run(t, journaltest.Harness{
		Open: func(t *testing.T) recovery.Journal {
			c := newCluster(t, size, slow)
			j := journalOf(c, followerReads)
			clusters[j] = c
			return j
		},
		Reopen: func(t *testing.T, j recovery.Journal) recovery.Journal {
			c := clusters[j]
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			for i := range c.nodes {
				c.start(i)
			}
			nj := journalOf(c, followerReads)
			clusters[nj] = c
			return nj
		},
	})
}

func TestConformanceOneNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft nodes")
	}
	runConformance(t, 1, false)
}

func TestConformanceThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft clusters")
	}
	runConformance(t, 3, false)
}

func TestConformanceThreeNodesFollowerReads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft clusters")
	}
	runConformance(t, 3, true)
}
