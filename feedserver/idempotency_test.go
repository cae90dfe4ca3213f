package feedserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/protocol"
	"tickwire/recovery"
)

// keyedPublish is the answer to a POST /publish with an Idempotency-Key.
type keyedPublish struct {
	code     int
	body     string
	epoch    string
	seq      uint64
	replayed bool
}

// postKeyed posts event body to topic on base with key (none if "").
func postKeyed(t testing.TB, base, topic, key, event string) keyedPublish {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/publish/"+topic, strings.NewReader(`{"event": `+event+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := keyedPublish{code: resp.StatusCode, body: string(b), replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if r.code == http.StatusOK {
		var pos struct {
			Epoch string
			Seq   uint64
		}
		if err := json.Unmarshal(b, &pos); err != nil {
			t.Fatal(err)
		}
		r.epoch, r.seq = pos.Epoch, pos.Seq
	}
	return r
}

// startServerOn serves cfg on a new loopback listener until stop is called.
func startServerOn(t *testing.T, cfg Config) (base string, stop func()) {
	t.Helper()
	cfg.Logger = quiet()
	srv := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

func head(t testing.TB, j recovery.Journal, topic string) uint64 {
	t.Helper()
	p, err := j.Head(topic)
	if err != nil {
		t.Fatal(err)
	}
	return p.Seq
}

// TestIdempotentPublishAfterRestart: a keyed publish is stored and its
// answer lost; after a restart on the same journal file, its retry with the
// same key gets the original {epoch, seq} and stores nothing; other keys and
// unkeyed publishes are stored as usual.
func TestIdempotentPublishAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := recovery.OpenBolt(path, recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServerOn(t, Config{Journal: j})
	first := postKeyed(t, base, "orders.A", "pub1-1", `{"n": 1, "side": "buy"}`)
	if first.code != http.StatusOK || first.seq != 1 || first.replayed {
		t.Fatalf("first publish: %+v", first)
	}
	if r := postKeyed(t, base, "orders.A", "", `{"n": 2}`); r.seq != 2 {
		t.Fatalf("unkeyed publish: %+v", r)
	}
	stop()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j, err = recovery.OpenBolt(path, recovery.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	base, _ = startServerOn(t, Config{Journal: j})
	// Same event, keys of its map in another order: the same payload.
	retry := postKeyed(t, base, "orders.A", "pub1-1", `{"side": "buy", "n": 1}`)
	if retry.code != http.StatusOK || retry.seq != first.seq || retry.epoch != first.epoch || !retry.replayed {
		t.Fatalf("retry after restart: %+v, want seq %d epoch %s replayed", retry, first.seq, first.epoch)
	}
	if h := head(t, j, "orders.A"); h != 2 {
		t.Fatalf("head after retry = %d, want 2: the retry was stored", h)
	}
	if r := postKeyed(t, base, "orders.A", "pub1-3", `{"n": 3}`); r.seq != 3 || r.replayed {
		t.Fatalf("new key after restart: %+v", r)
	}
	// The same key on another topic is another event.
	if r := postKeyed(t, base, "orders.B", "pub1-1", `{"n": 1, "side": "buy"}`); r.seq != 1 || r.replayed {
		t.Fatalf("same key, other topic: %+v", r)
	}
}

// TestIdempotencyKeyConflict: a key reused for another payload is refused
// (422) and stores nothing; a malformed key is refused (400).
func TestIdempotencyKeyConflict(t *testing.T) {
	j := recovery.NewMem()
	defer j.Close()
	base, _ := startServerOn(t, Config{Journal: j})
	if r := postKeyed(t, base, "orders.A", "k1", `{"n": 1}`); r.seq != 1 {
		t.Fatalf("first publish: %+v", r)
	}
	r := postKeyed(t, base, "orders.A", "k1", `{"n": 2}`)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "idempotency key already used for another event") {
		t.Fatalf("other payload, same key: %+v, want 422", r)
	}
	for _, key := range []string{"has space", strings.Repeat("k", protocol.MaxKeyLen+1), "caf\u00e9"} {
		if r := postKeyed(t, base, "orders.A", key, `{"n": 3}`); r.code != http.StatusBadRequest || !strings.Contains(r.body, "Idempotency-Key") {
			t.Errorf("key %q: %+v, want 400", key, r)
		}
	}
	if h := head(t, j, "orders.A"); h != 1 {
		t.Fatalf("head = %d, want 1: a refused publish was stored", h)
	}
}

// TestIdempotencyWindow: a key is forgotten once its event is older than
// the window, or no longer among the topic's newest IdempotencyEvents.
func TestIdempotencyWindow(t *testing.T) {
	const window = 300 * time.Millisecond
	j := recovery.NewMem()
	defer j.Close()
	base, _ := startServerOn(t, Config{Journal: j, IdempotencyEvents: 3, IdempotencyWindow: window})

	// Count: three more events push k1 out.
	if r := postKeyed(t, base, "orders.C", "k1", `1`); r.seq != 1 {
		t.Fatalf("first: %+v", r)
	}
	for i := range 2 {
		postKeyed(t, base, "orders.C", "", fmt.Sprint(i))
	}
	if r := postKeyed(t, base, "orders.C", "k1", `1`); !r.replayed || r.seq != 1 {
		t.Fatalf("k1 among the newest 3: %+v, want a replay of seq 1", r)
	}
	postKeyed(t, base, "orders.C", "", `"push"`)
	if r := postKeyed(t, base, "orders.C", "k1", `1`); r.replayed || r.seq != 5 {
		t.Fatalf("k1 out of the newest 3: %+v, want stored as seq 5", r)
	}

	// Time: retries are replays until the window passes, then stored anew.
	start := time.Now()
	orig := postKeyed(t, base, "orders.T", "k2", `2`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		r := postKeyed(t, base, "orders.T", "k2", `2`)
		if !r.replayed {
			if elapsed := time.Since(start); elapsed < window {
				t.Fatalf("k2 forgotten after %v, window %v", elapsed, window)
			}
			if r.seq != orig.seq+1 {
				t.Fatalf("k2 after the window: %+v, want seq %d", r, orig.seq+1)
			}
			break
		}
		if r.seq != orig.seq {
			t.Fatalf("replay of k2: %+v, want seq %d", r, orig.seq)
		}
		if time.Now().After(deadline) {
			t.Fatalf("k2 still remembered %v after its publish, window %v", time.Since(start), window)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIdempotencyConcurrent: publishes of one key racing each other store
// one event and all get its position; over a WebSocket, a keyed event sent
// twice in one message and again in a later one is stored once.
func TestIdempotencyConcurrent(t *testing.T) {
	j := recovery.NewMem()
	defer j.Close()
	srv, url := startServer(t, Config{Journal: j})
	h := srv.Hub()
	const n = 16
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each batch also holds an event of its own key, in varying order.
			own := EventIn{Data: []byte(fmt.Sprint("own", i)), Key: fmt.Sprint("own-", i)}
			shared := EventIn{Data: []byte("shared"), Key: "shared"}
			evs := []EventIn{own, shared}
			if i%2 == 1 {
				evs = []EventIn{shared, own}
			}
			_, _, _, errs[i] = h.publishEvents(publisher{}, "orders.R", evs...)
			_, seqs[i], _, _ = h.publishEvents(publisher{}, "orders.R", EventIn{Data: []byte("shared"), Key: "shared"})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seqs[i] != seqs[0] {
			t.Fatalf("publishers got seq %d and %d for one key", seqs[0], seqs[i])
		}
	}
	es, err := j.ReadFrom(context.Background(), "orders.R", recovery.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n+1 {
		t.Fatalf("%d events stored, want %d (one per key)", len(es), n+1)
	}
	for _, e := range es {
		if string(e.Data) == "shared" && e.Seq != seqs[0] {
			t.Fatalf("shared stored at %d, answered %d", e.Seq, seqs[0])
		}
	}

	c := dial(t, url)
	ev := &protocol.Event{Type: protocol.TypePublishEvent, Topic: "orders.W", Data: []byte{0x01}, Key: "w1"}
	other := &protocol.Event{Type: protocol.TypePublishEvent, Topic: "orders.W", Data: []byte{0x02}, Key: "w2"}
	if err := c.Send(ev, ev, other); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ev, other); err != nil {
		t.Fatal(err)
	}
	// A marker after them: once it is stored, so is whatever came before.
	if err := c.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: "orders.W", Data: []byte{0x03}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the marker event", func() bool { return head(t, j, "orders.W") >= 3 })
	es, err = j.ReadFrom(context.Background(), "orders.W", recovery.Position{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[0].Data[0] != 1 || es[1].Data[0] != 2 || es[2].Data[0] != 3 {
		t.Fatalf("stored over the WebSocket: %+v, want events 1, 2, 3 once each", es)
	}
}
