package cluster

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchCapacity: the capacity phase on a tiny configuration (6
// clients, 1 s windows) loads every node of the cluster and the single
// node, and each one's clients receive prices; the report has a row per
// node and the ratio.
func TestBenchCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := BenchCapacity(ctx, CapacityOptions{Bin: bin, Dir: t.TempDir(), Clients: 6, Window: time.Second, Rate: 200, Topics: 4, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c.Write(&out)
	t.Logf("\n%s", out.String())
	if len(c.Single.Nodes) != 1 || c.Single.Nodes[0].Clients != 6 || c.Single.Nodes[0].Delivered <= 0 || c.Single.SourceRate <= 0 {
		t.Errorf("single node: %+v", c.Single)
	}
	if len(c.Cluster.Nodes) != 3 || c.Cluster.SourceRate <= 0 {
		t.Fatalf("cluster: %+v", c.Cluster)
	}
	actives := 0
	for _, n := range c.Cluster.Nodes {
		if n.Clients != 2 || n.Delivered <= 0 || n.AgeP99 <= 0 {
			t.Errorf("cluster node %s: %+v, want 2 clients and deliveries", n.Node, n)
		}
		if n.Role == "active" {
			actives++
		}
	}
	if actives != 1 {
		t.Errorf("%d active nodes: %+v", actives, c.Cluster.Nodes)
	}
	for _, want := range []string{"single total", "n1 (", "n2 (", "n3 (", "cluster total", "cluster/single delivered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestCapacityOptionsBounds: counts and times from a command line are
// bounded before anything starts.
func TestCapacityOptionsBounds(t *testing.T) {
	for _, o := range []CapacityOptions{
		{Clients: -1}, {Clients: maxCapacityClients + 1}, {Window: -time.Second}, {Window: maxCapacityWindow + 1},
		{Rate: -1}, {Rate: maxCapacityRate + 1}, {Topics: -1}, {Topics: maxCapacityTopics + 1},
	} {
		if err := o.check(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := CapacityOptions{}
	if err := o.check(); err != nil || o.Clients != 300 || o.Window != 10*time.Second || o.Rate != 2000 || o.Topics != 20 {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}
