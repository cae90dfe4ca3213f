package recovery_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tickwire/recovery"
)

// killChildEnv makes the test binary act as the appending child process of
// TestBoltKill9 (the os/exec tests' re-exec pattern).
const killChildEnv = "TICKWIRE_RECOVERY_KILL_CHILD"

var killStreams = []string{"orders", "fills", "alerts"}

// TestBoltKillChild is not a test: run by TestBoltKill9 in a child process,
// it appends from 8 goroutines forever and prints one line per successful
// Append: "ack <stream> <seq> <epoch> <payload>[,<payload>...]". Each line is
// one write(2) on the unbuffered stdout pipe, issued after Append returned, so
// every line the parent reads is an acknowledged append.
func TestBoltKillChild(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("helper process of TestBoltKill9")
	}
	round := os.Getenv(killChildEnv + "_ROUND")
	j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
	if err != nil {
		fmt.Printf("fail open: %v\n", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				n := 1 + i%3
				recs := make([]recovery.Record, n)
				names := make([]string, n)
				for k := range recs {
					names[k] = fmt.Sprintf("r%s-g%d-i%d-k%d", round, g, i, k)
					recs[k] = recovery.Record{Time: int64(i), Data: []byte(names[k])}
				}
				s := killStreams[(g+i)%len(killStreams)]
				p, err := j.Append(context.Background(), s, recs...)
				if err != nil {
					fmt.Printf("fail append: %v\n", err)
					os.Exit(3)
				}
				line := fmt.Sprintf("ack %s %d %s %s\n", s, p.Seq, p.Epoch, strings.Join(names, ","))
				mu.Lock()
				_, _ = os.Stdout.WriteString(line)
				mu.Unlock()
			}
		}()
	}
	// Never exit normally; the parent kills us. Bail out if it does not.
	time.Sleep(time.Minute)
	os.Exit(4)
}

type killAck struct {
	stream, epoch string
	seq           uint64
	payloads      []string
}

// runKilledChild starts the child on path, lets it acknowledge at least
// minAcks appends, SIGKILLs it in the middle of its appends and returns
// every acknowledgement it printed.
func runKilledChild(t *testing.T, path string, round, minAcks int) []killAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path, killChildEnv+"_ROUND="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []killAck
	enough := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 5 || f[0] != "ack" {
				continue // test framework noise, or a "fail" line (checked below)
			}
			seq, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				readDone <- fmt.Errorf("bad ack line %q", sc.Text())
				return
			}
			acks = append(acks, killAck{stream: f[1], seq: seq, epoch: f[3], payloads: strings.Split(f[4], ",")})
			if len(acks) >= minAcks && !signalled {
				signalled = true
				close(enough)
			}
		}
		readDone <- sc.Err()
	}()
	select {
	case <-enough:
	case err := <-readDone:
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child exited early (%v) after %d acks; stderr:\n%s", err, len(acks), stderr.String())
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child acknowledged only %d appends in 15s; stderr:\n%s", len(acks), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines written before the kill are still in the pipe: read to EOF.
	if err := <-readDone; err != nil && err != io.EOF {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v; stderr:\n%s", err, stderr.String())
	}
	return acks
}

// TestBoltKill9 kills a process appending with SIGKILL, twice, and checks
// after each kill that the journal reopens with every acknowledged append at
// its acknowledged position, each stream contiguous from 1, no payload twice,
// and the epochs unchanged. (SIGKILL leaves the page cache alone: this proves
// the commit protocol, not the fsyncs; see docs/recovery.md.)
func TestBoltKill9(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL")
	}
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	var all []killAck
	epochs := map[string]string{}
	for round := range 2 {
		acks := runKilledChild(t, path, round, 300)
		all = append(all, acks...)

		j := openBolt(t, path, recovery.BoltOptions{})
		stored := map[string]map[uint64]string{} // stream -> seq -> payload
		for _, s := range killStreams {
			hd, err := j.Head(s)
			if err != nil {
				t.Fatal(err)
			}
			if old, ok := epochs[s]; ok && old != hd.Epoch {
				t.Fatalf("round %d: %s epoch changed from %s to %s", round, s, old, hd.Epoch)
			}
			epochs[s] = hd.Epoch
			stored[s] = map[uint64]string{}
			seen := map[string]uint64{}
			var pos recovery.Position
			for {
				es, err := j.ReadFrom(bg(), s, pos, 500)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					if e.Seq != pos.Seq+1 {
						t.Fatalf("round %d: %s: seq %d after %d", round, s, e.Seq, pos.Seq)
					}
					if prev, dup := seen[string(e.Data)]; dup {
						t.Fatalf("round %d: %s: payload %q at seq %d and %d", round, s, e.Data, prev, e.Seq)
					}
					seen[string(e.Data)] = e.Seq
					stored[s][e.Seq] = string(e.Data)
					pos = e.Position()
				}
				if len(es) < 500 {
					break
				}
			}
			if pos.Seq != hd.Seq {
				t.Fatalf("round %d: %s: read up to %d, head %v", round, s, pos.Seq, hd)
			}
		}
		for _, a := range all {
			if a.epoch != epochs[a.stream] {
				t.Fatalf("ack %v has epoch %s, journal has %s", a, a.epoch, epochs[a.stream])
			}
			first := a.seq - uint64(len(a.payloads)) + 1
			for k, p := range a.payloads {
				if got := stored[a.stream][first+uint64(k)]; got != p {
					t.Fatalf("round %d: acked %q at %s seq %d, found %q", round, p, a.stream, first+uint64(k), got)
				}
			}
		}
		var total, ackedRecs int
		for _, s := range killStreams {
			total += len(stored[s])
		}
		for _, a := range all {
			ackedRecs += len(a.payloads)
		}
		// Entries beyond the acknowledged ones were committed while the
		// child was being killed: appends in flight.
		t.Logf("round %d: %d Appends acknowledged before SIGKILL; %d records acknowledged in all, %d in the journal after reopen",
			round, len(acks), ackedRecs, total)
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
