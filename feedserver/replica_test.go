package feedserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/recovery"
)

// TestPositionAheadOfReplica: a trader that moves to a cluster node whose
// journal has not yet applied the last events it got from the Active keeps
// its position: no history-lost marker, and its stream continues with the
// first event after it once the node applies it. A single node (not a
// cluster) still reports such a position impossible.
func TestPositionAheadOfReplica(t *testing.T) {
	for _, cluster := range []bool{true, false} {
		t.Run(fmt.Sprintf("cluster=%v", cluster), func(t *testing.T) {
			j := recovery.NewMem()
			ctx := context.Background()
			first, err := j.Append(ctx, "orders.X", recovery.Record{Data: []byte("e1")})
			if err != nil {
				t.Fatal(err)
			}
			srv, url := startServer(t, Config{Journal: j, Cluster: cluster, Heartbeat: 100 * time.Millisecond})
			if cluster {
				if err := srv.FollowJournal(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			// The trader holds events 1..3 (from the Active); this node has 1.
			col := runClient(t, client.Options{URLs: []string{url}, Topics: []string{"orders.X"},
				Positions: []protocol.StreamPosition{{Topic: "orders.X", Seq: 3, Epoch: first.Epoch}}})
			col.next(5*time.Second, "connected", isState(client.Connected))
			if !cluster {
				ev := col.next(5*time.Second, "history lost", func(ev client.Event) bool {
					se, ok := ev.(client.SequencedEvent)
					return ok && se.HistoryLost
				})
				if ev.(client.SequencedEvent).Seq != 0 {
					t.Fatalf("history lost at %d", ev.(client.SequencedEvent).Seq)
				}
				return
			}
			for i := 2; i <= 4; i++ {
				if _, err := j.Append(ctx, "orders.X", recovery.Record{Data: []byte(fmt.Sprintf("e%d", i))}); err != nil {
					t.Fatal(err)
				}
			}
			ev := col.next(5*time.Second, "an order event", func(ev client.Event) bool {
				_, ok := ev.(client.SequencedEvent)
				return ok
			}).(client.SequencedEvent)
			if ev.HistoryLost || ev.Seq != 4 || string(ev.Data) != "e4" {
				t.Fatalf("first event after the position: %+v, want seq 4 e4", ev)
			}
		})
	}
}
