package bench

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// rawMsg is the message-style ramp's baseline (`bench serve --mode
// rawmsg`): a plain gorilla WebSocket server that speaks just enough of the
// protocol for the ramp's publisher and clients, and writes every published
// message to every subscriber with one WebSocket message, one write system
// call, per message. It is written the way a competent server without
// tickwire's machinery would be: each publish is encoded once and the same
// bytes are handed to every subscriber; each connection has a writer
// goroutine fed by a buffered channel, so a slow client delays no other (a
// client whose channel is full is dropped); gorilla's WriteMessage copies
// the frame into the connection's write buffer (from a pool) and writes it.
// No sequence store, no conflation, no write deadlines, no heartbeats.
type rawMsg struct {
	mu     sync.Mutex
	topics map[string]map[*rawMsgClient]struct{}
	seq    map[string]uint64
	enc    *protocol.Encoder // guarded by mu

	sent, offered atomic.Uint64
}

// rawMsgClient is one connection of the rawmsg server.
type rawMsgClient struct {
	conn   *websocket.Conn
	out    chan []byte // guarded by rawMsg.mu for sends and the close
	closed bool        // out is closed; guarded by rawMsg.mu
	topics []string    // guarded by rawMsg.mu
}

// rawMsgBacklog is how many messages a rawmsg client may have waiting
// before it is dropped as a slow consumer.
const rawMsgBacklog = 256

func newRawMsg() *rawMsg {
	return &rawMsg{topics: make(map[string]map[*rawMsgClient]struct{}), seq: make(map[string]uint64), enc: protocol.NewEncoder()}
}

// serveStats is the part of the feed server's /stats the ramp reads.
func (s *rawMsg) serveStats(w http.ResponseWriter, _ *http.Request) {
	_ = json.NewEncoder(w).Encode(feedStats{SentFrames: s.sent.Load(), Enqueued: s.offered.Load()})
}

// serve runs one connection: its reader here, its writer on a goroutine
// started with it.
func (s *rawMsg) serve(w http.ResponseWriter, r *http.Request) {
	c, err := rawUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	rc := &rawMsgClient{conn: c, out: make(chan []byte, rawMsgBacklog)}
	go s.write(rc)
	defer s.drop(rc)
	_ = readFrames(c, true, func(f protocol.Frame, _ time.Time) error {
		switch f := f.(type) {
		case *protocol.Subscribe:
			s.subscribe(rc, f.Topics)
		case *protocol.Event:
			if f.Type == protocol.TypePublishEvent {
				s.publish(f)
			}
		}
		return nil
	})
}

func (s *rawMsg) subscribe(rc *rawMsgClient, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc.closed {
		return
	}
	for _, t := range topics {
		m := s.topics[t]
		if m == nil {
			m = make(map[*rawMsgClient]struct{})
			s.topics[t] = m
		}
		if _, ok := m[rc]; !ok {
			m[rc] = struct{}{}
			rc.topics = append(rc.topics, t)
		}
	}
}

// publish encodes the event once, as the topic's next, and queues the same
// bytes to every subscriber.
func (s *rawMsg) publish(ev *protocol.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq[ev.Topic]++
	frame, err := s.enc.AppendEvent(nil, &protocol.Event{Type: protocol.TypeEvent, Topic: ev.Topic, Seq: s.seq[ev.Topic], Time: ev.Time, Data: ev.Data})
	if err != nil {
		return // a valid frame type: cannot happen
	}
	for rc := range s.topics[ev.Topic] {
		select {
		case rc.out <- frame:
			s.offered.Add(1)
		default: // a slow consumer: dropped
			s.dropLocked(rc)
			_ = rc.conn.Close()
		}
	}
}

// write is the connection's writer: one WebSocket message, one write,
// per queued message.
func (s *rawMsg) write(rc *rawMsgClient) {
	for m := range rc.out {
		if err := rc.conn.WriteMessage(websocket.BinaryMessage, m); err != nil {
			_ = rc.conn.Close() // the reader ends and drops rc
			for range rc.out {
			}
			return
		}
		s.sent.Add(1)
	}
}

func (s *rawMsg) drop(rc *rawMsgClient) {
	s.mu.Lock()
	s.dropLocked(rc)
	s.mu.Unlock()
	_ = rc.conn.Close()
}

// dropLocked unsubscribes rc and ends its writer. Caller holds s.mu.
func (s *rawMsg) dropLocked(rc *rawMsgClient) {
	if rc.closed {
		return
	}
	rc.closed = true
	for _, t := range rc.topics {
		delete(s.topics[t], rc)
	}
	close(rc.out)
}
