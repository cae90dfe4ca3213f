package fixclient

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDoesNotImportGateway: the counterparty tests the gateway, so it must
// not import it (and with it the gateway's journal and bbolt): what both
// share of FIX 4.4 lives in tickwire/fix/spec. go test puts its own go
// command first on PATH.
func TestDoesNotImportGateway(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "tickwire/fix/fixclient").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "tickwire/fix", "go.etcd.io/bbolt":
			t.Errorf("fix/fixclient depends on %s", pkg)
		}
	}
}
