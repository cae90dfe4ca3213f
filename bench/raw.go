package bench

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// The baselines are what tickwire's server would be with no protocol, no
// topics and no conflation: the same gorilla WebSocket library, configured
// as a plain gorilla server would be. The feed reads through pooled
// buffers of its own (feedserver.Server.Listener), with gorilla's buffer at
// its minimum; the baselines keep gorilla's own 512-byte one, the feed's
// setting before that: what the feed saves in memory and reads is its own.
var rawUpgrader = websocket.Upgrader{
	ReadBufferSize:  512,
	WriteBufferSize: 16 << 10,
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

// serveEcho writes every message back: the RTT floor of a WebSocket hop.
func serveEcho(w http.ResponseWriter, r *http.Request) {
	c, err := rawUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	go func() {
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	}()
}

// rawFan copies each published message to every client through a
// per-connection writer that drains everything pending into one message:
// the batched-write ceiling on this machine.
type rawFan struct {
	mu      sync.Mutex
	clients map[*rawClient]struct{}
}

type rawClient struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	pending [][]byte
	spare   [][]byte
	wake    chan struct{}
}

func newRawFan() *rawFan { return &rawFan{clients: make(map[*rawClient]struct{})} }

func (f *rawFan) serveClient(w http.ResponseWriter, r *http.Request) {
	c, err := rawUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	rc := &rawClient{conn: c, wake: make(chan struct{}, 1)}
	f.mu.Lock()
	f.clients[rc] = struct{}{}
	f.mu.Unlock()
	go func() { // reader: only to notice the close
		defer func() {
			f.mu.Lock()
			delete(f.clients, rc)
			f.mu.Unlock()
			close(rc.wake)
			c.Close()
		}()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	go rc.write()
}

func (rc *rawClient) write() {
	for range rc.wake {
		rc.mu.Lock()
		batch := rc.pending
		rc.pending, rc.spare = rc.spare[:0], batch
		rc.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		w, err := rc.conn.NextWriter(websocket.BinaryMessage)
		if err != nil {
			return
		}
		for _, m := range batch {
			_, _ = w.Write(m)
		}
		if w.Close() != nil {
			return
		}
		clear(batch)
	}
}

// servePublisher fans out every message a publisher sends, as is.
func (f *rawFan) servePublisher(w http.ResponseWriter, r *http.Request) {
	c, err := rawUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		f.mu.Lock()
		for rc := range f.clients {
			rc.mu.Lock()
			rc.pending = append(rc.pending, msg)
			rc.mu.Unlock()
			select {
			case rc.wake <- struct{}{}:
			default:
			}
		}
		f.mu.Unlock()
	}
}
