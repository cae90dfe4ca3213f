package feedserver

import (
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// The delivery paths (push, pull on the wheel's tick) against the value
// paths (built-in merge ops, behaviours, stale marks, values another node
// merged): what a client rebuilds is the server's value, whichever path.

// interplayRules: *.trades merge as trades with a VWAP behaviour, *.plain
// merge as trades with none.
func interplayRules(b Behaviour) []TopicRule {
	return append([]TopicRule{{Pattern: "*.plain", Kind: ConflatedMerge, Ops: protocol.OpsTrade}}, behaviourRules(b)...)
}

// clientView rebuilds a client's values of several topics from its frames,
// as a client without modules does: a Snapshot replaces and gives the
// topic's ops, an Update merges under them.
type clientView struct {
	c    *client.Conn
	last map[string]protocol.Price // value rebuilt, with the last frame's header
	ops  map[string]protocol.Ops
}

// newClientView dials url and subscribes to topics (pulled if
// minIntervalMs > 0). Its server needs a long IdleTimeout: a view is read
// only while a test awaits it, so it answers no heartbeat meanwhile.
func newClientView(t *testing.T, url string, minIntervalMs uint32, topics ...string) *clientView {
	t.Helper()
	c := dial(t, url)
	if err := c.Send(&protocol.Subscribe{Topics: topics, MinIntervalMs: minIntervalMs}); err != nil {
		t.Fatal(err)
	}
	return &clientView{c: c, last: make(map[string]protocol.Price), ops: make(map[string]protocol.Ops)}
}

// await reads until ok holds for topic's rebuilt value. Every frame of a
// message is taken in, those after the one that satisfied ok too.
func (v *clientView) await(t *testing.T, what, topic string, ok func(p *protocol.Price) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, have := v.last[topic]; have && ok(&p) {
			return
		}
		_ = v.c.SetReadDeadline(deadline)
		if err := v.c.Read(func(f protocol.Frame) error {
			if p, isPrice := f.(*protocol.Price); isPrice {
				v.take(t, p)
			}
			return nil
		}); err != nil {
			t.Fatalf("waiting for %s: %v (rebuilt %+v)", what, err, v.last[topic])
		}
	}
}

// take rebuilds p's topic's value with p.
func (v *clientView) take(t *testing.T, p *protocol.Price) {
	t.Helper()
	cur, have := v.last[p.Topic]
	switch {
	case p.Type == protocol.TypeSnapshot:
		cur.Quote, v.ops[p.Topic] = p.Quote, p.Ops
	case !have:
		t.Fatalf("%s: update %d before a snapshot", p.Topic, p.Seq)
	case v.ops[p.Topic] == 0 && p.Seq != cur.Seq+1:
		t.Fatalf("%s: update %d after %d on a topic travelling merged", p.Topic, p.Seq, cur.Seq)
	case p.Seq <= cur.Seq:
		t.Fatalf("%s: update %d after %d", p.Topic, p.Seq, cur.Seq)
	default:
		v.ops[p.Topic].Merge(&cur.Quote, &p.Quote)
	}
	q := cur.Quote
	cur = *p
	cur.Quote = q
	v.last[p.Topic] = cur
}

// isLatest: the rebuilt value and flags are the hub's latest.
func isLatest(h *Hub, topic string) func(p *protocol.Price) bool {
	return func(p *protocol.Price) bool {
		want, ok := h.Latest(topic)
		return ok && p.Seq == want.Seq && p.Quote == want.Quote && p.Flags == want.Flags
	}
}

// TestPulledMergedTopics: a rate-limited (pulled) client and a pushed one,
// both of a behaviour topic and of a plain merge topic, rebuild exactly
// the server's merged values (no volume lost, none merged twice); when the
// behaviour fails, both see FlagBehaviourOff with the value; a stale mark
// by Hub.MarkStale and one by the sweep reach both.
func TestPulledMergedTopics(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	b := &goVWAP{}
	srv, url := startServer(t, Config{Logger: quiet(), Topics: interplayRules(b), StaleAfter: time.Hour, IdleTimeout: time.Minute})
	h := srv.Hub()
	topics := []string{"B.trades", "P.plain"}
	pushed := newClientView(t, url, 0, topics...)
	pulled := newClientView(t, url, 20, topics...)
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		n := 0
		for _, c := range srv.Conns() {
			n += c.Subscriptions
		}
		return n == 4
	})
	views := map[string]*clientView{"pushed": pushed, "pulled": pulled}
	awaitAll := func(what string, ok func(topic string) func(*protocol.Price) bool) {
		t.Helper()
		for name, v := range views {
			for _, topic := range topics {
				v.await(t, name+" client: "+topic+" "+what, topic, ok(topic))
			}
		}
	}
	latest := func(topic string) func(*protocol.Price) bool { return isLatest(h, topic) }

	const n = 1500
	for i := range n {
		for _, topic := range topics {
			if err := h.Publish(topic, trade(100+float64(i%31), float64(1+i%3)), time.Now().UnixNano(), 0); err != nil {
				t.Fatal(err)
			}
		}
		if i%100 == 0 {
			time.Sleep(15 * time.Millisecond) // pulls fall between publishes
		}
	}
	awaitAll("merged value", latest)
	if p, _ := h.Latest("P.plain"); p.Quote.V[protocol.Volume] != float64(n/3*(1+2+3)) {
		t.Fatalf("P.plain volume %v, want %d", p.Quote.V[protocol.Volume], n/3*(1+2+3))
	}

	// The behaviour fails: its topic goes on merged by the built-in ops,
	// flagged.
	if err := h.Publish("B.trades", trade(-1, 1), time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish("B.trades", trade(50, 2), time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
	for name, v := range views {
		v.await(t, name+" client: BehaviourOff", "B.trades", func(p *protocol.Price) bool {
			return p.Flags&protocol.FlagBehaviourOff != 0 && isLatest(h, "B.trades")(p)
		})
	}

	// Marked stale by a relay (MarkStale), then fresh, then by the sweep.
	for _, topic := range topics {
		if !h.MarkStale(topic) {
			t.Fatalf("MarkStale(%s) = false", topic)
		}
	}
	stale := func(topic string) func(*protocol.Price) bool {
		return func(p *protocol.Price) bool { return p.Flags&protocol.FlagStale != 0 && isLatest(h, topic)(p) }
	}
	awaitAll("stale mark", stale)
	for _, topic := range topics {
		if err := h.Publish(topic, trade(60, 1), time.Now().UnixNano(), 0); err != nil {
			t.Fatal(err)
		}
	}
	awaitAll("fresh again", func(topic string) func(*protocol.Price) bool {
		return func(p *protocol.Price) bool { return p.Flags&protocol.FlagStale == 0 && isLatest(h, topic)(p) }
	})
	h.sweep(time.Now().Add(2 * time.Hour))
	awaitAll("swept stale", stale)
}

// TestPublishMerged: values another node merged (the cascade of a
// standby edge) replace the topic's own: no behaviour runs on them, no
// sum is added again, their flags stay theirs, and pushed and pulled
// clients rebuild them exactly, on a behaviour topic and a plain merge one.
func TestPublishMerged(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	b := &goVWAP{}
	srv, url := startServer(t, Config{Logger: quiet(), Topics: interplayRules(b), StaleAfter: time.Hour, IdleTimeout: time.Minute})
	h := srv.Hub()
	topics := []string{"B.trades", "P.plain"}
	pushed := newClientView(t, url, 0, topics...)
	pulled := newClientView(t, url, 20, topics...)
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		n := 0
		for _, c := range srv.Conns() {
			n += c.Subscriptions
		}
		return n == 4
	})
	// The other node's merged values: volume, high and low as its ops made
	// them, a VWAP its behaviour made.
	var want protocol.Quote
	const n = 500
	for i := range n {
		vwapMerge(&want, trade(100+float64(i%13), float64(1+i%4)))
		flags := protocol.Flags(0)
		if i == n-1 {
			flags = protocol.FlagBehaviourOff
		}
		for _, topic := range topics {
			q := want
			if err := h.PublishMerged(topic, &q, int64(i+1), flags); err != nil {
				t.Fatal(err)
			}
		}
		if i%100 == 0 {
			time.Sleep(15 * time.Millisecond)
		}
	}
	for _, topic := range topics {
		if p, _ := h.Latest(topic); p.Quote != want || p.Flags != protocol.FlagBehaviourOff {
			t.Fatalf("%s holds %+v flags %v, want %+v BehaviourOff", topic, p.Quote, p.Flags, want)
		}
	}
	if c := b.calls.Load(); c != 0 {
		t.Fatalf("the behaviour ran %d times on merged values", c)
	}
	for name, v := range map[string]*clientView{"pushed": pushed, "pulled": pulled} {
		for _, topic := range topics {
			v.await(t, name+" client: "+topic, topic, func(p *protocol.Price) bool {
				return p.Quote == want && p.Flags == protocol.FlagBehaviourOff
			})
		}
	}
	// A merged value's sum that would overflow is refused, as a publish's.
	var huge protocol.Quote
	huge.Put(protocol.Volume, -1.7e308)
	if err := h.PublishMerged("P.plain", &huge, n+1, 0); err != nil {
		t.Fatalf("a finite merged value refused: %v", err)
	}
	huge.Put(protocol.Volume, 1.7e308)
	if err := h.PublishMerged("P.plain", &huge, n+2, 0); err == nil {
		t.Fatal("a merged value whose difference is infinite was accepted")
	}
}

// TestPublishMergedReset: a merged value no input can reach under the
// topic's ops (another active node's, whose high is below the one held
// here, whose volume restarted) still reaches every client exactly: as a
// snapshot, never as an input a client would merge into the old value, and
// a value pending before it is not folded across it.
func TestPublishMergedReset(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	srv, url := startServer(t, Config{Logger: quiet(), Topics: interplayRules(&goVWAP{}), StaleAfter: time.Hour, IdleTimeout: time.Minute})
	h := srv.Hub()
	pushed := newClientView(t, url, 0, "P.plain", "B.trades")
	pulled := newClientView(t, url, 20, "P.plain", "B.trades")
	waitFor(t, 5*time.Second, "subscriptions", func() bool {
		n := 0
		for _, c := range srv.Conns() {
			n += c.Subscriptions
		}
		return n == 4
	})
	views := map[string]*clientView{"pushed": pushed, "pulled": pulled}
	var q protocol.Quote
	pub := func(last, volume, high, low float64) {
		t.Helper()
		q.Put(protocol.Last, last)
		q.Put(protocol.Volume, volume)
		q.Put(protocol.High, high)
		q.Put(protocol.Low, low)
		if err := h.PublishMerged("P.plain", &q, time.Now().UnixNano(), 0); err != nil {
			t.Fatal(err)
		}
	}
	pub(120, 100, 130, 90)
	for name, v := range views {
		v.await(t, name+" client: the first value", "P.plain", func(p *protocol.Price) bool { return p.Quote == q })
	}
	for round := range 20 {
		// The next active node's values: lower high, higher low, volume
		// from scratch; then it trades on, a value pending behind the
		// reset for a slow client.
		base := float64(round)
		pub(110+base, 5, 111+base, 109-base)
		pub(112+base, 7, 113+base, 108-base)
		want := q
		for name, v := range views {
			v.await(t, name+" client: the new active node's value", "P.plain", func(p *protocol.Price) bool { return p.Quote == want })
		}
		pub(120, 100, 130, 90) // and back
	}

	// A field the other node's value lacks (a behaviour topic's VWAP, the
	// new active node's behaviour off) is gone here too: no update unsets
	// a field, so clients get the snapshot.
	withVWAP := *trade(100, 1)
	withVWAP.Put(protocol.VWAP, 100)
	without := *trade(101, 2)
	for i, v := range []protocol.Quote{withVWAP, without, withVWAP, without} {
		if err := h.PublishMerged("B.trades", &v, int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
		for name, cv := range views {
			cv.await(t, name+" client: B.trades", "B.trades", func(p *protocol.Price) bool { return p.Quote == v })
		}
	}
	if p, _ := h.Latest("B.trades"); p.Quote != without {
		t.Fatalf("B.trades holds %+v, want %+v", p.Quote, without)
	}
}
