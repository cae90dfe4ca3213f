package feedserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/internal/cutproxy"
	"tickwire/protocol"
	"tickwire/recovery"
)

// collector gathers a client.Client's events.
type collector struct {
	t   *testing.T
	cl  *client.Client
	evs chan client.Event
}

func runClient(t *testing.T, opts client.Options) *collector {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	}
	opts.TelemetryEvery = -1
	cl := client.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cl.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	col := &collector{t: t, cl: cl, evs: make(chan client.Event, 1<<16)}
	go func() {
		for ev := range cl.Events() {
			col.evs <- ev
		}
	}()
	return col
}

// next returns the next event that match accepts, failing after d.
func (c *collector) next(d time.Duration, what string, match func(client.Event) bool) client.Event {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-c.evs:
			if match(ev) {
				return ev
			}
		case <-timeout:
			c.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

func isState(s client.State) func(client.Event) bool {
	return func(ev client.Event) bool {
		se, ok := ev.(client.StateEvent)
		return ok && se.State == s
	}
}

func publishPrice(t *testing.T, h *Hub, topic string, bid float64) {
	t.Helper()
	var q protocol.Quote
	q.Put(protocol.Bid, bid)
	q.Put(protocol.Ask, bid+0.0001)
	if err := h.Publish(topic, &q, time.Now().UnixNano(), 0); err != nil {
		t.Fatal(err)
	}
}

func proxyFor(t *testing.T, url string) (*cutproxy.Proxy, string) {
	t.Helper()
	p, err := cutproxy.Start(strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, "ws://" + p.Addr() + "/ws"
}

// TestResumeGap: prices published while a client is away come back on
// resume as the server's latest value of every topic, each marked as a gap
// (FlagGap from the server, Gap in the client); a topic that did not change
// is flagged by the server (it cannot know what arrived) but not marked by
// the client, which holds that very value. The sequenced topic continues
// exactly.
func TestResumeGap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger time.Duration
	}{{"resumed", time.Minute}, {"linger expired", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startServer(t, Config{SessionLinger: tc.linger, Heartbeat: 200 * time.Millisecond})
			proxy, purl := proxyFor(t, url)
			h := srv.Hub()
			moving := []string{"P1", "P2", "P3", "P4", "P5"}
			topics := append(append([]string(nil), moving...), "STILL", "orders.G")
			for i, tp := range moving {
				publishPrice(t, h, tp, float64(i))
			}
			publishPrice(t, h, "STILL", 42)
			col := runClient(t, client.Options{URLs: []string{purl}, Topics: topics})
			seen := map[string]bool{}
			col.next(5*time.Second, "first values", func(ev client.Event) bool {
				if p, ok := ev.(client.PriceEvent); ok {
					seen[p.Topic] = true
				}
				return len(seen) == 6
			})
			// Cut the link and keep the client away while prices move.
			proxy.SetPaused(true)
			proxy.Cut(cutproxy.Reset)
			col.next(5*time.Second, "reconnecting", isState(client.Reconnecting))
			for round := range 3 {
				for i, tp := range moving {
					publishPrice(t, h, tp, float64(100*(round+1)+i))
				}
			}
			if _, _, err := h.PublishEvent("orders.G", []byte("while away"), 0); err != nil {
				t.Fatal(err)
			}
			proxy.SetPaused(false)
			se := col.next(5*time.Second, "connected", isState(client.Connected)).(client.StateEvent)
			if se.Resumed != (tc.linger > 0) {
				t.Fatalf("Resumed = %v with linger %v", se.Resumed, tc.linger)
			}
			first := map[string]client.PriceEvent{}
			var event client.SequencedEvent
			var trace []string
			defer func() {
				if t.Failed() {
					t.Logf("events after reconnecting: %s; stats %+v", strings.Join(trace, "; "), col.cl.Stats())
				}
			}()
			col.next(5*time.Second, "values after reconnecting", func(ev client.Event) bool {
				trace = append(trace, fmt.Sprintf("%T%+v", ev, ev))
				switch ev := ev.(type) {
				case client.PriceEvent:
					if _, ok := first[ev.Topic]; !ok {
						first[ev.Topic] = ev
					}
				case client.SequencedEvent:
					event = ev
				}
				return len(first) == 6 && event.Seq != 0
			})
			for _, tp := range moving {
				p := first[tp]
				want, _ := h.Latest(tp)
				if !p.Gap || !p.Snapshot || p.Seq != want.Seq || p.Quote != want.Quote {
					t.Errorf("%s after reconnect: gap=%v snapshot=%v seq %d %v; server's latest seq %d %v", tp, p.Gap, p.Snapshot, p.Seq, p.Quote.V[:2], want.Seq, want.Quote.V[:2])
				}
				if tc.linger > 0 && p.Flags&protocol.FlagGap == 0 {
					t.Errorf("%s: a resumed session's server did not flag the gap", tp)
				}
			}
			if p := first["STILL"]; p.Gap || p.Seq != 1 {
				t.Errorf("STILL did not change while away but is marked as a gap: %+v", p)
			}
			if event.Seq != 1 || string(event.Data) != "while away" || event.HistoryLost {
				t.Errorf("sequenced event after reconnect: %+v", event)
			}
		})
	}
}

// TestResumeServerCursor: a client that resumes without sending positions
// continues where the server's cursor was, with its subscriptions restored.
func TestResumeServerCursor(t *testing.T) {
	srv, url := startServer(t, Config{})
	h := srv.Hub()
	c1 := dial(t, url)
	if err := c1.Send(&protocol.Subscribe{Topics: []string{"orders.R"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	for i := 1; i <= 10; i++ {
		if _, _, err := h.PublishEvent("orders.R", []byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	readUntil(t, c1, 5*time.Second, func(f protocol.Frame) bool {
		e, ok := f.(*protocol.Event)
		return ok && e.Seq == 10
	})
	token := c1.Welcome.ResumeToken
	_ = c1.Close()
	waitFor(t, 5*time.Second, "disconnect", func() bool { return len(srv.Conns()) == 0 })
	for i := 11; i <= 15; i++ {
		if _, _, err := h.PublishEvent("orders.R", []byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c2, err := client.Dial(ctx, url, protocol.Hello{Client: "again", ResumeToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.Welcome.Resumed || c2.Welcome.SessionID != c1.Welcome.SessionID {
		t.Fatalf("welcome %+v, want the session %s resumed", c2.Welcome, c1.Welcome.SessionID)
	}
	var next uint64 = 11
	readUntil(t, c2, 5*time.Second, func(f protocol.Frame) bool {
		if e, ok := f.(*protocol.Event); ok {
			if e.Seq != next || e.Data[0] != byte(next) {
				t.Fatalf("event %d after resume, want %d", e.Seq, next)
			}
			next++
		}
		return next == 16
	})
}

// TestSessionTakeover: a resume of a session whose connection is still up
// (the server has not noticed it died) moves the session: the old connection
// is told why and closed, the new one continues from the position it sends.
func TestSessionTakeover(t *testing.T) {
	srv, url := startServer(t, Config{})
	h := srv.Hub()
	old := dial(t, url)
	if err := old.Send(&protocol.Subscribe{Topics: []string{"orders.T", "EURUSD"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 2))
	for i := 1; i <= 5; i++ {
		_, _, _ = h.PublishEvent("orders.T", []byte{byte(i)}, 0)
	}
	publishPrice(t, h, "EURUSD", 1.1)
	epoch, _, _ := h.PublishEvent("orders.T", []byte{6}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nw, err := client.Dial(ctx, url, protocol.Hello{Client: "new", ResumeToken: old.Welcome.ResumeToken},
		&protocol.Subscribe{Topics: []string{"orders.T"}, Positions: []protocol.StreamPosition{{Topic: "orders.T", Seq: 3, Epoch: epoch}}})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	if !nw.Welcome.Resumed {
		t.Fatal("not resumed")
	}
	var moved *protocol.Error
	readUntil(t, old, 5*time.Second, func(f protocol.Frame) bool {
		moved, _ = f.(*protocol.Error)
		return moved != nil && moved.Code.Fatal()
	})
	if moved.Code != protocol.CodeSessionMoved {
		t.Fatalf("old connection got %v, want CodeSessionMoved", moved)
	}
	var next uint64 = 4
	gotPrice := false
	readUntil(t, nw, 5*time.Second, func(f protocol.Frame) bool {
		switch f := f.(type) {
		case *protocol.Event:
			if f.Seq != next {
				t.Fatalf("event %d, want %d", f.Seq, next)
			}
			next++
		case *protocol.Price:
			gotPrice = f.Topic == "EURUSD" // restored from the session, not resubscribed
		}
		return next == 7 && gotPrice
	})
}

// TestBadResume: forged or damaged tokens and impossible positions get a
// clear error, and nobody's session is harmed: the victim keeps its
// connection, its stream and its ability to resume.
func TestBadResume(t *testing.T) {
	srv, url := startServer(t, Config{})
	h := srv.Hub()
	proxy, purl := proxyFor(t, url)
	victim := runClient(t, client.Options{URLs: []string{purl}, Topics: []string{"orders.V"}})
	vs := victim.next(5*time.Second, "victim connected", isState(client.Connected)).(client.StateEvent)
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	var epoch string
	for i := 1; i <= 5; i++ {
		epoch, _, _ = h.PublishEvent("orders.V", []byte{byte(i)}, 0)
	}
	expectSeq := func(from, to uint64) {
		t.Helper()
		next := from
		victim.next(5*time.Second, fmt.Sprintf("victim's events %d..%d", from, to), func(ev client.Event) bool {
			switch ev := ev.(type) {
			case client.SequencedEvent:
				if ev.Seq != next || ev.HistoryLost {
					t.Fatalf("victim got event %d (lost=%v), want %d", ev.Seq, ev.HistoryLost, next)
				}
				next++
			case client.StateEvent:
				t.Fatalf("victim's connection changed state: %+v", ev)
			}
			return next > to
		})
	}
	expectSeq(1, 5)
	// The victim's token is not ours to know; the attacker knows its session
	// id (it is in logs) and forges a token around it.
	parts := strings.Split(forgeToken(t, srv, vs.SessionID), ".")
	forged := []string{
		strings.Join(parts, "."), // right id, wrong MAC
		"tw1.00000000." + vs.SessionID + ".AAAA",
		"garbage",
		strings.Repeat("x", protocol.MaxStringLen),
	}
	for _, tok := range forged {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := client.Dial(ctx, url, protocol.Hello{Client: "attacker", ResumeToken: tok}, &protocol.Subscribe{Topics: []string{"orders.V"}})
		cancel()
		if err != nil {
			t.Fatalf("dial with forged token: %v", err)
		}
		if c.Welcome.Resumed || c.Welcome.SessionID == vs.SessionID {
			t.Fatalf("forged token %q resumed %+v", tok, c.Welcome)
		}
		// The refusal comes right after the Welcome, before the events of the
		// attacker's own subscription; a token of another server's key is
		// not refused, just not resumed.
		var refusal *protocol.Error
		readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
			switch f := f.(type) {
			case *protocol.Error:
				refusal = f
				return true
			case *protocol.Event:
				return true
			}
			return false
		})
		foreign := strings.HasPrefix(tok, "tw1.00000000.")
		if foreign != (refusal == nil) || (refusal != nil && refusal.Code != protocol.CodeBadResume) {
			t.Errorf("token %.30q: got %v, want CodeBadResume unless foreign (%v)", tok, refusal, foreign)
		}
		_ = c.Close()
	}

	// Impossible positions: an error naming the topic, then a history-lost
	// marker, then the stream from there.
	raw := dial(t, url)
	if err := raw.Send(&protocol.Subscribe{Topics: []string{"orders.V", "EURUSD"}, Positions: []protocol.StreamPosition{
		{Topic: "orders.V", Seq: 1_000_000, Epoch: epoch},
		{Topic: "EURUSD", Seq: 3, Epoch: "x"},
	}}); err != nil {
		t.Fatal(err)
	}
	var errs []*protocol.Error
	var marker *protocol.Event
	var next uint64 = 1
	readUntil(t, raw, 5*time.Second, func(f protocol.Frame) bool {
		switch f := f.(type) {
		case *protocol.Error:
			errs = append(errs, f)
		case *protocol.Event:
			if marker == nil {
				marker = f
				return false
			}
			if f.Seq != next {
				t.Fatalf("after the marker: event %d, want %d", f.Seq, next)
			}
			next++
		}
		return next > 5
	})
	if len(errs) != 2 || errs[0].Code != protocol.CodeBadPosition || errs[0].Topic != "EURUSD" ||
		errs[1].Code != protocol.CodeBadPosition || errs[1].Topic != "orders.V" || !strings.Contains(errs[1].Reason, "impossible") {
		t.Fatalf("errors %v, want CodeBadPosition for EURUSD (conflated) and orders.V (ahead)", errs)
	}
	if marker.Flags != protocol.EventHistoryLost || marker.Seq != 0 || marker.Epoch != epoch {
		t.Fatalf("marker %+v, want history lost at 0 in %s", marker, epoch)
	}
	// A seq without an epoch, and another epoch.
	for _, p := range []protocol.StreamPosition{{Topic: "orders.V", Seq: 3}, {Topic: "orders.V", Seq: 3, Epoch: "0123456789abcdef"}} {
		c := dial(t, url)
		if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.V"}, Positions: []protocol.StreamPosition{p}}); err != nil {
			t.Fatal(err)
		}
		var gotErr *protocol.Error
		readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
			switch f := f.(type) {
			case *protocol.Error:
				gotErr = f
			case *protocol.Event:
				if f.Flags&protocol.EventHistoryLost == 0 {
					t.Fatalf("position %+v: event %d without a history-lost marker first", p, f.Seq)
				}
				return true
			}
			return false
		})
		if (p.Epoch == "") != (gotErr != nil && gotErr.Code == protocol.CodeBadPosition) {
			t.Errorf("position %+v: error %v", p, gotErr)
		}
	}

	// The victim saw nothing of this, and still resumes.
	for i := 6; i <= 8; i++ {
		_, _, _ = h.PublishEvent("orders.V", []byte{byte(i)}, 0)
	}
	expectSeq(6, 8)
	proxy.Cut(cutproxy.Reset)
	victim.next(5*time.Second, "victim reconnecting", isState(client.Reconnecting))
	se := victim.next(5*time.Second, "victim connected", isState(client.Connected)).(client.StateEvent)
	if !se.Resumed || se.SessionID != vs.SessionID {
		t.Fatalf("victim after reconnect: %+v, want its session %s resumed", se, vs.SessionID)
	}
	_, _, _ = h.PublishEvent("orders.V", []byte{9}, 0)
	expectSeq(9, 9)
}

// forgeToken returns a token for session id with a wrong signature: the
// right format and key id, as an attacker who saw another token would build.
func forgeToken(t *testing.T, srv *Server, id string) string {
	t.Helper()
	real := srv.sessions.Create(nopOwner{}, "").Token // a genuine token, for the format and key id
	parts := strings.Split(real, ".")
	parts[2] = id
	return strings.Join(parts, ".")
}

type nopOwner struct{}

func (nopOwner) Kick() {}

// snapshotter is a StateSnapshotter for tests: the state is the number of
// events so far, at the journal's head.
type snapshotter struct{ j recovery.Journal }

func (s snapshotter) SnapshotState(_ context.Context, topic string) (StateSnapshot, error) {
	head, err := s.j.Head(topic)
	if err != nil {
		return StateSnapshot{}, err
	}
	if head.Seq == 0 {
		return StateSnapshot{}, ErrNoState
	}
	return StateSnapshot{Position: head, Data: []byte(fmt.Sprintf("state after %d", head.Seq))}, nil
}

// TestHistoryLost: a position older than the journal's retention gets a
// history-lost marker and, with a snapshotter, the topic's state as of the
// marker; the stream continues after it. Without one, every retained event
// follows the marker.
func TestHistoryLost(t *testing.T) {
	for _, withState := range []bool{true, false} {
		t.Run(fmt.Sprintf("snapshot=%v", withState), func(t *testing.T) {
			j := recovery.NewMem()
			defer j.Close()
			cfg := Config{Journal: j, Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 16}}}
			if withState {
				cfg.Snapshotter = snapshotter{j}
			}
			srv, url := startServer(t, cfg)
			h := srv.Hub()
			var epoch string
			for i := 1; i <= 100; i++ {
				epoch, _, _ = h.PublishEvent("orders.H", []byte{byte(i)}, 0)
			}
			if err := j.Trim(context.Background(), "orders.H", 60); err != nil {
				t.Fatal(err)
			}
			col := runClient(t, client.Options{URLs: []string{url}, Topics: []string{"orders.H"},
				Positions: []protocol.StreamPosition{{Topic: "orders.H", Seq: 10, Epoch: epoch}}})
			ev := col.next(5*time.Second, "marker", func(ev client.Event) bool { _, ok := ev.(client.SequencedEvent); return ok }).(client.SequencedEvent)
			wantSeq := uint64(60)
			if withState {
				wantSeq = 100
				if !ev.Snapshot || string(ev.Data) != "state after 100" {
					t.Fatalf("marker %+v, want the state after 100", ev)
				}
			}
			if !ev.HistoryLost || ev.Seq != wantSeq || ev.Epoch != epoch {
				t.Fatalf("marker %+v, want history lost at %d", ev, wantSeq)
			}
			_, _, _ = h.PublishEvent("orders.H", []byte{101}, 0)
			next := wantSeq + 1
			col.next(5*time.Second, "events after the marker", func(ev client.Event) bool {
				if e, ok := ev.(client.SequencedEvent); ok {
					if e.Seq != next || e.HistoryLost || e.Data[0] != byte(next) {
						t.Fatalf("event %+v, want %d", e, next)
					}
					next++
				}
				return next == 102
			})
		})
	}
}

// TestHTTPFallback: behind a proxy that refuses WebSocket upgrades the
// client streams over HTTP: prices, events, resume after a cut.
func TestHTTPFallback(t *testing.T) {
	srv, url := startServer(t, Config{Heartbeat: 200 * time.Millisecond})
	h := srv.Hub()
	proxy, purl := proxyFor(t, url)
	proxy.SetRefuseUpgrade(true)
	publishPrice(t, h, "EURUSD", 1.25)
	col := runClient(t, client.Options{URLs: []string{purl}, Topics: []string{"EURUSD", "orders.F"}})
	se := col.next(5*time.Second, "connected", isState(client.Connected)).(client.StateEvent)
	if se.Transport != client.TransportHTTP {
		t.Fatalf("transport %q, want http", se.Transport)
	}
	if _, _, refused := proxy.Stats(); refused == 0 {
		t.Fatal("the proxy refused no upgrade: the test did not test the fallback")
	}
	col.next(5*time.Second, "price", func(ev client.Event) bool {
		p, ok := ev.(client.PriceEvent)
		return ok && p.Quote.V[protocol.Bid] == 1.25
	})
	waitFor(t, 5*time.Second, "subscriptions", subscribed(srv, 2))
	for i := 1; i <= 500; i++ {
		_, _, _ = h.PublishEvent("orders.F", []byte(fmt.Sprint(i)), 0)
	}
	var next uint64 = 1
	cut := false
	col.next(10*time.Second, "events over HTTP", func(ev client.Event) bool {
		switch ev := ev.(type) {
		case client.SequencedEvent:
			if ev.Seq != next || string(ev.Data) != fmt.Sprint(next) {
				t.Fatalf("event %d %q, want %d", ev.Seq, ev.Data, next)
			}
			next++
			if next == 200 && !cut {
				cut = true
				proxy.Cut(cutproxy.Reset)
			}
		case client.StateEvent:
			if ev.State == client.Connected && (!ev.Resumed || ev.Transport != client.TransportHTTP) {
				t.Fatalf("reconnected %+v, want resumed over http", ev)
			}
		}
		return next == 501
	})
	// RTT is measured over HTTP too.
	col.next(5*time.Second, "rtt", func(ev client.Event) bool { _, ok := ev.(client.RTTEvent); return ok })
	if st := col.cl.Stats(); st.HTTP < 2 || st.Resumes < 1 {
		t.Fatalf("client stats %+v", st)
	}
}

// TestHTTPStreamBadInput: the HTTP stream refuses what it cannot use.
func TestHTTPStreamBadInput(t *testing.T) {
	_, url := startServer(t, Config{})
	base := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1)
	resp, err := httpPost(base+"/stream/0123", []byte{0, 0, 0, 1, 0x90})
	if err != nil || resp != 404 {
		t.Fatalf("POST to an unknown stream: %d %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base+"/stream", protocol.Hello{Client: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendRaw([]byte{0x91, 0x63}); err != nil { // a frame of unknown type
		t.Fatal(err)
	}
	var e *protocol.Error
	readUntil(t, c, 5*time.Second, func(f protocol.Frame) bool {
		e, _ = f.(*protocol.Error)
		return e != nil
	})
	if e.Code != protocol.CodeBadFrame {
		t.Fatalf("got %v", e)
	}
}

func httpPost(url string, body []byte) (int, error) {
	resp, err := http.Post(url, "application/x-tickwire-stream", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestResumeAheadOfClient: a session's cursor is where the server wrote, not
// where the client is: events written just before a link died may never have
// arrived. A client that resumes listing a topic it has received nothing of
// (no position) starts it from the beginning, not from the server's cursor.
func TestResumeAheadOfClient(t *testing.T) {
	srv, url := startServer(t, Config{})
	h := srv.Hub()
	first := dial(t, url)
	if err := first.Send(&protocol.Subscribe{Topics: []string{"orders.Z"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(srv, 1))
	for i := 1; i <= 5; i++ {
		_, _, _ = h.PublishEvent("orders.Z", []byte{byte(i)}, 0)
	}
	waitFor(t, 5*time.Second, "events written", func() bool {
		cs := srv.Conns()
		return len(cs) == 1 && cs[0].SentFrames >= 6 // Welcome + 5 events; never read by this client
	})
	token := first.Welcome.ResumeToken
	_ = first.Close()
	waitFor(t, 5*time.Second, "disconnect", func() bool { return len(srv.Conns()) == 0 })
	col := runClient(t, client.Options{URLs: []string{url}, Topics: []string{"orders.Z"}, ResumeToken: token})
	if se := col.next(5*time.Second, "connected", isState(client.Connected)).(client.StateEvent); !se.Resumed {
		t.Fatalf("not resumed: %+v", se)
	}
	_, _, _ = h.PublishEvent("orders.Z", []byte{6}, 0)
	var next uint64 = 1
	col.next(5*time.Second, "events 1..6", func(ev client.Event) bool {
		if e, ok := ev.(client.SequencedEvent); ok {
			if e.Seq != next || e.Data[0] != byte(next) || e.HistoryLost {
				t.Fatalf("event %+v, want %d", e, next)
			}
			next++
		}
		return next == 7
	})
	if st := col.cl.Stats(); st.Gaps != 0 || st.Duplicates != 0 {
		t.Errorf("stats %+v: the server sent a gap or duplicates", st)
	}
}
