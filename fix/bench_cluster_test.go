package fix_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"tickwire/fix"
	"tickwire/ha"
)

// BenchmarkOrderRoundTripCluster is BenchmarkOrderRoundTrip with the
// gateway's journal (the order book's and the FIX message stores') on the
// leader of a 3-voter raft cluster in this process, on loopback, raft's log
// not fsynced (the cluster's --raft-sync auto: the quorum is the disk). The
// same minimal FIX client, so the two benchmarks compare directly.
//
//	go test -run '^$' -bench 'BenchmarkOrderRoundTrip' -benchtime 3000x ./fix/
func BenchmarkOrderRoundTripCluster(b *testing.B) {
	for _, voters := range []int{1, 3} {
		b.Run(fmt.Sprintf("voters=%d", voters), func(b *testing.B) {
			rig := func(b *testing.B) *rawClient {
				j := benchCluster(b, voters)
				r := newRig(b, withoutClient(), func(r *rig) {
					r.cfg.MessageStore = fix.StoreJournal
					r.cfg.Journal = j
				})
				c, err := dialRaw(r.gw.Addr(), r.clID, r.gwID)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(c.close)
				return c
			}
			benchOrders(b, rig)
		})
	}
}

// benchCluster opens voters ha nodes on loopback and returns the leader's
// journal once it can serve.
func benchCluster(b *testing.B, voters int) *ha.Journal {
	b.Helper()
	base := b.TempDir()
	cfgs := make([]ha.Config, voters)
	var peers []ha.Peer
	for i := range cfgs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfgs[i] = ha.Config{
			ID:        fmt.Sprintf("n%d", i+1),
			ClusterID: "bench",
			BindAddr:  addr,
			FeedAddr:  fmt.Sprintf("127.0.0.1:%d", 19000+i),
			DataDir:   filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			NoSync:    voters > 1,
			Logger:    testLogger(b),
		}
		peers = append(peers, ha.Peer{ID: cfgs[i].ID, RaftAddr: addr, FeedAddr: cfgs[i].FeedAddr})
	}
	nodes := make([]*ha.Node, voters)
	for i := range cfgs {
		if voters > 1 {
			cfgs[i].Peers = peers
		}
		n, err := ha.Open(context.Background(), cfgs[i])
		if err != nil {
			b.Fatal(err)
		}
		nodes[i] = n
		b.Cleanup(func() { n.Close() })
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.IsLeader() && n.Barrier(context.Background()) == nil {
				j := n.Journal()
				b.Cleanup(func() { j.Close() })
				return j
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("no leader within 15 s")
	return nil
}
