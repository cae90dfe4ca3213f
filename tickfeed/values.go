package tickfeed

import (
	"fmt"
	"strings"
	"time"

	"tickwire/protocol"
	"tickwire/ticks"
)

// tradesSuffix ends the topic of a symbol's trades.
const tradesSuffix = ".trades"

// TickValue returns the topic a tick publishes to and its fields: quotes go
// to SYMBOL (bid, ask and the sizes when known), trades to SYMBOL.trades
// (last, last size, and volume/high/low for the trade merge). ok is false for
// a tick of unknown kind.
func TickValue(t *ticks.Tick) (topic string, q protocol.Quote, ok bool) {
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
		return t.Symbol + tradesSuffix, q, true
	}
	return "", q, false
}

// ValueTick maps a topic's value back to the tick it was published from: the
// inverse of TickValue, but for a trade's aggressor, which is not on the
// wire (recorded as unknown). ok is false when the value has none of the
// fields a tick needs.
func ValueTick(topic string, q *protocol.Quote, at time.Time) (ticks.Tick, bool) {
	t := ticks.Tick{Time: at.UTC()}
	if sym, ok := strings.CutSuffix(topic, tradesSuffix); ok && sym != "" {
		px, ok := q.Get(protocol.Last)
		if !ok {
			return t, false
		}
		t.Symbol, t.Kind, t.Price = sym, ticks.KindTrade, px
		t.Size, _ = q.Get(protocol.LastSize)
		return t, true
	}
	bid, okb := q.Get(protocol.Bid)
	ask, oka := q.Get(protocol.Ask)
	if !okb && !oka {
		return t, false
	}
	t.Symbol, t.Kind, t.Bid, t.Ask = topic, ticks.KindQuote, bid, ask
	t.BidSize, _ = q.Get(protocol.BidSize)
	t.AskSize, _ = q.Get(protocol.AskSize)
	return t, true
}

// publishedValue returns the topic and fields of a tick to publish, refusing
// a tick of unknown kind or a symbol that cannot be a topic name.
func publishedValue(t *ticks.Tick) (string, protocol.Quote, error) {
	topic, q, ok := TickValue(t)
	if !ok {
		return "", q, fmt.Errorf("tick of unknown kind %v", t.Kind)
	}
	if err := protocol.ValidTopic(topic); err != nil {
		return "", q, fmt.Errorf("symbol %q cannot be a topic: %w", t.Symbol, err)
	}
	return topic, q, nil
}
