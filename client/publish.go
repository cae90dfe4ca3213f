package client

import (
	"fmt"

	"tickwire/protocol"
)

// Publish sends Publish and PublishEvent frames (values, events, requests on
// a request topic) as one message on the current connection. It returns
// ErrNotConnected when the link is down, and the write's error if it fails.
//
// Nothing is queued or retried: a frame is written at most once, on the
// connection current at the call, and never sent again on a later one. A
// nil error means the frames were handed to the connection, not that the
// server received them: one that fails right after may lose them. The
// server's refusals come back as ErrorEvents (code 1004 for a publish).
//
// To send an event again without risking storing it twice (after
// ErrNotConnected, a failed write, or a reconnect that may have lost it), give
// the PublishEvent an idempotency key (protocol.Event.Key, e.g. the
// publisher's id and the event's number) and resend it with the same key and
// payload: the server stores it once as long as it remembers the key (its
// idempotency window, docs/recovery.md). A server older than keys ignores
// them.
func (c *Client) Publish(frames ...protocol.Frame) error {
	for _, f := range frames {
		if t := f.FrameType(); t != protocol.TypePublish && t != protocol.TypePublishEvent {
			return fmt.Errorf("client: Publish takes Publish and PublishEvent frames, not %s", t)
		}
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return ErrNotConnected
	}
	return conn.Send(frames...)
}
