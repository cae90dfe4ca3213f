package ticks

import (
	"math"
	"strconv"
	"time"
)

// Kind says whether a Tick is a quote or a trade. Its values are the ASCII
// letters used in the CSV formats.
type Kind uint8

const (
	// KindQuote is a top-of-book quote: Bid, BidSize, Ask, AskSize.
	KindQuote Kind = 'Q'
	// KindTrade is a trade print: Price, Size, Aggressor.
	KindTrade Kind = 'T'
)

// String returns "quote", "trade" or "Kind(0xNN)".
func (k Kind) String() string {
	switch k {
	case KindQuote:
		return "quote"
	case KindTrade:
		return "trade"
	}
	return "Kind(0x" + strconv.FormatUint(uint64(k), 16) + ")"
}

// Valid reports whether k is KindQuote or KindTrade.
func (k Kind) Valid() bool { return k == KindQuote || k == KindTrade }

// Aggressor sides of a trade.
const (
	AggressorBuy  byte = 'B' // buyer-initiated (buyer took the offer)
	AggressorSell byte = 'S' // seller-initiated (seller hit the bid)
)

// Tick is one market event from a recorded file.
type Tick struct {
	Time   time.Time // source timestamp, UTC
	Symbol string
	Kind   Kind

	// Quotes. Sizes are 0 when unknown (e.g. OANDA). Bid > Ask is allowed:
	// real data can cross.
	Bid, BidSize, Ask, AskSize float64

	// Trades.
	Price, Size float64
	Aggressor   byte // 'B' buyer-initiated, 'S' seller-initiated, 0 unknown
}

// Source yields ticks in time order; Next returns io.EOF at the end.
//
// A Source is not safe for concurrent use. Sources that hold resources also
// implement io.Closer; Replay and the Source returned by Merge close them.
type Source interface {
	Next() (Tick, error)
}

// Timestamps must fit in int64 nanoseconds since the Unix epoch (years 1678
// to 2262) so that every format, including the tickwire format's time_ns
// column, can carry them. Readers reject other times; Writer refuses them.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

func timeInRange(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
