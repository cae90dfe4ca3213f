package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/node"
	"tickwire/protocol"
)

// staleFeed is a feed server on loopback with a 300 ms stale threshold and
// a source publishing EURUSD every 10 ms: 1.1000/1.1002 until it finds
// itself paused, 1.2000/1.2002 from then on. After a resume every price,
// the first fresh one included, is 1.2002: a buy filled on the stale price
// would say 1.1002.
type staleFeed struct {
	srv  *feedserver.Server
	base string // http://127.0.0.1:PORT
}

func newStaleFeed(t *testing.T) *staleFeed {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	f := &staleFeed{srv: feedserver.New(feedserver.Config{Name: "stale-test", StaleAfter: 300 * time.Millisecond, Logger: log})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served, sourced := make(chan error, 1), make(chan struct{})
	go func() { served <- f.srv.Serve(ctx, ln) }()
	go func() {
		defer close(sourced)
		bid, ask := 1.1000, 1.1002
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var q protocol.Quote
			q.Put(protocol.Bid, bid)
			q.Put(protocol.Ask, ask)
			if err := f.srv.Hub().Publish("EURUSD", &q, time.Now().UnixNano(), 0); errors.Is(err, feedserver.ErrPaused) {
				bid, ask = 1.2000, 1.2002
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-sourced
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	f.waitStale(t, false)
	return f
}

// post calls POST /sources/pause/EURUSD or /sources/resume/EURUSD.
func (f *staleFeed) post(t *testing.T, what string) {
	t.Helper()
	resp, err := http.Post(f.base+"/sources/"+what+"/EURUSD", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST /sources/%s/EURUSD: %s", what, resp.Status)
	}
}

// waitStale polls GET /topics/EURUSD until it says "stale": stale.
func (f *staleFeed) waitStale(t *testing.T, stale bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var got struct{ Stale bool }
		resp, err := http.Get(f.base + "/topics/EURUSD")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
		}
		if err == nil && got.Stale == stale {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /topics/EURUSD never said stale %v (%v)", stale, err)
		}
	}
}

// startStaleGateway starts a gateway through startFIX on the feed's prices,
// as `tickwire server --fix-config FILE [--fix-stale-price ACTION]` does.
func startStaleGateway(t *testing.T, f *staleFeed, sender, target, action string) *fix.Gateway {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fix.cfg")
	if err := os.WriteFile(cfg, []byte("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileStoreSync=N\nResetOnLogon=N\nHeartBtInt=30\n"+
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID="+sender+"\nTargetCompID="+target+"\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gw, err := startFIX(fixFlags{config: cfg, pollInterval: 5 * time.Millisecond, stalePrice: action},
		fix.LatestPrices(f.srv.Hub().LatestAge), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.StopGateway(gw, slog.New(slog.DiscardHandler)); err != nil {
			t.Error(err)
		}
	})
	return gw
}

// TestFixClientStalePrice is the scenario: the source of EURUSD is
// paused until the server says it is stale, then `tickwire fixclient
// --orders 2 --symbols EURUSD` sends two market orders. Neither fills on
// the frozen price: the default gateway rejects them, one run with
// --fix-stale-price hold holds them; on resume the held ones fill on the
// first fresh price, at that price.
func TestFixClientStalePrice(t *testing.T) {
	f := newStaleFeed(t)
	rejectGW := startStaleGateway(t, f, "TWSTALER", "CLSTALER", "")
	holdGW := startStaleGateway(t, f, "TWSTALEH", "CLSTALEH", "hold")
	f.post(t, "pause")
	f.waitStale(t, true)

	run := func(sender, target, want string) {
		t.Helper()
		var out, errb bytes.Buffer
		args := []string{"--addr", map[string]string{"TWSTALER": rejectGW.Addr(), "TWSTALEH": holdGW.Addr()}[target],
			"--sender", sender, "--target", target, "--store", filepath.Join(t.TempDir(), "client"),
			"--orders", "2", "--symbols", "EURUSD", "--settle", "300ms", "--timeout", "30s"}
		if err := runFixClient(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("fixclient: %v\n%s\n%s", err, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("fixclient against %s: want %q in\n%s", target, want, out.String())
		}
	}
	run("CLSTALER", "TWSTALER", "(fills 0, rejects 2)")
	run("CLSTALEH", "TWSTALEH", "(fills 0, rejects 0)")
	snap, err := rejectGW.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snap.Orders {
		if !o.Rejected || o.CumQty.Sign() != 0 {
			t.Errorf("order %s on the stale price: rejected %v, filled %s", o.ClOrdID, o.Rejected, o.CumQty)
		}
	}

	f.post(t, "resume")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		snap, err := holdGW.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		filled := 0
		for _, o := range snap.Orders {
			if o.Filled() {
				filled++
				want := decimal.RequireFromString("1.2002") // the fresh ask; a sell gets the fresh bid
				if o.Side == order.SideSell {
					want = decimal.RequireFromString("1.2")
				}
				for _, x := range o.Executions {
					if !x.Px.Equal(want) {
						t.Fatalf("held order %s (side %c) filled at %s, want the first fresh price %s", o.ClOrdID, o.Side, x.Px, want)
					}
				}
			}
		}
		if filled == 2 && len(snap.Orders) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("held orders after resume: %+v", snap.Orders)
		}
	}
}
