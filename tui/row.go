package tui

import (
	"math"
	"strconv"
	"strings"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// sparkLen is how many points a row's sparkline keeps: one per sparkEvery.
const (
	sparkLen   = 12
	sparkEvery = time.Second
)

// row is one symbol on the board.
type row struct {
	symbol   string
	quote    protocol.Quote
	dir      int       // +1 up, -1 down, 0 unchanged: the last move of the mid price
	updated  time.Time // when the value was stored, on the local clock (Received - Age): the base of its age
	flashAt  time.Time // when a shown price last changed
	flashBid int       // direction of the bid's last change, 0 none
	flashAsk int
	ref      float64 // first mid (or last) seen: the base of the change column
	hasRef   bool
	decimals int // display precision, the most seen in the prices

	feedStale bool      // the server says the feed for this symbol is stale
	gapAt     time.Time // the last value came after a gap (reconnect) at this time

	// Alert bookkeeping: whether the trader was told this row went stale, and since when.
	alerted    bool
	staleSince time.Time

	spark    [sparkLen]float64 // ring of mids, one per sparkEvery bucket
	sparkN   int               // points held
	sparkEnd int               // index after the newest point
	sparkAt  time.Time         // start of the newest point's bucket
}

// apply records a price event. Only price data moves a row's age: pings,
// heartbeats and status frames never do; the age is the value's, as the
// server tells it (client.PriceEvent.Age), not the time since it arrived.
func (r *row) apply(ev *client.PriceEvent) {
	old := r.quote
	oldMid, hadMid := r.mid()
	r.quote = ev.Quote
	mid, ok := r.mid()
	if ok && hadMid {
		switch {
		case mid > oldMid:
			r.dir = 1
		case mid < oldMid:
			r.dir = -1
		}
	}
	db, da := moved(&old, &r.quote, protocol.Bid), moved(&old, &r.quote, protocol.Ask)
	if db != 0 || da != 0 {
		r.flashBid, r.flashAsk, r.flashAt = db, da, ev.Received
	}
	if ok && !r.hasRef {
		r.ref, r.hasRef = mid, true
	}
	if ev.Age > 0 || !ev.StatusOnly || r.updated.IsZero() {
		// The server's age is the value's, whatever the frame (a snapshot
		// after a reconnect, a stale mark). Without one (an older server),
		// only new data restarts the age: status frames keep it.
		r.updated = ev.Received.Add(-ev.Age)
	}
	r.feedStale = ev.Stale()
	if ev.Gap {
		r.gapAt = ev.Received
	}
	for _, f := range []protocol.Field{protocol.Bid, protocol.Ask, protocol.Last} {
		if v, ok := r.quote.Get(f); ok {
			r.decimals = max(r.decimals, decimals(v))
		}
	}
	if ok {
		r.sample(mid, ev.Received)
	}
}

// moved returns the direction field f moved between two quotes, 0 if it did not.
func moved(old, cur *protocol.Quote, f protocol.Field) int {
	a, oka := old.Get(f)
	b, okb := cur.Get(f)
	switch {
	case !oka || !okb || a == b:
		return 0
	case b > a:
		return 1
	}
	return -1
}

// sample records v in the sparkline: the newest point is the last value of
// its time bucket, so the line shows time, not update rate.
func (r *row) sample(v float64, at time.Time) {
	if r.sparkN > 0 && at.Sub(r.sparkAt) < sparkEvery {
		r.spark[(r.sparkEnd+sparkLen-1)%sparkLen] = v
		return
	}
	r.spark[r.sparkEnd] = v
	r.sparkEnd = (r.sparkEnd + 1) % sparkLen
	r.sparkN = min(r.sparkN+1, sparkLen)
	r.sparkAt = at.Truncate(sparkEvery)
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline renders the ring as block runes, oldest first, padded to width.
func (r *row) sparkline(width int) string {
	n := min(r.sparkN, width)
	if n == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	start := (r.sparkEnd - n + sparkLen) % sparkLen
	for i := range n {
		v := r.spark[(start+i)%sparkLen]
		lo, hi = min(lo, v), max(hi, v)
	}
	var b strings.Builder
	b.Grow(n * 3)
	for i := range n {
		v := r.spark[(start+i)%sparkLen]
		k := 3 // flat line: the middle
		if hi > lo {
			k = int((v - lo) / (hi - lo) * float64(len(sparkRunes)-1))
		}
		b.WriteRune(sparkRunes[k])
	}
	return b.String()
}

func (r *row) mid() (float64, bool) {
	b, okb := r.quote.Get(protocol.Bid)
	a, oka := r.quote.Get(protocol.Ask)
	if okb && oka {
		return (a + b) / 2, true
	}
	if l, ok := r.quote.Get(protocol.Last); ok {
		return l, true
	}
	return 0, false
}

// decimals returns the number of decimal places in v's shortest form, at most 8.
func decimals(v float64) int {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return min(len(s)-i-1, 8)
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

// touch is the price an order on side would trade at now: the ask for a
// buy, the bid for a sell.
func (r *row) touch(s Side) string {
	if s == SideSell {
		return r.price(protocol.Bid)
	}
	return r.price(protocol.Ask)
}

func (r *row) spread() string {
	b, okb := r.quote.Get(protocol.Bid)
	a, oka := r.quote.Get(protocol.Ask)
	if !okb || !oka {
		return "-"
	}
	return strconv.FormatFloat(a-b, 'f', r.decimals, 64)
}

// change returns the move of the mid since the first value seen, signed, and
// its sign.
func (r *row) change() (string, int) {
	mid, ok := r.mid()
	if !ok || !r.hasRef {
		return "-", 0
	}
	d := mid - r.ref
	// Round to the display precision so float noise does not show as a move.
	p := math.Pow(10, float64(r.decimals))
	d = math.Round(d*p) / p
	switch {
	case d > 0:
		return "+" + strconv.FormatFloat(d, 'f', r.decimals, 64), 1
	case d < 0:
		return strconv.FormatFloat(d, 'f', r.decimals, 64), -1
	}
	return strconv.FormatFloat(0, 'f', r.decimals, 64), 0
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
