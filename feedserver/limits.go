package feedserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"tickwire/protocol"
)

// Limits against hostile or broken clients (docs/limits.md). The others
// live where they apply: the message size in Conn.readMessage, the handshake
// and idle deadlines in Conn.read, the connection caps in Server.add,
// the HTTP ones in Serve and the REST handlers.

// maxRateRefusals is how many refused frames a client may send over a rate
// limit before it is disconnected (CodeFlood). The count decays by one a
// second, so a client that backs off after a refusal is never cut.
const maxRateRefusals = 10

// allowSubscribe applies the subscription-change rate (Config.SubscribeRate)
// to s: each topic listed counts one change, an empty list one. allowed
// reports whether s may be handled; if not it was refused whole with
// CodeRateLimited. alive is false when the client was disconnected for
// persisting (CodeFlood). Reader goroutine only.
//
// Changes cost the hub a topic lookup, a subscriber-list copy and, for a
// sequenced topic, a journal read: a client churning within its topic cap
// would otherwise make the server do that work as fast as it can send.
func (c *Conn) allowSubscribe(s *protocol.Subscribe) (allowed, alive bool) {
	cfg := &c.srv.cfg
	if cfg.SubscribeRate < 0 {
		return true, true
	}
	n := max(1, len(s.Topics))
	now := time.Now()
	if c.subRate == nil {
		c.subRate = rate.NewLimiter(rate.Limit(cfg.SubscribeRate), cfg.SubscribeBurst)
	}
	if c.subRate.AllowN(now, n) {
		return true, true
	}
	if !c.refusedAt.IsZero() {
		c.refusals = max(0, c.refusals-now.Sub(c.refusedAt).Seconds())
	}
	c.refusals++
	c.refusedAt = now
	if c.refusals > maxRateRefusals {
		c.closeWith(protocol.CodeFlood, fmt.Sprintf("subscription changes kept coming over the rate limit (%g/s, burst %d) after %d refusals",
			cfg.SubscribeRate, cfg.SubscribeBurst, maxRateRefusals))
		return false, false
	}
	topic := ""
	if len(s.Topics) > 0 {
		topic = s.Topics[0]
	}
	verb := "Subscribe"
	if s.Unsubscribe {
		verb = "Unsubscribe"
	}
	c.sendError(protocol.CodeRateLimited, fmt.Sprintf("%s of %d topics refused: over the subscription-change rate limit (%g/s, burst %d); retry later",
		verb, n, cfg.SubscribeRate, cfg.SubscribeBurst), topic)
	return false, true
}

// addrKey is the per-address key of a remote address: its IP.
func addrKey(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// untrack tells the server the connection is over (Server.conns), once.
func (c *Conn) untrack() {
	c.untracked.Do(c.srv.tracked.Done)
}

// bodyError answers a request whose body (read through
// http.MaxBytesReader) failed: 413 over the limit, 400 otherwise.
func bodyError(w http.ResponseWriter, err error, what string) {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		http.Error(w, fmt.Sprintf("%s: request body over the %d-byte limit", what, mbe.Limit), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, fmt.Sprintf("%s: %v", what, err), http.StatusBadRequest)
}
