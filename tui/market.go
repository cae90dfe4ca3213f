package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"tickwire/client"
	"tickwire/protocol"
)

// gapHold is how long a row keeps its "gap" mark after a gap recovery.
const gapHold = 3 * time.Second

// market is the dashboard's view of the feed: one row per symbol and the
// connection's state. The panes render it; apply and check turn what changed
// into alerts.
type market struct {
	rows  map[string]*row
	order []string

	conn        client.StateEvent
	roles       map[string]string // server URL -> role from the config ("primary")
	nodeRole    string            // the connected node's role as it says (cluster: "active", "standby"); "" if it does not
	switched    bool              // the connected node became active while we were on it (a failover without reconnecting)
	lastURL     string            // URL of the last connection that got a Welcome
	fromURL     string            // the connection before this one, when this one failed over
	connectedAt time.Time         // start of the current connection
	downSince   time.Time         // when the link went down (zero while up)
	connects    int               // connections so far
	rtt         time.Duration
	lastRx      time.Time // last message of any kind: link liveness, not data age
	errors      int
	lastErr     *protocol.Error

	staleAfter time.Duration
	thresholds map[string]time.Duration
}

func newMarket(cfg *Config) *market {
	mk := &market{
		rows:       make(map[string]*row),
		staleAfter: cfg.StaleAfter,
		thresholds: cfg.Thresholds,
		roles:      cfg.Roles,
	}
	for _, s := range cfg.Symbols {
		mk.add(s)
	}
	return mk
}

func (mk *market) add(sym string) *row {
	r := &row{symbol: sym}
	mk.rows[sym] = r
	mk.order = append(mk.order, sym)
	return r
}

// threshold is the age past which sym's row is stale.
func (mk *market) threshold(sym string) time.Duration {
	if d, ok := mk.thresholds[sym]; ok && d > 0 {
		return d
	}
	return mk.staleAfter
}

// linkUp reports whether our own connection is up: when it is not, every
// row is frozen, whatever its age.
func (mk *market) linkUp() bool { return mk.conn.State == client.Connected }

// rowState is what a row's freshness mark says, in order of precedence.
type rowState uint8

const (
	stateFresh     rowState = iota
	stateWaiting            // no value yet
	stateFrozen             // our link is down: nothing shown is current
	stateFeedStale          // the server says the symbol's source went quiet
	stateStale              // no value for longer than the symbol's threshold
	stateGap                // fresh, but values were skipped across a reconnect
)

func (mk *market) state(r *row, now time.Time) rowState {
	switch {
	case r.updated.IsZero():
		return stateWaiting
	case !mk.linkUp():
		return stateFrozen
	case r.feedStale:
		return stateFeedStale
	case now.Sub(r.updated) > mk.threshold(r.symbol):
		return stateStale
	case !r.gapAt.IsZero() && now.Sub(r.gapAt) < gapHold:
		return stateGap
	}
	return stateFresh
}

// staleness describes why sym's price should not be trusted, or "" if it can
// be: the order form warns with it.
func (mk *market) staleness(sym string, now time.Time) string {
	r := mk.rows[sym]
	if r == nil {
		return sym + " is not on the board: no price"
	}
	age := formatAge(now.Sub(r.updated))
	switch mk.state(r, now) {
	case stateWaiting:
		return sym + " has no price yet"
	case stateFrozen:
		return sym + " is FROZEN (link down), price " + age + " old"
	case stateFeedStale:
		return sym + " is FEED-STALE (server: source silent), price " + age + " old"
	case stateStale:
		return sym + " is STALE, price " + age + " old"
	}
	return ""
}

// symbolSet collects symbols for one aggregated alert.
type symbolSet []string

// text renders "EURUSD what" or "EURUSD, NZDUSD, USDJPY +4 what".
func (s symbolSet) text(what string) string {
	const show = 3
	var b strings.Builder
	for i, sym := range s {
		if i == show {
			b.WriteString(" +" + strconv.Itoa(len(s)-show))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sym)
	}
	return b.String() + " " + what
}

func (s symbolSet) alert(now time.Time, lvl Level, what string) Alert {
	a := Alert{Time: now, Level: lvl, Text: s.text(what)}
	if len(s) == 1 {
		a.Symbol = s[0]
	}
	return a
}

// apply records a batch of client events and returns the alerts they raise.
// Alerts about many symbols in one batch are aggregated into one line.
func (mk *market) apply(evs []client.Event, now time.Time) []Alert {
	var alerts []Alert
	var feedStale, recovered, gapped symbolSet
	var recoveredFor time.Duration
	flush := func() {
		if len(feedStale) > 0 {
			alerts = append(alerts, feedStale.alert(now, LevelWarn, "feed stale: the server says its source is silent"))
		}
		if len(gapped) > 0 {
			alerts = append(alerts, gapped.alert(now, LevelInfo, "gap-recovered after reconnect (values skipped)"))
		}
		if len(recovered) > 0 {
			what := "recovered"
			if len(recovered) == 1 {
				what += " after " + formatAge(recoveredFor)
			}
			alerts = append(alerts, recovered.alert(now, LevelInfo, what))
		}
		feedStale, recovered, gapped = nil, nil, nil
	}
	for _, ev := range evs {
		switch ev := ev.(type) {
		case client.PriceEvent:
			r := mk.rows[ev.Topic]
			if r == nil {
				r = mk.add(ev.Topic)
			}
			wasFeedStale := r.feedStale
			r.apply(&ev)
			if ev.Received.After(mk.lastRx) {
				mk.lastRx = ev.Received
			}
			switch {
			case r.feedStale && !wasFeedStale:
				feedStale = append(feedStale, ev.Topic)
				if !r.alerted {
					r.alerted, r.staleSince = true, ev.Received
				}
			case !r.feedStale && r.alerted:
				r.alerted = false
				recovered = append(recovered, ev.Topic)
				recoveredFor = ev.Received.Sub(r.staleSince)
			}
			if ev.Gap {
				gapped = append(gapped, ev.Topic)
			}
		case client.StateEvent:
			flush()
			alerts = append(alerts, mk.setState(ev, now)...)
		case client.RTTEvent:
			mk.rtt = ev.RTT
			mk.lastRx = now
		case client.RoleEvent:
			flush()
			alerts = append(alerts, mk.setRole(ev.Role, now)...)
		case client.ErrorEvent:
			if ev.Err == mk.lastErr {
				continue // the client reports a fatal error twice (session and Run)
			}
			mk.lastErr = ev.Err
			flush()
			mk.errors++
			a := Alert{Time: now, Level: LevelError, Symbol: ev.Err.Topic}
			a.Text = fmt.Sprintf("server error %d: %s", ev.Err.Code, ev.Err.Reason)
			if ev.Err.Topic != "" {
				a.Text = ev.Err.Topic + " " + a.Text
			}
			alerts = append(alerts, a)
		}
	}
	flush()
	return append(alerts, mk.check(now)...)
}

// role is the connected node's role: what the node says (a cluster
// node's), else the config's name for url ("primary"), else "".
func (mk *market) role(url string) string {
	if mk.nodeRole != "" {
		return mk.nodeRole
	}
	return mk.roles[url]
}

// setRole records the connected node's new role. A standby we were on that
// becomes active is a failover the trader did not have to reconnect for:
// the status bar says so, as after a reconnect to another node.
func (mk *market) setRole(role string, now time.Time) []Alert {
	prev := mk.nodeRole
	mk.nodeRole = role
	if prev == role || mk.conn.State != client.Connected {
		return nil
	}
	text := "node " + mk.conn.Server + " is now " + role + " (was " + prev + ")"
	lvl := LevelInfo
	if role == "active" && prev != "" {
		mk.switched = true
		lvl, text = LevelWarn, "failed over: "+text
	}
	return []Alert{{Time: now, Level: lvl, Text: text}}
}

// setState records a connection state change.
func (mk *market) setState(ev client.StateEvent, now time.Time) []Alert {
	prev := mk.conn
	mk.conn = ev
	var alerts []Alert
	switch ev.State {
	case client.Connected:
		mk.nodeRole, mk.switched = ev.Role, false
		node := ev.Server
		if role := mk.role(ev.URL); role != "" {
			node += " (" + role + ")"
		}
		switch {
		case ev.FailedOver || (mk.lastURL != "" && mk.lastURL != ev.URL):
			alerts = append(alerts, Alert{Time: now, Level: LevelWarn,
				Text: "failed over to node " + node + " " + ev.URL + mk.downFor(now) + ", was " + mk.lastURL})
		case mk.connects > 0:
			alerts = append(alerts, Alert{Time: now, Level: LevelInfo,
				Text: "reconnected to " + ev.URL + " node " + node + mk.downFor(now) + ", session " + sessionKind(ev)})
		default:
			alerts = append(alerts, Alert{Time: now, Level: LevelInfo, Text: "connected to " + ev.URL + " node " + node})
		}
		mk.connects++
		mk.fromURL = ""
		if ev.FailedOver || (mk.lastURL != "" && mk.lastURL != ev.URL) {
			mk.fromURL = mk.lastURL
		}
		mk.lastURL = ev.URL
		mk.connectedAt = now
		mk.downSince = time.Time{}
		mk.lastRx = now
	case client.Reconnecting:
		if prev.State == client.Connected || mk.downSince.IsZero() {
			mk.downSince = now
			why := ""
			if ev.Err != nil {
				why = ": " + ev.Err.Error()
			}
			lvl, what := LevelError, "link down, prices FROZEN"
			if prev.State != client.Connected {
				lvl, what = LevelWarn, "cannot connect"
			}
			alerts = append(alerts, Alert{Time: now, Level: lvl, Text: what + why})
		}
	case client.Closed:
		if mk.downSince.IsZero() {
			mk.downSince = now
		}
	}
	return alerts
}

func (mk *market) downFor(now time.Time) string {
	if mk.downSince.IsZero() {
		return ""
	}
	return " after " + formatAge(now.Sub(mk.downSince)) + " down"
}

// sessionKind says whether the server resumed our session (its
// subscriptions and stream positions) or started a new one, and names the
// transport when it is the HTTP streaming fallback.
func sessionKind(ev client.StateEvent) string {
	kind := "new"
	if ev.Resumed {
		kind = "resumed"
	}
	if ev.Transport != "" && ev.Transport != "websocket" {
		kind += " over " + ev.Transport
	}
	return kind
}

// check raises the alerts that time alone causes: a row whose age passed its
// threshold while the link was up. A row is only "went stale" once the link
// has been up for its threshold: right after a reconnect the snapshots are
// still on their way.
func (mk *market) check(now time.Time) []Alert {
	if !mk.linkUp() {
		return nil
	}
	var stale symbolSet
	for _, sym := range mk.order {
		r := mk.rows[sym]
		if r.alerted || r.updated.IsZero() {
			continue
		}
		th := mk.threshold(sym)
		since := r.updated
		if mk.connectedAt.After(since) {
			since = mk.connectedAt
		}
		if now.Sub(r.updated) > th && now.Sub(since) > th {
			stale = append(stale, sym)
			r.alerted, r.staleSince = true, r.updated
		}
	}
	if len(stale) == 0 {
		return nil
	}
	what := "stale: no price for over " + formatAge(mk.threshold(stale[0]))
	for _, sym := range stale[1:] {
		if mk.threshold(sym) != mk.threshold(stale[0]) {
			what = "stale: no price within their thresholds"
		}
	}
	return []Alert{stale.alert(now, LevelWarn, what)}
}
