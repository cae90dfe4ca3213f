package feedserver

import (
	"context"
	"fmt"
	"time"

	"tickwire/protocol"
	"tickwire/ticks"
)

// PublishTick publishes a recorded tick on the topic named by its symbol:
// quotes set bid/ask (and sizes when known), trades set last and last size.
// The value is stamped with now (Unix ns): a replayed tick is news at the
// moment it is replayed, and that is the age a trader must see.
func PublishTick(h *Hub, t *ticks.Tick, now int64) {
	var q protocol.Quote
	switch t.Kind {
	case ticks.KindQuote:
		q.Put(protocol.Bid, t.Bid)
		q.Put(protocol.Ask, t.Ask)
		if t.BidSize > 0 {
			q.Put(protocol.BidSize, t.BidSize)
		}
		if t.AskSize > 0 {
			q.Put(protocol.AskSize, t.AskSize)
		}
	case ticks.KindTrade:
		q.Put(protocol.Last, t.Price)
		q.Put(protocol.LastSize, t.Size)
	default:
		return
	}
	h.Publish(t.Symbol, &q, now, 0)
}

// Replay publishes the ticks of the sources that open returns into h, paced
// by opt (see ticks.Replay), until they end or ctx is done.
func Replay(ctx context.Context, h *Hub, open func() (ticks.Source, error), opt ticks.ReplayOptions) (ticks.ReplayStats, error) {
	st, err := ticks.Replay(ctx, open, opt, func(t ticks.Tick) error {
		PublishTick(h, &t, time.Now().UnixNano())
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return st, fmt.Errorf("replay: %w", err)
	}
	return st, nil
}
