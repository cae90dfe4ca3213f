package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestClusterFlags: `server --cluster` refuses incomplete or contradictory
// flags with a usage error naming the problem, before opening anything.
func TestClusterFlags(t *testing.T) {
	dir := t.TempDir()
	base := []string{"server", "--cluster", "--listen", "127.0.0.1:0", "--insecure-open"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--cluster needs --data"},
		{[]string{"--data", dir}, "--cluster needs --node-id and --raft-addr"},
		{[]string{"--data", dir, "--node-id", "n1", "--raft-addr", "127.0.0.1:0", "--peers", "n2=127.0.0.1:1"}, "--peers does not list this node"},
		{[]string{"--data", dir, "--node-id", "n1", "--raft-addr", "127.0.0.1:0", "--peers", "n1"}, "--peers: peer \"n1\""},
		{[]string{"--data", dir, "--node-id", "n1", "--raft-addr", "127.0.0.1:0", "--join", "--peers", "n1=127.0.0.1:1"}, "--join and --peers"},
		{[]string{"--data", dir, "--node-id", "n1", "--raft-addr", "127.0.0.1:0", "--raft-sync", "sometimes"}, "--raft-sync \"sometimes\""},
	} {
		var out, errb bytes.Buffer
		if code := run(append(append([]string(nil), base...), c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"cluster", "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown subcommand "nope"`) {
		t.Errorf("cluster nope: exit %d, stderr %q", code, errb.String())
	}
}
