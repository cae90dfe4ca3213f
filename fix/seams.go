package fix

import (
	"encoding/json"
	"time"

	"tickwire/fix/order"
	"tickwire/protocol"
)

// Prices gives the gateway the live price of a symbol. The auto venue
// fills against it and a new order for a symbol it does not know is
// rejected (OrdRejReason 1, unknown symbol).
type Prices interface {
	// Quote returns the latest quote of symbol (Bid/Ask and, when known,
	// BidSize/AskSize), a version that changes whenever the quote does
	// (the liquidity of one version is consumed at most once), and false
	// when the symbol is unknown.
	Quote(symbol string) (q protocol.Quote, version uint64, ok bool)
}

// PricesFunc adapts a function to Prices.
type PricesFunc func(symbol string) (protocol.Quote, uint64, bool)

// Quote implements Prices.
func (f PricesFunc) Quote(symbol string) (protocol.Quote, uint64, bool) { return f(symbol) }

// LatestPrices adapts a function giving a topic's latest value and how old
// it is, such as (*feedserver.Hub).LatestAge, to AgedPrices: the
// symbol is the topic name, the version the topic's sequence number, and
// the age and stale threshold the source's (the price guard's measure).
//
//	fix.LatestPrices(srv.Hub().LatestAge)
func LatestPrices(latest func(topic string) (p protocol.Price, age, staleAfter time.Duration, ok bool)) AgedPrices {
	return latestPrices(latest)
}

type latestPrices func(topic string) (protocol.Price, time.Duration, time.Duration, bool)

func (f latestPrices) Quote(symbol string) (protocol.Quote, uint64, bool) {
	q, ver, _, ok := f.QuoteAge(symbol)
	return q, ver, ok
}

func (f latestPrices) QuoteAge(symbol string) (protocol.Quote, uint64, PriceAge, bool) {
	p, age, staleAfter, ok := f(symbol)
	if !ok {
		return protocol.Quote{}, 0, PriceAge{}, false
	}
	return p.Quote, p.Seq, PriceAge{Age: age, StaleAfter: staleAfter}, true
}

// OrderEvents receives the order flow for traders: every ExecutionReport
// (except status reports, which change nothing) and OrderCancelReject the
// gateway sends, as JSON (OrderEvent), after it was journalled and sent.
// Implementations should not block: the engine goroutine calls it.
type OrderEvents interface {
	PublishOrderEvent(account string, ev []byte) error
}

// OrderEvent is the JSON published to OrderEvents.
//
// Delivery is exactly once in normal operation and at least once across a
// crash: a restarted gateway republishes the outputs of the last journal
// batch, which may already have been published. (Epoch, Seq, Index) is
// unique per output and identical when republished: use it to deduplicate.
type OrderEvent struct {
	// Epoch and Seq are the journal position of the event that produced
	// the output; Index is the output's index among that event's outputs.
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	Index int    `json:"index"`
	// Kind is "ExecutionReport" or "OrderCancelReject"; one of Report
	// and Reject is set.
	Kind   string                   `json:"kind"`
	Report *order.ExecutionReport   `json:"report,omitempty"`
	Reject *order.OrderCancelReject `json:"reject,omitempty"`
	// Account is the order's account.
	Account string `json:"account,omitempty"`
}

func marshalOrderEvent(e *OrderEvent) ([]byte, error) { return json.Marshal(e) }
