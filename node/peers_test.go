package node

import (
	"strings"
	"testing"
)

func TestParsePeers(t *testing.T) {
	ps, err := ParsePeers([]string{"n1=127.0.0.1:7001=127.0.0.1:8081", "n2=127.0.0.1:7002"})
	if err != nil || len(ps) != 2 || ps[0].FeedAddr != "127.0.0.1:8081" || ps[1].FeedAddr != "" || ps[1].RaftAddr != "127.0.0.1:7002" {
		t.Fatalf("got %+v, %v", ps, err)
	}
	for _, c := range []struct{ in, want string }{
		{"n1", "want ID=RAFTADDR=FEEDADDR"},
		{"=127.0.0.1:1", "want ID=RAFTADDR=FEEDADDR"},
		{"n1=a=b=c", "want ID=RAFTADDR=FEEDADDR"},
		{"n1=nope", "missing port"},
		{"n1=127.0.0.1:1=nope", "missing port"},
	} {
		if _, err := ParsePeers([]string{c.in}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ParsePeers([]string{"n1=127.0.0.1:1", "n1=127.0.0.1:2"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a repeated id: %v", err)
	}
	if _, err := ParsePeers([]string{"n1=127.0.0.1:1", "n2=127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a repeated address: %v", err)
	}
}
