package tui

import (
	"math"
	"strconv"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// row is one symbol on the board.
type row struct {
	symbol   string
	quote    protocol.Quote
	dir      int       // +1 up, -1 down, 0 unchanged, by mid price
	updated  time.Time // local receive time of the last value: the base of its age
	stale    bool      // the server says the feed for this symbol is stale
	gap      bool      // the last value came after a gap (reconnect)
	decimals int       // display precision, the most seen in bid/ask
}

// apply records a price event. Only price data moves a row's age: pings,
// heartbeats and status frames never do.
func (r *row) apply(ev client.PriceEvent) {
	oldMid, hadMid := r.mid()
	r.quote = ev.Quote
	if mid, ok := r.mid(); ok && hadMid {
		switch {
		case mid > oldMid:
			r.dir = 1
		case mid < oldMid:
			r.dir = -1
		}
	}
	r.updated = ev.Received
	r.stale = ev.Stale()
	r.gap = ev.Gap
	for _, f := range []protocol.Field{protocol.Bid, protocol.Ask} {
		if v, ok := r.quote.Get(f); ok {
			r.decimals = max(r.decimals, decimals(v))
		}
	}
}

func (r *row) mid() (float64, bool) {
	b, okb := r.quote.Get(protocol.Bid)
	a, oka := r.quote.Get(protocol.Ask)
	return (a + b) / 2, okb && oka
}

// decimals returns the number of decimal places in v's shortest form, at most 8.
func decimals(v float64) int {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return min(len(s)-i-1, 8)
		}
	}
	return 0
}

func (r *row) price(f protocol.Field) string {
	v, ok := r.quote.Get(f)
	if !ok || math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', r.decimals, 64)
}

func (r *row) spread() string {
	b, okb := r.quote.Get(protocol.Bid)
	a, oka := r.quote.Get(protocol.Ask)
	if !okb || !oka {
		return "-"
	}
	return strconv.FormatFloat(a-b, 'f', r.decimals, 64)
}

// formatAge renders an age compactly: 0.4s, 12s, 3m05s, 2h14m.
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0.0s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m" + pad2(int(d.Seconds())%60) + "s"
	}
	return strconv.Itoa(int(d.Hours())) + "h" + pad2(int(d.Minutes())%60) + "m"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
