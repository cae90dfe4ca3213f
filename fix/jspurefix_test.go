package fix_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestJspurefixCounterparty runs an independent FIX engine, jspurefix
// (Node, installed by `make fix-deps` into fix/jspurefix/node_modules), as
// the counterparty: it sends D, G and F and checks the 8 and 9 replies
// (fix/jspurefix/counterparty.js). Without node or node_modules the test
// is skipped, except under CI=true where it fails.
func TestJspurefixCounterparty(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	missing := func(why string) {
		t.Helper()
		if ci {
			t.Fatalf("%s: run `make fix-deps` (CI=true, not skipping)", why)
		}
		t.Skipf("%s: run `make fix-deps`", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	dir, err := filepath.Abs("jspurefix")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jspurefix", "package.json")); err != nil {
		missing("fix/jspurefix/node_modules/jspurefix is missing")
	}

	r := newRig(t, withoutClient())
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, node, "counterparty.js",
		"--host", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--sender", r.clID, "--target", r.gwID, "--timeout-ms", "40000")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil || !strings.Contains(text, "RESULT pass") {
		t.Fatalf("jspurefix counterparty failed (%v):\n%s", err, text)
	}
	t.Logf("jspurefix counterparty:\n%s", text)

	// The gateway's view agrees: one filled order, one canceled.
	session := "FIX.4.4:" + r.gwID + "->" + r.clID
	o, ok, err := r.gw.Lookup(ctx(t), session, "JS1")
	if err != nil || !ok || o.Status() != '2' {
		t.Fatalf("JS1 in the gateway: %+v %v %v", o, ok, err)
	}
	o, ok, err = r.gw.Lookup(ctx(t), session, "JS5")
	if err != nil || !ok || o.Status() != '4' || o.OrderQty.String() != "20" {
		t.Fatalf("JS2/JS3/JS5 in the gateway: %+v %v %v", o, ok, err)
	}
}
