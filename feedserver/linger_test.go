package feedserver

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// lingerTopics returns n topic names of the longest length, a few of them
// sequenced, each published once so that the hub holds them before any
// session does.
func lingerTopics(t *testing.T, srv *Server, n int) []string {
	t.Helper()
	topics := make([]string, n)
	for i := range topics {
		name := fmt.Sprintf("fx.linger.%04d.", i)
		if i%64 == 0 {
			name = fmt.Sprintf("alerts.linger.%04d.", i)
		}
		topics[i] = name + strings.Repeat("x", protocol.MaxTopicLen-len(name))
		if i%64 == 0 {
			if _, _, err := srv.hub.PublishEvents(topics[i], EventIn{Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		publishPrice(t, srv.hub, topics[i], 1)
	}
	return topics
}

// leaveSession connects from local IP from (127.0.0.x), subscribes to
// topics, waits for its Welcome and the first values, and disconnects,
// leaving a lingering session. It returns the session's resume token.
func leaveSession(t *testing.T, url, from string, topics []string) string {
	t.Helper()
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	frames := []protocol.Frame{&protocol.Hello{Version: protocol.Version, Client: t.Name()}}
	for i := 0; i < len(topics); i += 256 { // messages within MaxInboundMessage
		frames = append(frames, &protocol.Subscribe{Topics: topics[i:min(i+256, len(topics))]})
	}
	for _, f := range frames {
		if err := ws.WriteMessage(websocket.BinaryMessage, encodeFrames(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	dec := protocol.NewDecoder()
	var token string
	for n := 0; n < len(topics); {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				t.Fatal(err)
			}
			switch f := f.(type) {
			case *protocol.Welcome:
				token = f.ResumeToken
			case *protocol.Price, *protocol.Event:
				n++
			case *protocol.Error:
				t.Fatalf("error %d: %s", f.Code, f.Reason)
			}
		}
	}
	return token
}

// gone reports whether every connection of srv has ended and detached its
// session.
func gone(srv *Server) func() bool {
	return func() bool { return srv.Stats().Connections == 0 && srv.sessions.Stats().Attached == 0 }
}

// resumes reports whether token resumes its session: a Hello with it gets
// a Welcome that says so. The session lingers again after.
func resumes(t *testing.T, url, token string) bool {
	t.Helper()
	ws := rawWS(t, url)
	defer ws.Close()
	if err := ws.WriteMessage(websocket.BinaryMessage, encodeFrames(t, &protocol.Hello{Version: protocol.Version, Client: t.Name(), ResumeToken: token})); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	dec := protocol.NewDecoder()
	dec.Reset(msg)
	f, err := dec.Next()
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.(*protocol.Welcome)
	if !ok {
		t.Fatalf("first frame %T, want a Welcome", f)
	}
	return w.Resumed
}

// TestLingeringMemory: disconnected sessions with many topics keep only
// names and positions, and all of them together stay under
// MaxLingeringBytes: past it, the sessions of the address holding the most
// go first, not another address's.
func TestLingeringMemory(t *testing.T) {
	const ntopics, capBytes = 1024, 8 << 20
	srv, url := startServer(t, Config{SessionLinger: time.Minute, MaxLingeringBytes: capBytes, Logger: quiet()})
	topics := lingerTopics(t, srv, ntopics)
	base := liveHeap()
	// Under the cap: what one lingering session of 1,024 topics costs.
	const first = 30 // their State.Size (about 200 KiB each, names counted in full) is under the cap
	for range first {
		leaveSession(t, url, "127.0.0.1", topics)
	}
	waitFor(t, 10*time.Second, "sessions detached", gone(srv))
	if n := srv.sessions.Stats().Lingering; n != first {
		t.Fatalf("%d lingering, want %d", n, first)
	}
	held := int64(liveHeap()) - int64(base)
	// A session keeps a Subscription (64 bytes: name, interval, position,
	// seq) per topic, its name the hub topic's own string, plus the
	// session itself (under 1 KiB): 96 bytes a topic and 8 KiB a session
	// leave room for what the connections leave behind. A copy of each
	// name would cost 128 bytes a topic more.
	each := held / first
	t.Logf("base %d KiB; %d lingering sessions of %d topics hold %d KiB: %d B each", base>>10, first, ntopics, held>>10, each)
	if bound := int64(ntopics*96 + 8<<10); each > bound {
		t.Fatalf("a lingering session of %d topics holds %d B: more than %d", ntopics, each, bound)
	}
	// Another address's session, then the first address past the cap.
	victim := leaveSession(t, url, "127.0.0.2", topics[:1])
	for range first {
		leaveSession(t, url, "127.0.0.1", topics)
	}
	waitFor(t, 10*time.Second, "sessions detached", gone(srv))
	st := srv.sessions.Stats()
	held = int64(liveHeap()) - int64(base)
	t.Logf("%d lingering sessions counted %d KiB, hold %d KiB; %d evicted", st.Lingering, st.LingeringBytes>>10, held>>10, st.Evicted)
	// Each session counts for more than it holds (names in full, fixed
	// costs rounded up), so the heap stays under the cap too.
	if st.LingeringBytes > capBytes || held > capBytes {
		t.Fatalf("lingering sessions count %d B and hold %d B: over the cap of %d B", st.LingeringBytes, held, capBytes)
	}
	if st.Evicted == 0 || !resumes(t, url, victim) {
		t.Fatalf("evicted %d; the other address's session must survive", st.Evicted)
	}
}

// TestLingeringEvictsOffender: past the count of lingering sessions
// (2 x MaxConnections), one address's flood of sessions evicts its own,
// not another's.
func TestLingeringEvictsOffender(t *testing.T) {
	srv, url := startServer(t, Config{SessionLinger: time.Minute, MaxConnections: 5, Logger: quiet()})
	topics := lingerTopics(t, srv, 1)
	leave := func(from string) string {
		token := leaveSession(t, url, from, topics)
		// Under MaxConnections: the next one must not be refused.
		waitFor(t, 10*time.Second, "session detached", gone(srv))
		return token
	}
	victim := leave("127.0.0.2")
	var flood []string
	for range 30 {
		flood = append(flood, leave("127.0.0.1"))
	}
	if st := srv.sessions.Stats(); st.Lingering != 10 {
		t.Fatalf("%d lingering: want the cap, 10", st.Lingering)
	}
	if !resumes(t, url, victim) {
		t.Fatal("the other address's session was evicted by the flood")
	}
	if resumes(t, url, flood[0]) || !resumes(t, url, flood[len(flood)-1]) {
		t.Fatal("the flood's oldest session should have gone, its newest stayed")
	}
}
