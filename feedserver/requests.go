package feedserver

import (
	"context"
	"time"
	"unicode/utf8"

	"tickwire/auth"
	"tickwire/protocol"
)

// Request topics (Config.Requests): a PublishEvent frame on one of them is
// not an event of the topic but a request to the application behind it
// (e.g. the order gateway on "requests.orders"). Its payload goes to the
// topic's RequestHandler, on the client's reader goroutine, which waits
// for the handler: requests of one connection are handled one at a time,
// in order, and frames after a request are read once it is answered.
// Nothing is appended to the topic, so there is nothing to subscribe to.
//
// A handler's error is the client's answer: an Error frame, code 1004
// (CodeBadPublish), the error's text as the reason (at most
// maxRequestReason bytes) and the request topic as the topic. A request
// that succeeds gets no frame: its effects are the application's to
// publish (the gateway's order events).

// RequestHandler handles one request published on a request topic. data is
// the event's payload, valid only during the call. ctx ends after
// requestTimeout; a handler that cannot answer by then should say so.
type RequestHandler func(ctx context.Context, from ConnInfo, topic string, data []byte) error

// ConnInfo names the connection a request came on and who sent it. The
// handler decides what Principal may ask (e.g. Principal.AuthorizeOrder).
type ConnInfo struct {
	ID      string // the connection, as in logs and GET /clients
	Remote  string // the peer's address
	Session string // the session id of the Welcome
	// Principal is the authenticated client (auth.Anonymous(), an admin,
	// in open mode). Never nil.
	Principal *auth.Principal
}

// requestTimeout bounds a request handler's context.
const requestTimeout = 5 * time.Second

// maxRequestReason bounds the reason of a refusal's Error frame.
const maxRequestReason = 1024

// handleRequest hands f to its topic's request handler and reports true,
// or reports false when f's topic is not a request topic. Reader goroutine.
func (c *Conn) handleRequest(f *protocol.Event) bool {
	h := c.srv.cfg.Requests[f.Topic]
	if c.srv.Following() && c.srv.isRequestTopic(f.Topic) {
		c.flushEvents()
		if err := c.forwardRequest(f); err != nil { // a standby: follow.go
			c.sendError(protocol.CodeBadPublish, truncateReason(err.Error()), f.Topic)
		}
		return true
	}
	if h == nil {
		return false
	}
	c.flushEvents() // events published before the request take effect first
	from := ConnInfo{ID: c.id, Remote: c.addr, Principal: c.principalOf()}
	if c.sess != nil {
		from.Session = c.sess.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	err := h(ctx, from, f.Topic, f.Data)
	cancel()
	if err != nil {
		c.sendError(protocol.CodeBadPublish, truncateReason(err.Error()), f.Topic)
	}
	return true
}

// truncateReason cuts s to maxRequestReason bytes, on a rune boundary.
func truncateReason(s string) string {
	if len(s) <= maxRequestReason {
		return s
	}
	i := maxRequestReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
