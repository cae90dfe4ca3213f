package cluster

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSoakFailureKeepsData: a soak or bench whose nodes do not start
// fails with the reason, says FAILED and where the nodes' data and logs
// are, and keeps them.
func TestRunSoakFailureKeepsData(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-tickwire")
	var out bytes.Buffer
	dir := t.TempDir()
	err := RunSoak(context.Background(), SoakOptions{Bin: missing, Dir: dir, Rounds: 1, Progress: &out, Logger: testLog(t)}, nil, false)
	if err == nil || !strings.Contains(out.String(), "FAILED: ") || !strings.Contains(out.String(), "nodes' data and logs: "+dir) {
		t.Fatalf("soak: %v, output %q", err, out.String())
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a failed soak's directory: %v", err)
	}
	out.Reset()
	err = RunSoak(context.Background(), SoakOptions{Bin: missing, Dir: dir, Progress: &out, Logger: testLog(t)}, &BenchOptions{Orders: 1, Pipelined: 1}, false)
	if err == nil || !strings.HasPrefix(err.Error(), "bench: ") || !strings.HasSuffix(err.Error(), "(data and logs: "+dir+")") {
		t.Fatalf("bench: %v", err)
	}
}

// TestRunSoakOwnDir: without a Dir, each run makes a directory of its own
// (two runs at once must not empty each other's): two failed runs keep two.
func TestRunSoakOwnDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	missing := filepath.Join(t.TempDir(), "no-such-tickwire")
	for range 2 {
		if err := RunSoak(context.Background(), SoakOptions{Bin: missing, Rounds: 1, Logger: testLog(t)}, &BenchOptions{Orders: 1, Pipelined: 1}, false); err == nil {
			t.Fatal("a bench without its binary: no error")
		}
	}
	dirs, err := filepath.Glob(filepath.Join(tmp, "tickwire-cluster-bench-*"))
	if err != nil || len(dirs) != 2 {
		t.Fatalf("directories %q (%v), want 2", dirs, err)
	}
}

// TestDemoRunFailure: a demo whose nodes do not start returns the reason
// without running the dashboard.
func TestDemoRunFailure(t *testing.T) {
	var out bytes.Buffer
	d := Demo{Bin: filepath.Join(t.TempDir(), "no-such-tickwire"), Dir: t.TempDir(), Logger: testLog(t)}
	ran := false
	err := d.Run(context.Background(), &out, func(context.Context, []string) error { ran = true; return nil })
	if err == nil || ran || !strings.Contains(out.String(), "starting 3 nodes (data and logs in "+d.Dir+")") {
		t.Fatalf("%v, dashboard ran %v, output %q", err, ran, out.String())
	}
}
