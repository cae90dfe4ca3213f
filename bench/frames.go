package bench

import (
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// readFrames reads c's messages until the connection fails (that error is
// returned) or fn returns an error, and hands fn each frame with the time
// its message arrived. A message that does not decode is dropped from that
// frame on, or, if strict, ends the read with the error.
func readFrames(c *websocket.Conn, strict bool, fn func(f protocol.Frame, at time.Time) error) error {
	dec := protocol.NewDecoder()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return err
		}
		at := time.Now()
		dec.Reset(msg)
		for dec.More() {
			f, err := dec.Next()
			if err != nil {
				if strict {
					return fmt.Errorf("decode: %w", err)
				}
				break
			}
			if err := fn(f, at); err != nil {
				return err
			}
		}
	}
}
