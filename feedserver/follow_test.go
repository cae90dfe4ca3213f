package feedserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/recovery"
	"tickwire/sessions"
)

// TestFollowJournal: a standby (B) following the journal the active node (A)
// writes streams A's events to a real WebSocket client in order, exactly
// once, for a stream that existed before it followed and one created after;
// it refuses sequenced publishes and requests, naming the active node.
func TestFollowJournal(t *testing.T) {
	t.Run("mem", func(t *testing.T) { testFollowJournal(t, recovery.NewMem()) })
	t.Run("bolt", func(t *testing.T) {
		j, err := recovery.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), recovery.BoltOptions{Sync: recovery.SyncNone})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Close() }) // after the servers' (cleanups run last first)
		testFollowJournal(t, j)
	})
}

func testFollowJournal(t *testing.T, j recovery.Journal) {
	a, _ := startServer(t, Config{Journal: j})
	// A history from before B follows.
	for i := range 50 {
		if _, _, err := a.Hub().PublishEvent("orders.OLD", []byte(fmt.Sprintf("old-%d", i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Raw connections answer no pings: a long heartbeat, so a connection
	// waiting its turn to be read is not closed as idle.
	b, burl := startServer(t, Config{Journal: j, Heartbeat: 10 * time.Second, Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 64}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.FollowJournal(ctx); err != nil {
		t.Fatal(err)
	}
	b.SetActiveAddr("ws://192.0.2.1:8080/ws")
	if !b.Following() {
		t.Fatal("Following() = false after FollowJournal")
	}

	old, fresh := dial(t, burl), dial(t, burl)
	if err := old.Send(&protocol.Subscribe{Topics: []string{"orders.OLD"}}); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Send(&protocol.Subscribe{Topics: []string{"orders.NEW"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscriptions on B", func() bool {
		cs := b.Conns()
		return len(cs) == 2 && cs[0].Subscriptions == 1 && cs[1].Subscriptions == 1
	})

	// Racing publishers on A, on both streams: the new one is created now.
	const pubs, each = 4, 150
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				for _, topic := range []string{"orders.OLD", "orders.NEW"} {
					evs := []EventIn{{Data: []byte(fmt.Sprintf("%s-%d-%d", topic, p, i))}}
					if i%4 == 0 {
						evs = append(evs, EventIn{Data: []byte(fmt.Sprintf("%s-%d-%d-b", topic, p, i))})
					}
					if _, _, err := a.Hub().PublishEvents(topic, evs...); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	n := pubs * (each + (each+3)/4)
	if got := readEvents(t, old, 50+n, false); len(got) != 50+n {
		t.Fatalf("orders.OLD on B: %d distinct events, want %d", len(got), 50+n)
	}
	if got := readEvents(t, fresh, n, true); len(got) != n {
		t.Fatalf("orders.NEW on B: %d distinct events, want %d", len(got), n)
	}
	// Same positions on both nodes.
	ta, tb := topicInfo(a, "orders.NEW"), topicInfo(b, "orders.NEW")
	if ta.Seq != tb.Seq || ta.Epoch != tb.Epoch || tb.Seq != uint64(n) {
		t.Fatalf("orders.NEW: A at %d@%s, B at %d@%s, want both at %d", ta.Seq, ta.Epoch, tb.Seq, tb.Epoch, n)
	}

	// Publishes and requests are refused on the standby.
	if _, _, err := b.Hub().PublishEvent("orders.OLD", []byte("x"), 0); !errors.Is(err, ErrStandby) {
		t.Fatalf("PublishEvent on a standby: %v, want ErrStandby", err)
	}
	req := dial(t, burl)
	if err := req.Send(&protocol.Event{Type: protocol.TypePublishEvent, Topic: "requests.orders", Data: []byte{0x80}}); err != nil {
		t.Fatal(err)
	}
	var refusal *protocol.Error
	readUntil(t, req, 5*time.Second, func(f protocol.Frame) bool {
		refusal, _ = f.(*protocol.Error)
		return refusal != nil
	})
	if refusal.Code != protocol.CodeBadPublish || refusal.Topic != "requests.orders" || !strings.Contains(refusal.Reason, "standby") || !strings.Contains(refusal.Reason, "ws://192.0.2.1:8080/ws") {
		t.Fatalf("request on a standby: %+v, want 1004 on requests.orders naming the active node", refusal)
	}
}

func topicInfo(s *Server, name string) TopicInfo {
	for _, ti := range s.Hub().Topics() {
		if ti.Name == name {
			return ti
		}
	}
	return TopicInfo{}
}

// TestFollowFailover: a client of the active node A moves to the standby B
// when A goes; it resumes from its positions (its resume token verifies on B,
// which has the same session secret) and gets every event once, in order:
// those A had, those B followed, and those B publishes once it becomes
// active, whose window continues the followed one without a gap.
func TestFollowFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds: a server's shutdown and a client's reconnect")
	}
	j := recovery.NewMem()
	secret := sessions.NewSecret()
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, stopA := serveOn(t, Config{Journal: j, SessionSecret: secret, Name: "A", DrainTimeout: time.Second}, lnA)
	b, burl := startServer(t, Config{Journal: j, SessionSecret: secret, Name: "B", Topics: []TopicRule{{Pattern: "orders.*", Kind: Sequenced, Window: 512}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.FollowJournal(ctx); err != nil {
		t.Fatal(err)
	}
	const topic = "orders.M"
	publish := func(s *Server, from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, _, err := s.Hub().PublishEvent(topic, []byte(fmt.Sprintf("e%d", i)), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(a, 1, 20)
	col := runClient(t, client.Options{URLs: []string{"ws://" + lnA.Addr().String() + "/ws", burl}, Topics: []string{topic}})
	var next uint64 = 1
	expect := func(upto uint64) {
		t.Helper()
		for next <= upto {
			ev := col.next(10*time.Second, fmt.Sprintf("event %d", next), func(ev client.Event) bool {
				switch ev := ev.(type) {
				case client.SequencedEvent:
					return true
				case client.ErrorEvent:
					if ev.Err.Code != protocol.CodeShutdown { // A going away says so
						t.Errorf("error from the server: %v", ev.Err)
					}
				}
				return false
			}).(client.SequencedEvent)
			if ev.Seq != next || string(ev.Data) != fmt.Sprintf("e%d", next) || ev.HistoryLost {
				t.Fatalf("got event %d %q (history lost %v), want %d", ev.Seq, ev.Data, ev.HistoryLost, next)
			}
			next++
		}
	}
	expect(20)
	publish(a, 21, 150) // in flight, or not yet sent, when A goes
	stopA()
	_ = a
	// The client fails over to B and continues; B then becomes active.
	expect(100)
	if err := b.StopFollowing(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Following() {
		t.Fatal("still following after StopFollowing")
	}
	publish(b, 151, 200)
	expect(200)
	st := col.cl.Stats()
	if st.Duplicates != 0 || st.Gaps != 0 || st.HistoryLost != 0 || st.Connects < 2 {
		t.Fatalf("client stats %+v: want 2+ connects, no duplicate, gap or history lost", st)
	}
	// The token verified on B (same secret): a new session there (B never
	// had the session), not a refused token.
	if ss := b.sessions.Stats(); ss.Refused != 0 {
		t.Fatalf("B refused %d resume tokens, want 0 (same session secret)", ss.Refused)
	}
	// B's window continued the followed one: cached, no gap waiting to fill.
	s := b.hub.shard(topic)
	s.mu.RLock()
	r := s.topics[topic].events
	s.mu.RUnlock()
	if r.head != 200 || len(r.early) != 0 || r.lo > 151 {
		t.Fatalf("B's window: head %d, lo %d, %d early; want head 200, lo <= 151, none early", r.head, r.lo, len(r.early))
	}
}

// TestStopFollowingCatchesUp: entries committed just before the switch to
// active, which no follower has applied yet, are fed into the window before
// publishes are accepted, so the first publish continues it.
func TestStopFollowingCatchesUp(t *testing.T) {
	j := recovery.NewMem()
	b, _ := startServer(t, Config{Journal: j})
	ctx := context.Background()
	if err := b.FollowJournal(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := j.Append(ctx, "orders.Z", recovery.Record{Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.StopFollowing(ctx); err != nil {
		t.Fatal(err)
	}
	_, seq, err := b.Hub().PublishEvent("orders.Z", []byte("4"), 0)
	if err != nil || seq != 4 {
		t.Fatalf("publish after the switch: seq %d, %v; want 4", seq, err)
	}
	s := b.hub.shard("orders.Z")
	s.mu.RLock()
	r := s.topics["orders.Z"].events
	s.mu.RUnlock()
	if r.head != 4 || len(r.early) != 0 {
		t.Fatalf("window head %d with %d early, want 4 and none", r.head, len(r.early))
	}
}

// TestResumeTokenAcrossNodes: a resume token verifies on every node with the
// same session secret (ErrUnknownSession there: the client continues from
// its positions) and is told apart from a forgery on a node with another.
func TestResumeTokenAcrossNodes(t *testing.T) {
	secret := sessions.NewSecret()
	mk := func(secret []byte) *sessions.Store {
		s, err := sessions.NewStore(sessions.Config{Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	a, b, other := mk(secret), mk(secret), mk(sessions.NewSecret())
	tok := a.Create(nopOwner{}, "alice").Token
	if _, _, err := b.Resume(context.Background(), tok, "alice", nopOwner{}); !errors.Is(err, sessions.ErrUnknownSession) {
		t.Fatalf("token on a node with the same secret: %v, want ErrUnknownSession", err)
	}
	if _, _, err := other.Resume(context.Background(), tok, "alice", nopOwner{}); !errors.Is(err, sessions.ErrForeignToken) {
		t.Fatalf("token on a node with another secret: %v, want ErrForeignToken", err)
	}
}

// TestFollowJournalRestart: followers whose context ended start again on
// the next FollowJournal, from their windows' heads.
func TestFollowJournalRestart(t *testing.T) {
	j := recovery.NewMem()
	b, burl := startServer(t, Config{Journal: j, Heartbeat: 10 * time.Second})
	first, cancelFirst := context.WithCancel(context.Background())
	if err := b.FollowJournal(first); err != nil {
		t.Fatal(err)
	}
	c := dial(t, burl)
	if err := c.Send(&protocol.Subscribe{Topics: []string{"orders.R"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", subscribed(b, 1))
	ctx := context.Background()
	if _, err := j.Append(ctx, "orders.R", recovery.Record{Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	readEvents(t, c, 1, false)
	cancelFirst()
	if err := b.FollowJournal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(ctx, "orders.R", recovery.Record{Data: []byte("2")}, recovery.Record{Data: []byte("3")}); err != nil {
		t.Fatal(err)
	}
	// readEvents counts from 1: the client has event 1 already, so read
	// the two new ones by hand.
	want := uint64(2)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for want <= 3 {
		if err := c.Read(func(f protocol.Frame) error {
			if e, ok := f.(*protocol.Event); ok {
				if e.Seq != want {
					return fmt.Errorf("event %d, want %d", e.Seq, want)
				}
				want++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.StopFollowing(ctx); err != nil {
		t.Fatal(err)
	}
}
