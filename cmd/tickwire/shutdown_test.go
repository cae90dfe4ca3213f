package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"tickwire/client"
	"tickwire/protocol"
)

// TestServerSIGTERMUnderLoad: REST publishers POST order events (each
// acknowledged, HTTP 200, only once in the journal) while WebSocket clients
// stream them; the server gets SIGTERM mid-load. It exits 0, having sent
// each subscriber Error 2005 and a close "going away", and logged its
// shutdown phases. Restarted on the same --data, its topics hold exactly
// the acknowledged events: each once, at its acknowledged seq, in order,
// and nothing that was not acknowledged (an in-flight publish was either
// answered or never committed).
func TestServerSIGTERMUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := loopbackAddr(t)
	// A header timeout past the drain timeout: see unused below. A slow
	// heartbeat: a subscriber of this process, starved of CPU by the load it
	// makes on a busy machine, is not dropped as silent (the default of
	// startJournalServer, 250ms, drops a client silent for 750ms) before the
	// SIGTERM whose Error 2005 it must get.
	srv := startJournalServer(t, bin, addr, dir, "--drain-timeout", "5s", "--handshake-timeout", "30s", "--heartbeat", "5s", "--log-level", "info")
	topics := []string{"orders.T1", "orders.T2"}

	// Subscribers: plain connections, to see how each one ends.
	type ending struct {
		final  *protocol.Error
		err    error
		events int
	}
	endings := make(chan ending, 3)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, "ws://"+addr+"/ws", protocol.Hello{Client: "sub"}, &protocol.Subscribe{Topics: topics})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			var e ending
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			for e.err == nil {
				e.err = c.Read(func(f protocol.Frame) error {
					switch f := f.(type) {
					case *protocol.Ping:
						return c.Send(&protocol.Pong{Nonce: f.Nonce})
					case *protocol.Event:
						e.events++
					case *protocol.Error:
						e.final = f
					}
					return nil
				})
			}
			endings <- e
		}()
	}

	var (
		amu   sync.Mutex
		acked = map[string]ack{} // by payload
		nacks atomic.Int64
		stop  atomic.Bool
		pwg   sync.WaitGroup
	)
	hc := &http.Client{Timeout: 30 * time.Second}
	for p := range 6 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for i := 0; !stop.Load() && i < 100000; i++ {
				topic := topics[(p+i)%len(topics)]
				payload := fmt.Sprintf("p%d-%d", p, i)
				resp, err := hc.Post("http://"+addr+"/publish/"+topic, "application/json", strings.NewReader(`{"event": "`+payload+`"}`))
				if err != nil {
					return // the server is gone: this publish was never answered
				}
				var r struct {
					Epoch string
					Seq   uint64
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil {
					continue // refused: not acknowledged
				}
				amu.Lock()
				acked[payload] = ack{topic: topic, seq: r.Seq, epoch: r.Epoch, payload: payload}
				amu.Unlock()
				nacks.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for nacks.Load() < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d acknowledged publishes after 60s", nacks.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A connection that has sent no request yet, as the publishers' HTTP
	// client sometimes leaves one (it dials for a request that another
	// connection, freed first, then takes), or a browser's preconnect: it
	// must not hold the shutdown until the drain timeout. Once a request
	// dialled after it is answered, the server has accepted it.
	unused, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer unused.Close()
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	atSignal := nacks.Load()
	select {
	case <-srv.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not exit within 60s of SIGTERM")
	}
	stop.Store(true)
	pwg.Wait()
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM; stderr:\n%s", code, srv.stderr.String())
	}
	logs := srv.stderr.String()
	missing := false
	for _, phase := range []string{"shutdown: not ready", "shutdown: listener closed, draining clients", "shutdown: clients closed",
		"shutdown: HTTP requests finished", "shutdown: journal synced and closed", "shutdown: done"} {
		if !strings.Contains(logs, phase) {
			t.Errorf("no %q in the log", phase)
			missing = true
		}
	}
	if missing {
		for line := range strings.Lines(logs) {
			if strings.Contains(line, "shutdown") {
				t.Log(strings.TrimSpace(line))
			}
		}
	}
	for range 3 {
		e := <-endings
		var ce *websocket.CloseError
		if e.final == nil || e.final.Code != protocol.CodeShutdown || !errors.As(e.err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("a subscriber ended with %v then %v; want Error 2005 then close 1001", e.final, e.err)
		}
	}

	// Restart and read both topics from the beginning.
	startJournalServer(t, bin, addr, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	reader, err := client.Dial(ctx, "ws://"+addr+"/ws", protocol.Hello{Client: "reader"}, &protocol.Subscribe{Topics: topics})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	heads := topicHeads(t, addr)
	got := map[string][]*protocol.Event{}
	_ = reader.SetReadDeadline(time.Now().Add(30 * time.Second))
	for uint64(len(got[topics[0]])) < heads[topics[0]] || uint64(len(got[topics[1]])) < heads[topics[1]] {
		if err := reader.Read(func(f protocol.Frame) error {
			if ev, ok := f.(*protocol.Event); ok && ev.Type == protocol.TypeEvent {
				got[ev.Topic] = append(got[ev.Topic], ev)
			}
			return nil
		}); err != nil {
			t.Fatalf("reading back: %v (have %d and %d, heads %v)", err, len(got[topics[0]]), len(got[topics[1]]), heads)
		}
	}
	seen := map[string]bool{}
	for _, topic := range topics {
		for i, ev := range got[topic] {
			if ev.Seq != uint64(i+1) || ev.Flags != 0 {
				t.Fatalf("%s: event %d is seq %d flags %d", topic, i+1, ev.Seq, ev.Flags)
			}
			var s string
			if err := msgpack.Unmarshal(ev.Data, &s); err != nil || seen[s] {
				t.Fatalf("%s seq %d: payload %q duplicated or undecodable (%v)", topic, ev.Seq, s, err)
			}
			seen[s] = true
			a, ok := acked[s]
			if !ok {
				t.Errorf("%s seq %d: %q is in the journal but was never acknowledged", topic, ev.Seq, s)
				continue
			}
			if a.topic != topic || a.seq != ev.Seq || a.epoch != ev.Epoch {
				t.Errorf("%q acknowledged as %s %d@%s, found at %s %d@%s", s, a.topic, a.seq, a.epoch, topic, ev.Seq, ev.Epoch)
			}
		}
	}
	for p, a := range acked {
		if !seen[p] {
			t.Errorf("acknowledged %s seq %d (%q) lost", a.topic, a.seq, p)
		}
	}
	t.Logf("%d acknowledged (%d at the signal), heads %v", len(acked), atSignal, heads)
}
