package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/orderwire"
	"tickwire/protocol"
)

// TestOrderStateSnapshotOnLostHistory: a trader whose position in its orders
// topic cannot be continued (here: an epoch the server never had) is told
// the history is lost and receives the full order state of its account,
// flagged as a snapshot, at the topic's head.
func TestOrderStateSnapshotOnLostHistory(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	snaps := &orderSnapshots{}
	srv := feedserver.New(feedserver.Config{Snapshotter: snaps, Logger: log})
	snaps.hub.Store(srv.Hub())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	gw, _, err := startDemoGateway(t.TempDir(), srv, &demoTLS{}, auth.HashAPIKey("unused"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()
	snaps.gw.Store(gw)

	for _, id := range []string{"c1", "c2"} {
		err := gw.Request(ctx, &orderwire.Request{Action: orderwire.ActionNew, ClOrdID: id, Account: "A", Symbol: "EURUSD",
			Side: orderwire.SideBuy, OrdType: orderwire.OrdTypeMarket, OrderQty: decimal.NewNullDecimal(decimal.NewFromInt(100))})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each order produced order events on orders.A; wait until they are there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pos, _ := srv.Hub().Journal().Head("orders.A"); pos.Seq >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no order events on orders.A")
		}
		time.Sleep(10 * time.Millisecond)
	}

	c, err := client.Dial(ctx, "ws://"+ln.Addr().String()+"/ws", protocol.Hello{Client: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.A"},
		Positions: []protocol.StreamPosition{{Topic: "orders.A", Seq: 1, Epoch: "an-epoch-this-server-never-had"}}}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var snap *protocol.Event
	for snap == nil {
		if err := c.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Event); ok && e.Flags&protocol.EventSnapshot != 0 {
				snap = e
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if snap.Flags&protocol.EventHistoryLost == 0 {
		t.Errorf("snapshot not flagged history-lost: flags %b", snap.Flags)
	}
	head, _ := srv.Hub().Journal().Head("orders.A")
	if snap.Seq != head.Seq || snap.Epoch != head.Epoch {
		t.Errorf("snapshot at %d@%s, topic head %d@%s", snap.Seq, snap.Epoch, head.Seq, head.Epoch)
	}
	var st orderStateSnapshot
	if err := json.Unmarshal(snap.Data, &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range st.Orders {
		got[o.ClOrdID] = true
		if o.Account != "A" {
			t.Errorf("order %s of account %q in A's snapshot", o.ClOrdID, o.Account)
		}
	}
	if !got["c1"] || !got["c2"] || len(st.Orders) != 2 {
		t.Fatalf("snapshot orders %+v, want c1 and c2", st.Orders)
	}
	cancel()
	<-served
}
