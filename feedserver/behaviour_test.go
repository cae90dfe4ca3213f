package feedserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// goVWAP is a behaviour written in Go, standing for a module: the trade
// merge plus a VWAP. It fails, as a bad module would, on a trade at price
// -1 (an error) or -2 (a NaN VWAP).
type goVWAP struct {
	calls atomic.Int64
}

// testFailure is a behaviour failure with a reason, as behaviour.Error has.
type testFailure string

func (f testFailure) Error() string         { return "test failure: " + string(f) }
func (f testFailure) FailureReason() string { return string(f) }

func (g *goVWAP) Name() string { return "go:vwap" }

func (g *goVWAP) Merge(dst, src *protocol.Quote) error {
	g.calls.Add(1)
	px, _ := src.Get(protocol.Last)
	switch {
	case px == -1:
		return testFailure("trap")
	case px == -2:
		dst.Put(protocol.VWAP, math.NaN())
		return nil
	}
	vwapMerge(dst, src)
	return nil
}

// vwapMerge is the merge goVWAP runs and the tests expect.
func vwapMerge(dst, src *protocol.Quote) {
	px, _ := src.Get(protocol.Last)
	sz, _ := src.Get(protocol.LastSize)
	vol, _ := dst.Get(protocol.Volume)
	if vw, ok := dst.Get(protocol.VWAP); ok && vol+sz != 0 {
		dst.Put(protocol.VWAP, (vw*vol+px*sz)/(vol+sz))
	} else {
		dst.Put(protocol.VWAP, px)
	}
	protocol.OpsTrade.Merge(dst, src)
}

func trade(px, size float64) *protocol.Quote {
	var q protocol.Quote
	q.Put(protocol.Last, px)
	q.Put(protocol.LastSize, size)
	q.Put(protocol.Volume, size)
	q.Put(protocol.High, px)
	q.Put(protocol.Low, px)
	return &q
}

// behaviourRules: *.trades merge as trades, with vwap from b.
func behaviourRules(b Behaviour) []TopicRule {
	return append([]TopicRule{{Pattern: "*.trades", Kind: ConflatedMerge, Ops: protocol.OpsTrade,
		Behaviours: []BehaviourRule{{Fields: 1 << protocol.VWAP, Behaviour: b}}}}, DefaultTopicRules()...)
}

// view is a client's value of a topic, rebuilt from frames.
type view struct {
	got protocol.Quote
	ops protocol.Ops
	seq uint64
}

// rebuild reads Price frames of topic from c, rebuilding the value as a
// client without the module does (a Snapshot replaces, an Update applies
// under the Snapshot's ops), until stop says so; it returns the value and
// the last frame.
func rebuild(t *testing.T, c *client.Conn, topic string, stop func(*protocol.Price, *protocol.Quote) bool) (protocol.Quote, *protocol.Price) {
	t.Helper()
	return new(view).rebuild(t, c, topic, stop)
}

// rebuild is rebuild continuing from v.
func (v *view) rebuild(t *testing.T, c *client.Conn, topic string, stop func(*protocol.Price, *protocol.Quote) bool) (protocol.Quote, *protocol.Price) {
	t.Helper()
	got, ops, seq := &v.got, &v.ops, &v.seq
	var last *protocol.Price
	readUntil(t, c, 10*time.Second, func(f protocol.Frame) bool {
		p, ok := f.(*protocol.Price)
		if !ok || p.Topic != topic {
			return false
		}
		if p.Type == protocol.TypeSnapshot {
			*got, *ops = p.Quote, p.Ops
		} else {
			if p.Seq != *seq+1 {
				t.Fatalf("update %d after %d on a replace topic", p.Seq, *seq)
			}
			ops.Merge(got, &p.Quote)
		}
		if *ops != 0 {
			t.Fatalf("%s: snapshot ops %v, want 0: a behaviour topic travels merged", topic, *ops)
		}
		*seq, last = p.Seq, p
		return stop(p, got)
	})
	return *got, last
}

// TestBehaviourMergedForClients: a client that knows nothing of the
// behaviour, reading slowly (so values conflate), rebuilds exactly the
// server's merged value, VWAP included, from Snapshots and Updates with
// replace semantics; the behaviour runs once per publish, not per client.
func TestBehaviourMergedForClients(t *testing.T) {
	b := &goVWAP{}
	srv, url := startServer(t, Config{Topics: behaviourRules(b)})
	var cs []*client.Conn
	for range 3 {
		c := dial(t, url)
		if err := c.Send(&protocol.Subscribe{Topics: []string{"BTC.trades"}}); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		n := 0
		for _, c := range srv.Conns() {
			n += c.Subscriptions
		}
		return n == 3
	})
	var want protocol.Quote
	const n = 3000
	for i := range n {
		q := trade(100+float64(i%97)-float64(i%13), float64(1+i%5))
		vwapMerge(&want, q)
		if err := srv.Hub().Publish("BTC.trades", q, int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.calls.Load(); got != n {
		t.Errorf("behaviour ran %d times for %d publishes to 3 clients", got, n)
	}
	for _, c := range cs {
		got, last := rebuild(t, c, "BTC.trades", func(p *protocol.Price, _ *protocol.Quote) bool { return p.Seq == n })
		if got != want {
			t.Fatalf("rebuilt %+v, want %+v", got, want)
		}
		if last.Flags&protocol.FlagBehaviourOff != 0 {
			t.Errorf("flags %v", last.Flags)
		}
	}
}

// TestBehaviourFailureDisablesOneTopic: a behaviour that fails (an error,
// then a NaN) is disabled for that topic only: its next values are flagged
// BehaviourOff, its vwap is plainly replaced by what the source publishes,
// an alert event, a metric and GET /behaviours say so; another topic with
// the same behaviour merges on. A reload enables it again from the next
// publish.
func TestBehaviourFailureDisablesOneTopic(t *testing.T) {
	for _, c := range []struct {
		name   string
		poison float64
		reason string
	}{{"error", -1, "trap"}, {"nan", -2, "bad_result"}} {
		t.Run(c.name, func(t *testing.T) {
			b := &goVWAP{}
			var reloads atomic.Int64
			srv, url := startServer(t, Config{Topics: behaviourRules(b), ReloadBehaviours: func(context.Context) error { reloads.Add(1); return nil }})
			base := baseURL(url)
			hub := srv.Hub()
			bad, good, alerts := dial(t, url), dial(t, url), dial(t, url)
			for conn, topics := range map[*client.Conn][]string{bad: {"A.trades"}, good: {"B.trades"}, alerts: {AlertsTopic}} {
				if err := conn.Send(&protocol.Subscribe{Topics: topics}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 5*time.Second, "subscriptions", func() bool {
				n := 0
				for _, c := range srv.Conns() {
					n += c.Subscriptions
				}
				return n == 3
			})
			var wantB protocol.Quote
			pub := func(topic string, q *protocol.Quote) {
				t.Helper()
				if topic == "B.trades" {
					vwapMerge(&wantB, q)
				}
				if err := hub.Publish(topic, q, time.Now().UnixNano(), 0); err != nil {
					t.Fatal(err)
				}
			}
			pub("A.trades", trade(10, 1))
			pub("B.trades", trade(10, 1))
			pub("A.trades", trade(c.poison, 1)) // disables A's behaviour
			pub("A.trades", trade(20, 3))
			pub("B.trades", trade(c.poison+100, 1))
			pub("B.trades", trade(20, 3))

			// A: flagged off; vwap as published (absent here), not merged.
			var alert BehaviourAlert
			var a view
			got, last := a.rebuild(t, bad, "A.trades", func(p *protocol.Price, q *protocol.Quote) bool { return q.V[protocol.Last] == 20 })
			if last.Flags&protocol.FlagBehaviourOff == 0 {
				t.Errorf("A.trades flags %v, want BehaviourOff", last.Flags)
			}
			if got.V[protocol.VWAP] != 10 || got.V[protocol.Volume] != 5 {
				t.Errorf("A.trades after the failure %+v: want vwap left at 10 (not merged), volume still summed to 5", got)
			}
			readUntil(t, alerts, 5*time.Second, func(f protocol.Frame) bool {
				e, ok := f.(*protocol.Event)
				if ok && e.Topic == "alerts" {
					if err := json.Unmarshal(e.Data, &alert); err != nil {
						t.Fatal(err)
					}
					return true
				}
				return false
			})
			if alert.Kind != "behaviour_disabled" || alert.Topic != "A.trades" || alert.Behaviour != "go:vwap" || alert.Reason != c.reason {
				t.Errorf("alert %+v", alert)
			}
			// B: untouched.
			gotB, lastB := rebuild(t, good, "B.trades", func(p *protocol.Price, q *protocol.Quote) bool { return q.V[protocol.Last] == 20 })
			if gotB != wantB || lastB.Flags != 0 {
				t.Errorf("B.trades %+v flags %v, want %+v", gotB, lastB.Flags, wantB)
			}
			if m := scrape(t, base); m[`tickwire_behaviour_failures_total{behaviour="go:vwap",reason="`+c.reason+`"}`] != 1 {
				t.Errorf("metric: %v", m)
			}
			if resp, err := http.Get(base + "/topics/A.trades"); err != nil {
				t.Fatal(err)
			} else {
				var v map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				if v["behaviour_off"] != true {
					t.Errorf("GET /topics/A.trades: %v, want behaviour_off", v)
				}
			}
			states := getBehaviours(t, base)
			if len(states) != 2 || states[0].Topic != "A.trades" || states[0].Enabled || states[0].Reason != c.reason || !states[1].Enabled {
				t.Errorf("GET /behaviours: %+v", states)
			}

			// Reload: enabled again, from the next publish.
			resp := postJSON(t, base+"/behaviours/reload")
			if resp.StatusCode != http.StatusOK || reloads.Load() != 1 {
				t.Fatalf("reload: HTTP %d, %d reloads", resp.StatusCode, reloads.Load())
			}
			pub("A.trades", trade(30, 5))
			got, last = a.rebuild(t, bad, "A.trades", func(p *protocol.Price, q *protocol.Quote) bool { return q.V[protocol.Last] == 30 })
			if last.Flags&protocol.FlagBehaviourOff != 0 {
				t.Errorf("after reload: flags %v", last.Flags)
			}
			// Merged again from the value as it stood: vwap 10 over volume 5, then 30 x 5.
			if want := (10.0*5 + 30*5) / 10; got.V[protocol.VWAP] != want {
				t.Errorf("after reload: vwap %v, want %v", got.V[protocol.VWAP], want)
			}
			if states := getBehaviours(t, base); !states[0].Enabled {
				t.Errorf("after reload: %+v", states)
			}
		})
	}
}

// TestBehaviourReloadRefused: without a reload configured, POST
// /behaviours/reload says so (404); a failing reload is 422 and leaves the
// disabled behaviours disabled.
func TestBehaviourReloadRefused(t *testing.T) {
	_, url := startServer(t, Config{Topics: behaviourRules(&goVWAP{})})
	if resp := postJSON(t, baseURL(url)+"/behaviours/reload"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("no reload configured: HTTP %d", resp.StatusCode)
	}
	srv, url := startServer(t, Config{Topics: behaviourRules(&goVWAP{}), ReloadBehaviours: func(context.Context) error { return errors.New("vwap.wasm: not WebAssembly") }})
	if err := srv.Hub().Publish("A.trades", trade(-1, 1), 1, 0); err != nil {
		t.Fatal(err)
	}
	resp := postJSON(t, baseURL(url)+"/behaviours/reload")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "not WebAssembly") {
		t.Errorf("failing reload: HTTP %d %s", resp.StatusCode, body)
	}
	if st := srv.Hub().Behaviours(); len(st) != 1 || st[0].Enabled {
		t.Errorf("after a failed reload: %+v", st)
	}
}

func getBehaviours(t *testing.T, base string) []BehaviourState {
	t.Helper()
	resp, err := http.Get(base + "/behaviours")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []BehaviourState
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func postJSON(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
