package fix_test

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"tickwire/fix"
)

// TestListenBusyPort: a gateway that cannot listen fails and releases what
// New opened (its journal), so the next one on the same data directory
// starts once the port is free.
func TestListenBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	settings := fmt.Sprintf("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=%d\nFileStoreSync=N\n"+
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TICKWIRE\nTargetCompID=CLIENT\nTickwireAccounts=*\nTickwireOpenLogon=Y\n", busy.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	cfg := func() fix.Config {
		s, err := fix.ParseSettings(strings.NewReader(settings), "")
		if err != nil {
			t.Fatal(err)
		}
		return fix.Config{Settings: s, DataDir: dir, Prices: newTestPrices(), Logger: testLogger(t)}
	}
	if gw, err := fix.Listen(cfg()); err == nil {
		_ = gw.Stop()
		t.Fatal("Listen on a busy port succeeded")
	}
	busy.Close()
	gw, err := fix.Listen(cfg())
	if err != nil {
		t.Fatalf("Listen after the port is free: %v", err)
	}
	if err := gw.Stop(); err != nil {
		t.Error(err)
	}
}
