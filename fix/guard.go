package fix

import (
	"errors"
	"fmt"
	"time"

	"github.com/quickfixgo/quickfix"

	"tickwire/fix/order"
	"tickwire/protocol"
)

// The price guard: the auto venue never trades on a price it knows is
// stale. A market order, or a limit at or through the touch, is guarded:
// when the symbol's price is older than the maximum age the order does not
// fill, and StalePrice says what happens instead. The decision is made at
// the edge, from the price the venue sees, and recorded as order events
// (RejectNew, Expire) like every other venue action: the book never reads
// a clock, and a replayed journal gives the same book.

// StaleAction is what the auto venue does with an order that would trade
// on a stale price.
type StaleAction string

const (
	// StaleReject rejects a new order (ExecutionReport Rejected,
	// OrdRejReason 99, Text naming the symbol and the price's age).
	StaleReject StaleAction = "reject"
	// StaleHold acknowledges it and lets it rest, unfilled, until a fresh
	// price arrives or it is canceled; IOC and FOK orders expire.
	StaleHold StaleAction = "hold"
)

// Settings keys of the price guard, in the settings file's [DEFAULT]
// section (the guard is the gateway's, not a session's).
const (
	SettingMaxPriceAge      = "MaxPriceAge"      // a Go duration, e.g. 5s
	SettingStalePriceAction = "StalePriceAction" // reject or hold
)

// PriceAge is how current a quote is, by its source's own clock.
type PriceAge struct {
	// Age is the time since the source last published the symbol.
	Age time.Duration
	// StaleAfter is the source's own stale threshold for the symbol (the
	// feed server's: older, it marks the topic stale); 0 if it has none.
	StaleAfter time.Duration
}

// AgedPrices is a Prices that knows how old its quotes are. The auto venue
// guards its fills only with one (LatestPrices is).
type AgedPrices interface {
	Prices
	// QuoteAge is Quote with the quote's age, read together.
	QuoteAge(symbol string) (q protocol.Quote, version uint64, age PriceAge, ok bool)
}

// parseStaleAction checks a StalePrice value ("" is the default).
func parseStaleAction(s string) (StaleAction, error) {
	switch a := StaleAction(s); a {
	case "":
		return StaleReject, nil
	case StaleReject, StaleHold:
		return a, nil
	}
	return "", fmt.Errorf("stale price action %q: want %q or %q", s, StaleReject, StaleHold)
}

// guardSettings fills the guard fields of auto that are unset (zero) from
// the settings' [DEFAULT] section, then checks them against prices.
func guardSettings(auto AutoConfig, s *quickfix.Settings, prices Prices) (AutoConfig, error) {
	g := s.GlobalSettings()
	for id, ss := range s.SessionSettings() {
		for _, k := range []string{SettingMaxPriceAge, SettingStalePriceAction} {
			if ss.HasSetting(k) && !g.HasSetting(k) {
				return auto, fmt.Errorf("fix: session %v: %s must be in [DEFAULT]: the auto venue's price guard is the gateway's, not a session's", id, k)
			}
		}
	}
	if auto.MaxPriceAge == 0 && g.HasSetting(SettingMaxPriceAge) {
		v, _ := g.Setting(SettingMaxPriceAge)
		d, err := time.ParseDuration(v)
		if err != nil {
			return auto, fmt.Errorf("fix: %s: %w", SettingMaxPriceAge, err)
		}
		auto.MaxPriceAge = d
	}
	if auto.MaxPriceAge < 0 {
		return auto, fmt.Errorf("fix: maximum price age %v: must not be negative (0: the price source's stale threshold)", auto.MaxPriceAge)
	}
	if auto.StalePrice == "" && g.HasSetting(SettingStalePriceAction) {
		v, _ := g.Setting(SettingStalePriceAction)
		auto.StalePrice = StaleAction(v)
	}
	a, err := parseStaleAction(string(auto.StalePrice))
	if err != nil {
		return auto, fmt.Errorf("fix: %w", err)
	}
	auto.StalePrice = a
	if _, aged := prices.(AgedPrices); auto.MaxPriceAge > 0 && prices != nil && !aged {
		return auto, errGuardNeedsAges
	}
	return auto, nil
}

// errGuardNeedsAges: a guard setting without a price source that can tell
// the price's age would guard nothing.
var errGuardNeedsAges = errors.New("fix: the auto venue's price guard needs Config.Prices to report ages (an AgedPrices, e.g. LatestPrices)")

// priceGuard is the auto venue's guard; off (aged nil) with a Prices that
// cannot tell ages.
type priceGuard struct {
	aged   AgedPrices
	maxAge time.Duration // 0: the source's StaleAfter
	action StaleAction
}

// held is why the guard kept an order from trading ("" if it did not).
type held struct {
	why    string
	reject bool // a new order is rejected rather than acknowledged
}

// noPrice is the guard's answer for a symbol without a price: a new order
// is rejected, whatever the action (there is nothing to hold it against).
func (g *priceGuard) noPrice(sym string) held {
	if g.aged == nil {
		return held{}
	}
	return held{why: "no price for " + sym, reject: true}
}

// check is the guard's answer for an order that would trade on sym's quote
// of this age.
func (g *priceGuard) check(sym string, age PriceAge) held {
	if why := g.staleness(sym, age); why != "" {
		return held{why: why, reject: g.action == StaleReject}
	}
	return held{}
}

// staleness says why sym's price is too old to trade on ("" if it is not).
func (g *priceGuard) staleness(sym string, age PriceAge) string {
	limit := g.maxAge
	if limit <= 0 {
		limit = age.StaleAfter
	}
	if g.aged == nil || limit <= 0 || age.Age <= limit {
		return ""
	}
	return fmt.Sprintf("price stale: %s price %s old (max %s)", sym, age.Age.Round(time.Millisecond), limit)
}

// quote reads sym's quote and, when the source can tell, its age.
func (v *autoVenue) quote(sym string) (q protocol.Quote, ver uint64, age PriceAge, ok bool) {
	if v.guard.aged != nil {
		return v.guard.aged.QuoteAge(sym)
	}
	q, ver, ok = v.prices.Quote(sym)
	return q, ver, PriceAge{}, ok
}

// deskFillText is the Text of a desk fill on sym: why the guard would not
// have traded on its price now, or "" (a current price, or the guard off).
func (v *autoVenue) deskFillText(sym string) string {
	if v.guard.aged == nil {
		return ""
	}
	why := ""
	if _, _, age, ok := v.quote(sym); !ok {
		why = v.guard.noPrice(sym).why
	} else {
		why = v.guard.staleness(sym, age)
	}
	if why == "" {
		return ""
	}
	return "desk fill, " + why
}

// rejectStale rejects order id, a new auto order not yet acknowledged,
// when it would trade on a stale or missing price and the guard says
// reject. It reports whether it did.
func (v *autoVenue) rejectStale(id string, now time.Time) bool {
	o, ok := v.e.book.Order(id)
	if !ok || o.Acked || o.Terminal() || o.HandlInst == order.HandlInstManual {
		return false
	}
	h := v.tryFill(&o, now, true)
	if !h.reject {
		return false
	}
	v.e.applyVenue(order.RejectNew{OrderID: id, Reason: order.OrdRejReasonOther, Text: h.why, TransactTime: now}, now)
	return true
}
