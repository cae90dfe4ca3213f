package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/fix"
	"tickwire/node"
	"tickwire/protocol"
)

// TestFixClientAgainstGateway runs startFIX (as `tickwire server
// --fix-config` does) and `tickwire fixclient` against it: new orders,
// cancels and replaces, every response checked.
func TestFixClientAgainstGateway(t *testing.T) {
	dir := t.TempDir()
	gw := startTestGateway(t, dir, "TWCMD", "CLCMD")
	if _, err := os.Stat(filepath.Join(dir, "tickwire-fix", "journal.db")); err != nil {
		t.Fatalf("journal not in the default data dir: %v", err)
	}

	var out, errb bytes.Buffer
	args := []string{"--addr", gw.Addr(), "--sender", "CLCMD", "--target", "TWCMD", "--store", filepath.Join(dir, "client"),
		"--orders", "60", "--rate", "0", "--qty", "100", "--cancel-every", "4", "--replace-every", "5",
		"--price", "1.2", "--settle", "3s", "--timeout", "60s"}
	if err := runFixClient(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("fixclient: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "all responses matched") || !strings.Contains(out.String(), "orders 60") {
		t.Fatalf("fixclient output:\n%s", out.String())
	}
	t.Log(out.String())

	// Desk orders wait for a trader: the flow reports them acknowledged
	// only once the desk accepts them.
	out.Reset()
	go func() {
		for i := 0; i < 500; i++ {
			os, _ := gw.Desk().Orders(context.Background())
			for _, o := range os {
				_ = gw.Desk().Accept(context.Background(), o.OrderID)
			}
			if len(os) >= 5 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	args = []string{"--addr", gw.Addr(), "--sender", "CLCMD", "--target", "TWCMD", "--store", filepath.Join(dir, "client"),
		"--orders", "5", "--manual", "--price", "1.0", "--settle", "3s", "--timeout", "30s"}
	if err := runFixClient(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("fixclient --manual: %v\n%s", err, out.String())
	}
}

// TestFixPasswordCommand: `tickwire token fixpassword` prints a password
// and the session lines that accept it; `tickwire fixclient --username
// --password-file` logs on with it and trades, with another password it does
// not log on.
func TestFixPasswordCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 3s logon timeout: slow; make test runs it")
	}
	var out, errb bytes.Buffer
	if err := runToken(context.Background(), []string{"fixpassword", "--username", "clpw"}, &out, &errb); err != nil {
		t.Fatalf("token fixpassword: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[1], "twk_") || lines[4] != "TickwireUsername=clpw" || !strings.HasPrefix(lines[5], "TickwirePasswordSHA256=") {
		t.Fatalf("token fixpassword printed:\n%s", out.String())
	}
	dir := t.TempDir()
	gw := startTestGatewayAs(t, dir, "TWPW", "CLPW", "TickwireAccounts=ACC1\n"+lines[4]+"\n"+lines[5]+"\n")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(lines[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--addr", gw.Addr(), "--sender", "CLPW", "--target", "TWPW", "--store", filepath.Join(dir, "client"),
		"--username", "clpw", "--password-file", pwFile, "--orders", "5", "--rate", "0", "--qty", "100", "--settle", "1s", "--timeout", "30s"}
	out.Reset()
	if err := runFixClient(context.Background(), args, &out, &errb); err != nil || !strings.Contains(out.String(), "all responses matched") {
		t.Fatalf("fixclient with the password: %v\n%s", err, out.String())
	}

	if err := os.WriteFile(pwFile, []byte("twk_not-the-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args[len(args)-1] = "3s"
	out.Reset()
	if err := runFixClient(context.Background(), args, &out, &errb); err == nil || !strings.Contains(err.Error(), "no logon") {
		t.Fatalf("fixclient with another password: %v\n%s", err, out.String())
	}
}

func TestFixClientHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runFixClient(context.Background(), []string{"--help"}, &out, &errb); err == nil || !strings.Contains(out.String(), "Usage: tickwire fixclient") {
		t.Fatalf("--help: %v %q", err, out.String())
	}
	if err := runFixClient(context.Background(), []string{"--side", "up"}, &out, &errb); err == nil || !strings.Contains(fmt.Sprint(err), "--side") {
		t.Fatalf("--side up: %v", err)
	}
}

// startTestGateway starts the FIX gateway through startFIX (as `tickwire
// server --fix-config` does) with one session sender->target on a free
// loopback port, data in dir/tickwire-fix, and a fixed EURUSD quote for the
// auto venue. It stops when the test ends.
func startTestGateway(t *testing.T, dir, sender, target string) *fix.Gateway {
	t.Helper()
	return startTestGatewayAs(t, dir, sender, target, "TickwireAccounts=*\nTickwireOpenLogon=Y\n")
}

// startTestGatewayAs is startTestGateway with identity as the session's
// identity settings.
func startTestGatewayAs(t *testing.T, dir, sender, target, identity string) *fix.Gateway {
	t.Helper()
	cfg := filepath.Join(dir, "fix.cfg")
	if err := os.WriteFile(cfg, []byte(`[DEFAULT]
ConnectionType=acceptor
SocketAcceptHost=127.0.0.1
SocketAcceptPort=0
FileStoreSync=N
ResetOnLogon=N
HeartBtInt=30
[SESSION]
BeginString=FIX.4.4
SenderCompID=`+sender+`
TargetCompID=`+target+`
`+identity), 0o644); err != nil {
		t.Fatal(err)
	}
	var q protocol.Quote
	q.Put(protocol.Bid, 1.1)
	q.Put(protocol.Ask, 1.1002)
	q.Put(protocol.AskSize, 250)
	q.Put(protocol.BidSize, 250)
	prices := fix.PricesFunc(func(sym string) (protocol.Quote, uint64, bool) { return q, 1, sym == "EURUSD" })
	gw, err := startFIX(fixFlags{config: cfg, pollInterval: 20 * time.Millisecond}, prices, nil, slog.New(slog.DiscardHandler))
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
