package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"tickwire/client"
	"tickwire/node"
	"tickwire/protocol"
	"tickwire/recovery"
)

// TestIdempotentPublishKill9: publishers send numbered events over POST
// /publish, each with its own Idempotency-Key, and retry every publish left
// unanswered (the connection refused or cut) with the same key until it is
// answered, while the server process is SIGKILLed and restarted on its data
// directory several times, some kills landing between a publish's journal
// append and its answer. A publisher over the protocol (PublishEvent.Key, a
// WebSocket publish, which has no answer) resends its last event after each
// restart, as it must when it cannot know whether it was stored. At the end
// each topic holds every numbered event exactly once, in order, and every
// answer named the event's position.
func TestIdempotentPublishKill9(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := loopbackAddr(t)
	srv := startJournalServer(t, bin, addr, dir)
	const (
		publishers = 3
		kills      = 4
	)
	var (
		stop     atomic.Bool
		answered atomic.Int64
		replayed atomic.Int64 // retries answered from the key: the first answer was lost
		wg       sync.WaitGroup
		mu       sync.Mutex
		answers  = map[string][]uint64{} // topic -> seq answered for event i (index i-1)
		sent     = make([]int, publishers)
	)
	hc := &http.Client{Timeout: 5 * time.Second}
	for p := range publishers {
		topic := fmt.Sprintf("orders.P%d", p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; !stop.Load(); i++ {
				for {
					req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/publish/"+topic, strings.NewReader(fmt.Sprintf(`{"event": %d}`, i)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("p%d-%d", p, i))
					resp, err := hc.Do(req)
					if err != nil {
						time.Sleep(10 * time.Millisecond) // the server is down: retry
						continue
					}
					var r struct{ Seq uint64 }
					err = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK {
						if resp.StatusCode != http.StatusOK && resp.StatusCode < 500 {
							t.Errorf("%s event %d: HTTP %d", topic, i, resp.StatusCode)
							return
						}
						continue // cut mid-answer: retry
					}
					if resp.Header.Get("Idempotent-Replayed") == "true" {
						replayed.Add(1)
					}
					mu.Lock()
					answers[topic] = append(answers[topic], r.Seq)
					sent[p] = i
					mu.Unlock()
					answered.Add(1)
					break
				}
			}
		}()
	}
	waitAnswered := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for answered.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d publishes answered after 30s", answered.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// At each kill, one publish on orders.D is certainly stored and its
	// answer lost: its publisher hangs up before reading it, and the kill
	// comes once the server's head shows the event.
	for k := range kills {
		waitAnswered(int64(100 * (k + 1)))
		d := k + 1
		wsPublishKeyed(t, addr, d)
		abandonPublish(t, addr, "orders.D", fmt.Sprintf("d-%d", d), fmt.Sprint(d))
		waitHead(t, addr, "orders.D", uint64(d))
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.done
		srv = startJournalServer(t, bin, addr, dir)
		r := postKey(t, hc, addr, "orders.D", fmt.Sprintf("d-%d", d), fmt.Sprint(d))
		if r.code != http.StatusOK || r.seq != uint64(d) || !r.replayed {
			t.Fatalf("retry of orders.D event %d after the kill: %+v, want a replay of seq %d", d, r, d)
		}
	}
	if h := topicHeads(t, addr)["orders.D"]; h != kills {
		t.Fatalf("orders.D head %d, want %d: a retry was stored again", h, kills)
	}
	wsPublishKeyed(t, addr, kills+1) // the last one's retry, after the last restart
	waitAnswered(int64(100 * (kills + 1)))
	stop.Store(true)
	wg.Wait()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done

	j, err := recovery.OpenBolt(filepath.Join(dir, node.JournalFile), recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ws, err := j.ReadFrom(context.Background(), "orders.W", recovery.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != kills+1 {
		t.Fatalf("orders.W: %d events stored, want %d", len(ws), kills+1)
	}
	for i, e := range ws {
		if len(e.Data) != 1 || int(e.Data[0]) != i+1 {
			t.Fatalf("orders.W: seq %d holds %v, want event %d: stored twice or out of order", e.Seq, e.Data, i+1)
		}
	}
	for p := range publishers {
		topic := fmt.Sprintf("orders.P%d", p)
		es, err := j.ReadFrom(context.Background(), topic, recovery.Position{}, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		// The last event may have been stored and its publisher stopped
		// before the answer: at most one more than answered.
		if len(es) != sent[p] && len(es) != sent[p]+1 {
			t.Fatalf("%s: %d events stored, %d answered", topic, len(es), sent[p])
		}
		for i, e := range es {
			var n float64 // a JSON number
			if err := msgpack.Unmarshal(e.Data, &n); err != nil || n != float64(i+1) {
				t.Fatalf("%s: seq %d holds event %v (%v), want %d: stored twice or out of order", topic, e.Seq, n, err, i+1)
			}
		}
		for i, seq := range answers[topic] {
			if seq != uint64(i+1) {
				t.Fatalf("%s: event %d answered with seq %d", topic, i+1, seq)
			}
		}
	}
	t.Logf("%d publishes answered over %d kills, %d of them replays of an event stored before its answer was lost", answered.Load(), kills, replayed.Load())
}

// wsPublishKeyed is a protocol publisher's round n on orders.W: on a new
// WebSocket connection, in one message, it resends event n-1 (it cannot know
// whether the server stored it before it was killed) with its key, then
// sends event n with its own; it waits until the server's head is n, so a
// resend stored again shows as a head past n and events out of order. Event
// i's payload is the byte i (a msgpack fixint) and its key w-i.
func wsPublishKeyed(t *testing.T, addr string, n int) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(c, "ws://"+addr+"/ws", protocol.Hello{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	event := func(i int) protocol.Frame {
		return &protocol.Event{Type: protocol.TypePublishEvent, Topic: "orders.W", Data: []byte{byte(i)}, Key: fmt.Sprintf("w-%d", i)}
	}
	var frames []protocol.Frame
	if n > 1 {
		frames = append(frames, event(n-1))
	}
	if err := conn.Send(append(frames, event(n))...); err != nil {
		t.Fatal(err)
	}
	waitHead(t, addr, "orders.W", uint64(n))
}

// abandonPublish sends a keyed POST /publish and hangs up without reading
// the answer.
func abandonPublish(t *testing.T, addr, topic, key, event string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"event": ` + event + `}`
	_, err = fmt.Fprintf(c, "POST /publish/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nIdempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s", topic, addr, key, len(body), body)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// waitHead polls the server's GET /topics until topic's head is seq.
func waitHead(t *testing.T, addr, topic string, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for topicHeads(t, addr)[topic] != seq {
		if time.Now().After(deadline) {
			t.Fatalf("%s head %d, want %d", topic, topicHeads(t, addr)[topic], seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type keyedAnswer struct {
	code     int
	seq      uint64
	replayed bool
}

// postKey publishes event to topic with key.
func postKey(t *testing.T, hc *http.Client, addr, topic, key, event string) keyedAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/publish/"+topic, strings.NewReader(`{"event": `+event+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Seq uint64 }
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return keyedAnswer{code: resp.StatusCode, seq: r.Seq, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}
