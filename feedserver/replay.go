package feedserver

import (
	"context"
	"fmt"
	"time"

	"tickwire/protocol"
	"tickwire/ticks"
)

// TickTopic returns the topic a tick publishes to and its fields: quotes go
// to SYMBOL (bid, ask and the sizes when known), trades to SYMBOL.trades
// (last, last size, and volume/high/low for the trade merge). ok is false for
// a tick of unknown kind.
func TickTopic(t *ticks.Tick) (topic string, q protocol.Quote, ok bool) {
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
		return t.Symbol, q, true
	case ticks.KindTrade:
		q.Put(protocol.Last, t.Price)
		q.Put(protocol.LastSize, t.Size)
		q.Put(protocol.Volume, t.Size)
		q.Put(protocol.High, t.Price)
		q.Put(protocol.Low, t.Price)
		return t.Symbol + ".trades", q, true
	}
	return "", q, false
}

// PublishTick publishes a recorded tick (see TickTopic), stamped with now
// (Unix ns): a replayed tick is news at the moment it is replayed, and that is
// the age a trader must see. Ticks of a paused topic are dropped.
func PublishTick(h *Hub, t *ticks.Tick, now int64) {
	if topic, q, ok := TickTopic(t); ok {
		_ = h.Publish(topic, &q, now, 0) // only ErrPaused: dropped by design
	}
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
