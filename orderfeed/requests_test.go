package orderfeed

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/orderwire"
	"tickwire/protocol"
)

// TestOrderRequestEntitlements: order requests reach the real order path
// (feedserver request topic -> Bridge -> FIX gateway) only when the
// principal may make them: trader role and its own account for new,
// cancel, replace; desk role for desk actions.
func TestOrderRequestEntitlements(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	pub, priv, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	b := New(log)
	srv := feedserver.New(feedserver.Config{Name: "auth-orders", Logger: log, Requests: b.Handlers(), Authenticator: v,
		Heartbeat: 10 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.1002)
	if err := srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	settings, err := fix.ParseSettings(strings.NewReader("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\nResetOnLogon=N\nHeartBtInt=30\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TWAUTH\nTargetCompID=CLAUTH\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := fix.New(fix.Config{Settings: settings, DataDir: filepath.Join(t.TempDir(), "fix"), Logger: log,
		Prices: fix.LatestPrices(srv.Hub().LatestAge), Events: HubEvents{Hub: srv.Hub()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	b.Attach(srv.Hub(), gw)
	t.Cleanup(func() {
		cancel()
		if err := gw.Stop(); err != nil {
			t.Errorf("gateway stop: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	mint := func(sub string, roles []string, accounts ...string) string {
		s, err := auth.Mint(priv, auth.MintOptions{Subject: sub, Roles: roles, Accounts: accounts, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dialAs := func(tok string, topics ...string) *client.Conn {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		c, err := client.Dial(dctx, url, protocol.Hello{Client: "auth-orders", Token: tok}, &protocol.Subscribe{Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	newOrder := func(id, account string) *orderwire.Request {
		return &orderwire.Request{Action: orderwire.ActionNew, ClOrdID: id, Account: account, Symbol: "EURUSD", Side: orderwire.SideBuy,
			OrdType: orderwire.OrdTypeMarket, OrderQty: decimal.NewNullDecimal(decimal.NewFromInt(1000))}
	}
	deskAccept := &orderwire.Request{Action: orderwire.ActionDeskAccept, OrderID: "NOSUCHORDER"}
	// send publishes a request and returns the request topic's Error frame
	// (nil: accepted) and whether an order event of topic arrived.
	send := func(c *client.Conn, r *orderwire.Request, eventTopic string) (*protocol.Error, bool) {
		t.Helper()
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		nonce := time.Now().UnixNano()
		if err := c.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: data}, &protocol.Ping{Nonce: nonce}); err != nil {
			t.Fatal(err)
		}
		var refusal *protocol.Error
		gotEvent, ponged := false, false
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		for !ponged || (refusal == nil && eventTopic != "" && !gotEvent) {
			if err := c.Read(func(f protocol.Frame) error {
				switch f := f.(type) {
				case *protocol.Error:
					if f.Topic == orderwire.RequestTopic {
						refusal = f
					}
				case *protocol.Pong:
					ponged = ponged || f.Nonce == nonce
				case *protocol.Event:
					gotEvent = gotEvent || (f.Topic == eventTopic && strings.Contains(string(f.Data), r.ClOrdID))
				}
				return nil
			}); err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		return refusal, gotEvent
	}

	ann := dialAs(mint("ann", []string{auth.RoleTrader}, "A"), "orders.A")
	// Her own account: accepted, and the gateway's report comes back.
	if refusal, got := send(ann, newOrder("ann-1", "A"), "orders.A"); refusal != nil || !got {
		t.Fatalf("ann's order for A: refusal %v, report %v", refusal, got)
	}
	// Another account: refused before the gateway, in orderwire's format.
	refusal, _ := send(ann, newOrder("ann-2", "B"), "")
	if refusal == nil || refusal.Code != protocol.CodeBadPublish || !strings.Contains(refusal.Reason, `not entitled to trade account "B"`) {
		t.Fatalf("ann's order for B: %v", refusal)
	}
	if rf, ok := orderwire.ParseRefusal(refusal.Reason); !ok || rf.ID != "ann-2" {
		t.Fatalf("refusal %q does not parse as orderwire's: %+v", refusal.Reason, rf)
	}
	// A desk action without the desk role.
	refusal, _ = send(ann, deskAccept, "")
	if refusal == nil || !strings.Contains(refusal.Reason, "desk actions need role desk") {
		t.Fatalf("ann's desk action: %v", refusal)
	}
	// With the desk role the same action passes authorization and reaches
	// the gateway, which answers for the unknown order itself.
	dan := dialAs(mint("dan", []string{auth.RoleDesk}))
	refusal, _ = send(dan, deskAccept, "")
	if refusal == nil || strings.Contains(refusal.Reason, "not entitled") {
		t.Fatalf("dan's desk action: %v, want the gateway's own refusal", refusal)
	}
	// A desk role alone does not enter orders.
	refusal, _ = send(dan, newOrder("dan-1", "A"), "")
	if refusal == nil || !strings.Contains(refusal.Reason, "order entry needs role trader") {
		t.Fatalf("dan's new order: %v", refusal)
	}
	// Only ann's own order reached the book.
	orders, err := gw.OrdersAt(context.Background(), func(*order.OrderState) bool { return true }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 || orders[0].ClOrdID != "ann-1" || orders[0].Account != "A" {
		t.Fatalf("book %+v: want only ann-1 on A", orders)
	}
}
