package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"tickwire/client"
)

// serverProcess is a `tickwire server` child process.
type serverProcess struct {
	cmd     *exec.Cmd
	done    chan struct{}    // closed when the process has exited
	stderr  *strings.Builder // read only after done
	startup []string         // its stdout up to the "listening on" line
}

// startServerProcess runs `bin server args...` and waits until it says it
// listens. The test's cleanup kills it.
func startServerProcess(t *testing.T, bin string, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(strings.Builder) // read only after the process has exited
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, done: make(chan struct{}), stderr: stderr}
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var lines []string
		sent := false
		for sc.Scan() {
			if !sent {
				lines = append(lines, sc.Text())
				if strings.Contains(sc.Text(), "listening on") {
					sent = true
					ready <- lines
				}
			}
		}
		if !sent {
			ready <- nil
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.startup = <-ready:
		if p.startup == nil {
			<-p.done
			t.Fatalf("server exited before listening: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-p.done
		t.Fatalf("server did not listen within 30s: %s", stderr.String())
	}
	return p
}

// startJournalServer runs bin server on addr with data dir (and extra flags),
// and waits until it listens.
func startJournalServer(t *testing.T, bin, addr, dir string, extra ...string) *serverProcess {
	t.Helper()
	return startServerProcess(t, bin, append([]string{"--listen", addr, "--data", dir, "--heartbeat", "250ms", "--log-level", "warn"}, extra...)...)
}

// topicHeads returns each topic's head sequence number, from the server's
// GET /topics.
func topicHeads(t *testing.T, addr string) map[string]uint64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/topics")
	if err != nil {
		t.Fatal(err)
	}
	var infos []struct {
		Name string
		Seq  uint64
	}
	err = json.NewDecoder(resp.Body).Decode(&infos)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string]uint64{}
	for _, in := range infos {
		heads[in.Name] = in.Seq
	}
	return heads
}

func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type ack struct {
	topic   string
	seq     uint64
	epoch   string
	payload string
}

// TestServerKill9Resume: order events published over the HTTP publish API
// (each acknowledged only once in the journal) while clients stream them; the
// server process is SIGKILLed mid-stream and restarted on the same data
// directory; the clients reconnect and continue from their positions. Every
// acknowledged event reaches every client exactly once, at its acknowledged
// sequence number, in one epoch; nothing is duplicated or skipped.
func TestServerKill9Resume(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := loopbackAddr(t)
	srv := startJournalServer(t, bin, addr, dir)
	topics := []string{"orders.K1", "orders.K2"}

	type got struct {
		mu     sync.Mutex
		events map[string][]client.SequencedEvent
		lost   int
	}
	var clients []*got
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cwg sync.WaitGroup
	defer cwg.Wait()
	defer cancel()
	for i := range 3 {
		g := &got{events: map[string][]client.SequencedEvent{}}
		clients = append(clients, g)
		opts := client.Options{URLs: []string{"ws://" + addr + "/ws"}, Topics: topics, Name: fmt.Sprintf("k%d", i),
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, TelemetryEvery: -1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if i == 2 {
			opts.Transport = client.TransportHTTP
		}
		cl := client.New(opts)
		cwg.Add(2)
		go func() { defer cwg.Done(); _ = cl.Run(ctx) }()
		go func() {
			defer cwg.Done()
			for ev := range cl.Events() {
				if e, ok := ev.(client.SequencedEvent); ok {
					g.mu.Lock()
					if e.HistoryLost {
						g.lost++
					} else {
						g.events[e.Topic] = append(g.events[e.Topic], e)
					}
					g.mu.Unlock()
				}
			}
		}()
	}

	// Publishers: each event is acknowledged (HTTP 200 with its position)
	// only once the journal has it. Failed or unanswered publishes are not
	// retried (so no payload can be in the journal twice) and not counted.
	var (
		amu   sync.Mutex
		acks  []ack
		nacks atomic.Int64
		stop  atomic.Bool
		pwg   sync.WaitGroup
	)
	hc := &http.Client{Timeout: 5 * time.Second}
	for p := range 4 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for i := 0; !stop.Load(); i++ {
				topic := topics[(p+i)%len(topics)]
				payload := fmt.Sprintf("p%d-%d", p, i)
				resp, err := hc.Post("http://"+addr+"/publish/"+topic, "application/json", strings.NewReader(`{"event": "`+payload+`"}`))
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var r struct {
					Epoch string
					Seq   uint64
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil {
					continue
				}
				amu.Lock()
				acks = append(acks, ack{topic: topic, seq: r.Seq, epoch: r.Epoch, payload: payload})
				amu.Unlock()
				nacks.Add(1)
			}
		}()
	}
	waitAcks := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for nacks.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d acknowledged publishes after 30s", nacks.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcks(300)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	killedAt := nacks.Load()
	time.Sleep(300 * time.Millisecond)    // clients and publishers find the server gone
	startJournalServer(t, bin, addr, dir) // stopped by the test's cleanup
	waitAcks(killedAt + 300)
	stop.Store(true)
	pwg.Wait()

	// The heads, as the restarted server knows them.
	heads := topicHeads(t, addr)
	deadline := time.Now().Add(20 * time.Second)
	for _, g := range clients {
		for {
			g.mu.Lock()
			n1, n2 := len(g.events[topics[0]]), len(g.events[topics[1]])
			g.mu.Unlock()
			if uint64(n1) >= heads[topics[0]] && uint64(n2) >= heads[topics[1]] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a client has %d and %d events, heads are %v", n1, n2, heads)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	cancel()
	cwg.Wait()

	for ci, g := range clients {
		if g.lost != 0 {
			t.Errorf("client %d: %d history-lost markers (the journal survived: none expected)", ci, g.lost)
		}
		for _, topic := range topics {
			evs := g.events[topic]
			if uint64(len(evs)) != heads[topic] {
				t.Errorf("client %d %s: %d events, head %d", ci, topic, len(evs), heads[topic])
			}
			seen := map[string]bool{}
			for i, e := range evs {
				if e.Seq != uint64(i+1) || e.Epoch != evs[0].Epoch {
					t.Fatalf("client %d %s: event %d is %d@%s", ci, topic, i+1, e.Seq, e.Epoch)
				}
				var s string
				if err := msgpack.Unmarshal(e.Data, &s); err != nil || seen[s] {
					t.Fatalf("client %d %s: event %d payload %q duplicated or undecodable (%v)", ci, topic, e.Seq, s, err)
				}
				seen[s] = true
			}
		}
		for _, a := range acks {
			evs := g.events[a.topic]
			if a.seq == 0 || a.seq > uint64(len(evs)) {
				t.Fatalf("client %d: acknowledged %s seq %d missing (have %d)", ci, a.topic, a.seq, len(evs))
			}
			var s string
			_ = msgpack.Unmarshal(evs[a.seq-1].Data, &s)
			if s != a.payload || evs[a.seq-1].Epoch != a.epoch {
				t.Fatalf("client %d: acknowledged %s %d@%s was %q, got %q@%s", ci, a.topic, a.seq, a.epoch, a.payload, s, evs[a.seq-1].Epoch)
			}
		}
	}
	t.Logf("%d acknowledged publishes (%d before the kill), heads %v", len(acks), killedAt, heads)
}
