package orderfeed

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/orderwire"
	"tickwire/protocol"
)

// TestOrderStateSnapshotOnLostHistory: a trader whose position in its orders
// topic cannot be continued (here: an epoch the server never had) is told
// the history is lost and receives the full order state of its account,
// flagged as a snapshot, at the topic's head.
func TestOrderStateSnapshotOnLostHistory(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := New(log)
	srv := feedserver.New(feedserver.Config{Snapshotter: b, Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	gw := startGateway(t, srv.Hub(), log)
	defer gw.Stop()
	b.Attach(srv.Hub(), gw)

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
	var st AccountState
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

// startGateway starts a FIX gateway on loopback pricing off hub and
// publishing its order events into it, as the server does.
func startGateway(t *testing.T, hub *feedserver.Hub, log *slog.Logger) *fix.Gateway {
	t.Helper()
	settings, err := fix.ParseSettings(strings.NewReader("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\nHeartBtInt=30\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TWSNAP\nTargetCompID=CLSNAP\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := fix.New(fix.Config{Settings: settings, DataDir: filepath.Join(t.TempDir(), "fix"), Logger: log,
		Prices: fix.LatestPrices(hub.LatestAge), Events: HubEvents{Hub: hub}})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	return gw
}
