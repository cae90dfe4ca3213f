package cascade

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/auth"
	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/internal/cutproxy"
	"tickwire/protocol"
	"tickwire/recovery"
)

// TestForwardRequests: a trader connected to a standby edge sends order
// requests; the edge forwards them to the active node with the trader's own
// credential, so the active node's handler sees the trader's principal; an
// accepted request's effect (an event the active node journals) reaches the
// trader through the edge's followed journal; a refusal comes back
// verbatim; with no active node the edge says so.
func TestForwardRequests(t *testing.T) {
	traderKey, traderEntry, err := auth.NewAPIKeyEntry("alice", []string{auth.RoleTrader}, []string{"ACC1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{APIKeys: []auth.APIKey{traderEntry}})
	if err != nil {
		t.Fatal(err)
	}
	j := recovery.NewMem()
	var (
		mu   sync.Mutex
		seen []string // subject: payload, as the active node's handler saw them
	)
	var active *feedserver.Server
	handler := func(_ context.Context, from feedserver.ConnInfo, _ string, data []byte) error {
		mu.Lock()
		seen = append(seen, from.Principal.Subject+": "+string(data))
		mu.Unlock()
		if string(data) == "bad" {
			return errors.New("new O2: refused by the active node")
		}
		_, _, err := active.Hub().PublishEvent("orders.ACC1", []byte("ack "+string(data)), 0)
		return err
	}
	reqs := map[string]feedserver.RequestHandler{"requests.orders": handler}
	active, activeURL, _ := serve(t, feedserver.Config{Authenticator: v, Journal: j, Requests: reqs})
	edge, edgeURL, _ := serve(t, feedserver.Config{Authenticator: v, Journal: j, Requests: reqs})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := edge.FollowJournal(ctx); err != nil {
		t.Fatal(err)
	}
	proxy, err := cutproxy.Start(strings.TrimSuffix(strings.TrimPrefix(activeURL, "ws://"), "/ws"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	fw, err := NewForwarder(ForwarderConfig{Upstream: proxy.Addr(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	edge.SetActiveAddr(activeURL)
	edge.SetRequestForwarder(fw.Forward)

	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	trader, err := client.Dial(dctx, edgeURL, protocol.Hello{Client: "trader", Token: traderKey})
	if err != nil {
		t.Fatal(err)
	}
	defer trader.Close()
	if err := trader.Send(&protocol.Subscribe{Topics: []string{"orders.ACC1"}}); err != nil {
		t.Fatal(err)
	}
	request := func(data string) {
		t.Helper()
		if err := trader.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: "requests.orders", Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	// next reads the trader's next order event or Error.
	next := func() protocol.Frame {
		t.Helper()
		_ = trader.SetReadDeadline(time.Now().Add(10 * time.Second))
		var got protocol.Frame
		for got == nil {
			if err := trader.Read(func(f protocol.Frame) error {
				switch f.(type) {
				case *protocol.Event, *protocol.Error:
					if got == nil {
						got = f
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	request("O1")
	if e, ok := next().(*protocol.Event); !ok || string(e.Data) != "ack O1" || e.Seq != 1 {
		t.Fatalf("after a forwarded request: %+v, want event 1 \"ack O1\" on orders.ACC1", e)
	}
	request("bad")
	if e, ok := next().(*protocol.Error); !ok || e.Code != protocol.CodeBadPublish || e.Topic != "requests.orders" || e.Reason != "new O2: refused by the active node" {
		t.Fatalf("after a refused request: %+v, want the active node's refusal verbatim", e)
	}
	request("O3")
	if e, ok := next().(*protocol.Event); !ok || string(e.Data) != "ack O3" || e.Seq != 2 {
		t.Fatalf("after a forwarded request: %+v, want event 2 \"ack O3\"", e)
	}
	// The event can come (followed from the journal) before the active
	// node's answer to O3: a refused request after it is answered only once
	// O3's is (requests of a connection are handled in order).
	request("bad")
	if e, ok := next().(*protocol.Error); !ok || e.Reason != "new O2: refused by the active node" {
		t.Fatalf("after a refused request: %+v, want the active node's refusal verbatim", e)
	}
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	if got != "apikey:alice: O1, apikey:alice: bad, apikey:alice: O3, apikey:alice: bad" {
		t.Fatalf("the active node's handler saw %q: want each request once, from the trader's principal", got)
	}

	// The link to the active node breaks between requests (reset): the
	// next request notices, dials again and is forwarded.
	if n := proxy.Cut(cutproxy.Reset); n == 0 {
		t.Fatal("no forwarding connection to cut")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !linksDead(fw) {
		if time.Now().After(deadline) {
			t.Fatal("the forwarder did not notice its link was cut")
		}
		time.Sleep(5 * time.Millisecond)
	}
	request("O5")
	if e, ok := next().(*protocol.Event); !ok || string(e.Data) != "ack O5" || e.Seq != 3 {
		t.Fatalf("after the link was cut: %+v, want event 3 \"ack O5\"", e)
	}
	request("bad") // answered once O5 is: see above
	if e, ok := next().(*protocol.Error); !ok || e.Reason != "new O2: refused by the active node" {
		t.Fatalf("after a refused request: %+v, want the active node's refusal verbatim", e)
	}

	// No active node (failover under way): refused, saying so.
	if err := fw.SetUpstream(""); err != nil {
		t.Fatal(err)
	}
	edge.SetActiveAddr("")
	request("O4")
	if e, ok := next().(*protocol.Error); !ok || !strings.Contains(e.Reason, "no active node") {
		t.Fatalf("with no active node: %+v, want a refusal saying there is none", e)
	}
}

// linksDead reports whether every link of f has ended (and it has one).
func linksDead(f *Forwarder) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.links {
		if !l.dead() {
			return false
		}
	}
	return len(f.links) > 0
}
