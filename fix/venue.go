package fix

import (
	"container/heap"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"tickwire/fix/order"
	"tickwire/protocol"
)

// AutoConfig configures the auto venue: a simulated exchange that fills
// marketable orders against the live price.
type AutoConfig struct {
	// Latency is how long the venue takes to answer a new order, a cancel
	// or a replace (ack, then the first fill attempt). Default 0: in the
	// same journal batch as the request.
	Latency time.Duration
	// PollInterval is how often resting orders are checked against the
	// price. Default 50ms.
	PollInterval time.Duration
	// MaxPriceAge is the oldest price the venue trades on (guard.go).
	// Default: the settings' MaxPriceAge, else the price source's own stale
	// threshold for the symbol (the feed server's --stale-after). The
	// guard needs Prices to be AgedPrices.
	MaxPriceAge time.Duration
	// StalePrice is what happens to an order that would trade on an older
	// price. Default: the settings' StalePriceAction, else StaleReject.
	StalePrice StaleAction
}

// autoVenue fills orders that are not HandlInst=3 (those go to the desk):
//
//   - a new order is acknowledged after Latency, then tried at once;
//   - a buy fills at the Ask, a sell at the Bid, when it is a market order
//     or a limit at or through that price; the fill is the smaller of the
//     leaves and the quote's size still available (each quote version's
//     size is consumed once; an absent size is unlimited); a price that is
//     not a finite number above zero, or a NaN or infinite size, is no
//     price (the order rests);
//   - a market order, or a limit at or through the touch, does not trade on
//     a price older than MaxPriceAge (guard.go): a new one is rejected
//     (StaleReject) or acknowledged and held (StaleHold); a new order for a
//     symbol without a price is rejected;
//   - an IOC order's remainder is expired after the first attempt; an FOK
//     order fills in full or is expired;
//   - what is left rests and is tried again when the quote changes
//     (checked every PollInterval);
//   - a cancel is accepted (a cancel the order's fill made too late was
//     answered by the book already); a replace is accepted (the book ends
//     it Filled if the new quantity is at or below CumQty), and the order
//     is tried again.
//
// It runs on the engine goroutine and keeps no order state of its own
// beyond indexes: every decision reads the book, and every action is an
// order event that is journalled like any other, so a restart rebuilds
// everything (adopt re-indexes the open orders).
type autoVenue struct {
	e       *engine
	prices  Prices
	guard   priceGuard
	latency time.Duration
	poll    time.Duration

	due      dueHeap
	resting  map[string]*restingSet // by symbol
	nResting int
	nextPoll time.Time
	liq      map[liqKey]liqState
}

// restingSet is one symbol's resting orders in the order they rested (the
// order the venue tries them in). Membership is a map and removal is lazy
// (an id is dropped from ids when the slice is compacted), so resting and
// unresting cost O(1) however many orders rest: a linear scan made a book
// of thousands of resting limits quadratic.
type restingSet struct {
	ids     []string
	live    map[string]struct{}
	seenVer uint64
	tried   bool
}

// compact drops the ids no longer live once they are half the slice.
func (s *restingSet) compact() {
	if len(s.ids) < 2*len(s.live) {
		return
	}
	n := 0
	for _, id := range s.ids {
		if _, ok := s.live[id]; ok {
			s.ids[n] = id
			n++
		}
	}
	clear(s.ids[n:])
	s.ids = s.ids[:n]
}

type liqKey struct {
	symbol string
	buy    bool
}

type liqState struct {
	ver  uint64
	used decimal.Decimal
}

func newAutoVenue(e *engine, prices Prices, cfg AutoConfig) *autoVenue {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	aged, _ := prices.(AgedPrices)
	return &autoVenue{
		e:       e,
		prices:  prices,
		guard:   priceGuard{aged: aged, maxAge: cfg.MaxPriceAge, action: cfg.StalePrice},
		latency: max(cfg.Latency, 0),
		poll:    cfg.PollInterval,
		resting: make(map[string]*restingSet),
		liq:     make(map[liqKey]liqState),
	}
}

// add schedules the venue's answer to a request on orderID.
func (v *autoVenue) add(orderID string, now time.Time) {
	if v.latency == 0 {
		v.work(orderID, now)
		return
	}
	heap.Push(&v.due, dueItem{at: now.Add(v.latency), id: orderID})
}

// nextWake returns when step has work to do.
func (v *autoVenue) nextWake() (time.Time, bool) {
	var at time.Time
	ok := false
	if len(v.due) > 0 {
		at, ok = v.due[0].at, true
	}
	if v.nResting > 0 && (!ok || v.nextPoll.Before(at)) {
		at, ok = v.nextPoll, true
	}
	return at, ok
}

// step does the work that is due: scheduled answers, then the resting
// orders when the poll interval has passed.
func (v *autoVenue) step(now time.Time) {
	for len(v.due) > 0 && !v.due[0].at.After(now) {
		it := heap.Pop(&v.due).(dueItem)
		v.work(it.id, now)
	}
	if v.nResting == 0 || now.Before(v.nextPoll) {
		return
	}
	v.nextPoll = now.Add(v.poll)
	for sym, set := range v.resting {
		if v.prices == nil {
			break
		}
		_, ver, ok := v.prices.Quote(sym)
		if !ok || (set.tried && ver == set.seenVer) {
			continue
		}
		set.seenVer, set.tried = ver, true
		ids := append([]string(nil), set.ids...)
		for _, id := range ids {
			if _, live := set.live[id]; !live {
				continue
			}
			o, ok := v.e.book.Order(id)
			if !ok || o.Terminal() || o.Pending != nil || o.HandlInst == order.HandlInstManual {
				v.unrest(sym, id)
				continue
			}
			v.tryFill(&o, now, false) // a stale price holds it, whatever the action: it was acknowledged
			if o, ok = v.e.book.Order(id); !ok || o.Terminal() {
				v.unrest(sym, id)
			}
		}
	}
}

// work answers whatever the order waits for (ack, pending change), then
// tries to fill it and rests what is left.
func (v *autoVenue) work(id string, now time.Time) {
	if v.rejectStale(id, now) {
		return
	}
	o, ok := v.e.book.Order(id)
	if !ok || o.HandlInst == order.HandlInstManual || o.Rejected {
		return
	}
	if !o.Acked && !o.Terminal() {
		if !v.e.applyVenue(order.AcceptNew{OrderID: id, TransactTime: now}, now) {
			return
		}
		o, _ = v.e.book.Order(id)
	}
	if p := o.Pending; p != nil {
		var ev order.Event
		switch {
		case p.Kind == order.ChangeCancel: // never of a filled order: the book answered that one (too late)
			ev = order.AcceptCancel{OrderID: id, TransactTime: now}
		default:
			ev = order.AcceptReplace{OrderID: id, TransactTime: now}
		}
		v.e.applyVenue(ev, now)
		if o, ok = v.e.book.Order(id); !ok || o.HandlInst == order.HandlInstManual {
			return
		}
	}
	if o.Terminal() {
		return
	}
	h := v.tryFill(&o, now, false)
	if o, ok = v.e.book.Order(id); !ok || o.Terminal() {
		return
	}
	if tif := o.TimeInForce; tif == order.TimeInForceIOC || tif == order.TimeInForceFOK {
		text := "not filled immediately"
		if h.why != "" {
			text = h.why
		}
		v.e.applyVenue(order.Expire{OrderID: id, Text: text, TransactTime: now}, now)
		return
	}
	v.rest(o.Symbol, id, now)
}

// tryFill fills o as far as the current quote allows, and says why the
// price guard kept it from trading, if it did. dry only asks the guard.
func (v *autoVenue) tryFill(o *order.OrderState, now time.Time, dry bool) (h held) {
	if v.prices == nil {
		return
	}
	q, ver, age, ok := v.quote(o.Symbol)
	if !ok {
		return v.guard.noPrice(o.Symbol)
	}
	buy := o.Side == order.SideBuy || o.Side == order.SideBuyMinus
	pxField, sizeField := protocol.Bid, protocol.BidSize
	if buy {
		pxField, sizeField = protocol.Ask, protocol.AskSize
	}
	px, ok := q.Get(pxField)
	if !ok || !(px > 0) || math.IsInf(px, 1) {
		return // no price: absent, not above zero, NaN or infinite
	}
	size, sized := q.Get(sizeField)
	if sized && (math.IsNaN(size) || math.IsInf(size, 0)) {
		return // a size that says nothing: no quote to fill against
	}
	price := decimal.NewFromFloat(px)
	if o.OrdType == order.OrdTypeLimit && o.Price.Valid {
		if (buy && o.Price.Decimal.LessThan(price)) || (!buy && o.Price.Decimal.GreaterThan(price)) {
			return
		}
	}
	if h = v.guard.check(o.Symbol, age); h.why != "" || dry {
		return h
	}
	leaves := o.OrderQty.Sub(o.CumQty)
	if leaves.Sign() <= 0 {
		return
	}
	qty := leaves
	key := liqKey{o.Symbol, buy}
	l := v.liq[key]
	if l.ver != ver {
		l = liqState{ver: ver, used: decimal.Zero}
	}
	if sized && size > 0 {
		avail := decimal.NewFromFloat(size).Sub(l.used)
		if avail.Sign() <= 0 {
			return
		}
		if avail.LessThan(qty) {
			if o.TimeInForce == order.TimeInForceFOK {
				return // cannot fill in full: work() expires it
			}
			qty = avail
		}
	}
	fill := order.Fill{
		OrderID:      o.OrderID,
		VenueExecID:  o.OrderID + "-X" + strconv.Itoa(len(o.Executions)+1),
		LastQty:      qty,
		LastPx:       price,
		TransactTime: now,
	}
	if v.e.applyVenue(fill, now) {
		l.used = l.used.Add(qty)
		v.liq[key] = l
	}
	return
}

func (v *autoVenue) rest(sym, id string, now time.Time) {
	set := v.resting[sym]
	if set == nil {
		set = &restingSet{live: make(map[string]struct{})}
		v.resting[sym] = set
	}
	if _, ok := set.live[id]; ok {
		return
	}
	set.live[id] = struct{}{}
	set.ids = append(set.ids, id)
	if v.nResting == 0 {
		v.nextPoll = now.Add(v.poll)
	}
	v.nResting++
}

func (v *autoVenue) unrest(sym, id string) {
	set := v.resting[sym]
	if set == nil {
		return
	}
	if _, ok := set.live[id]; !ok {
		return
	}
	delete(set.live, id)
	v.nResting--
	set.compact()
	if len(set.live) == 0 {
		delete(v.resting, sym)
	}
}

// adopt indexes the open orders of a replayed book: pending acks and
// changes are answered (after Latency), working orders rest.
func (v *autoVenue) adopt(orders []order.OrderState, now time.Time) {
	for i := range orders {
		o := &orders[i]
		if o.HandlInst == order.HandlInstManual || o.Rejected {
			continue
		}
		if o.Terminal() && o.Pending == nil && o.Acked {
			continue
		}
		heap.Push(&v.due, dueItem{at: now.Add(v.latency), id: o.OrderID})
	}
}

type dueItem struct {
	at time.Time
	id string
}

type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
