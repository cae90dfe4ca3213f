package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopspring/decimal"
)

// openFormMsg asks the root to open the order form: new on a symbol, or a
// replace of an order.
type openFormMsg struct {
	side    Side
	symbol  string
	replace *Order
}

// blotterPane lists the trader's orders (or fills), newest first, and sends
// cancels. A nil service means order entry is unavailable.
type blotterPane struct {
	*Common
	width, height int
	svc           OrderService
	newID         func() string // fresh ClOrdIDs

	orders    map[string]*Order
	ids       []string // Order.ID in entry order
	fills     []Fill   // oldest first
	showFills bool
	nav       listNav
	focused   bool
	filter    string
	pending   map[string]orderAction // request in flight per Order.ID: nothing is sent twice
	notice    string                 // the outcome of the last action, shown under the title
	deskForm  deskForm               // fill and reject input for care orders
	// since is when the dashboard started: order events from before it
	// (an account's history, replayed on connect) fill the blotter but
	// raise no alerts, which are for what happens while one watches.
	since time.Time
}

// historySlack is how far before the dashboard's start an order event may
// be and still raise an alert: the clocks of the gateway and the dashboard
// may differ by this much.
const historySlack = 5 * time.Second

func newBlotterPane(c *Common, svc OrderService, newID func() string) *blotterPane {
	return &blotterPane{Common: c, svc: svc, newID: newID, orders: make(map[string]*Order), pending: make(map[string]orderAction),
		deskForm: newDeskForm(c), since: c.Now()}
}

// past reports whether an order event of time t is history: from before
// the dashboard started.
func (p *blotterPane) past(t time.Time) bool {
	return !t.IsZero() && t.Before(p.since.Add(-historySlack))
}

func (p *blotterPane) SetSize(w, h int) { p.width, p.height = w, h }

func (p *blotterPane) ShortHelp() []key.Binding {
	k := p.Keys
	if p.svc == nil {
		return []key.Binding{k.Up, k.Down, k.Fills}
	}
	// The desk keys the selected care order's state offers come first.
	return append(p.offered(p.selected()), k.Up, k.Down, k.Buy, k.Sell, k.Cancel, k.Replace, k.Fills)
}

func (p *blotterPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// visible returns the orders shown, newest first, filtered by symbol.
func (p *blotterPane) visible() []*Order {
	out := make([]*Order, 0, len(p.ids))
	for i := len(p.ids) - 1; i >= 0; i-- {
		o := p.orders[p.ids[i]]
		if matchFilter(o.Symbol, p.filter) {
			out = append(out, o)
		}
	}
	return out
}

func (p *blotterPane) visibleFills() []Fill {
	out := make([]Fill, 0, len(p.fills))
	for i := len(p.fills) - 1; i >= 0; i-- {
		if matchFilter(p.fills[i].Symbol, p.filter) {
			out = append(out, p.fills[i])
		}
	}
	return out
}

func (p *blotterPane) listHeight() int {
	if p.deskForm.open {
		return max(p.height-4, 1)
	}
	return max(p.height-3, 1)
}

func (p *blotterPane) count() int {
	if p.showFills {
		return len(p.visibleFills())
	}
	return len(p.visible())
}

func (p *blotterPane) selected() *Order {
	v := p.visible()
	if p.showFills || p.nav.cursor >= len(v) {
		return nil
	}
	return v[p.nav.cursor]
}

func (p *blotterPane) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	if p.nav.handle(k, p.Keys, p.count(), p.listHeight()) {
		return nil
	}
	switch {
	case key.Matches(k, p.Keys.Fills):
		p.showFills = !p.showFills
		p.nav = listNav{}
	case key.Matches(k, p.Keys.Cancel):
		return p.cancel()
	case key.Matches(k, p.Keys.DeskAccept):
		return p.desk(deskKeyAccept)
	case key.Matches(k, p.Keys.DeskReject):
		return p.desk(deskKeyReject)
	case key.Matches(k, p.Keys.DeskFill):
		return p.desk(deskKeyFill)
	case key.Matches(k, p.Keys.DeskDone):
		return p.desk(deskKeyDone)
	case key.Matches(k, p.Keys.DeskCancel):
		return p.desk(deskKeyCancel)
	case key.Matches(k, p.Keys.Replace):
		o := p.selected()
		switch {
		case p.svc == nil:
			p.notice = "order entry unavailable: no order service"
		case o == nil:
			p.notice = "no order selected"
		case o.Status.Done():
			p.notice = "order " + o.ID + " is " + o.Status.String() + ": nothing to replace"
		case p.pending[o.ID] != "":
			p.notice = "order " + o.ID + ": " + string(p.pending[o.ID]) + " already in flight"
		default:
			cp := *o
			return func() tea.Msg { return openFormMsg{replace: &cp, symbol: cp.Symbol, side: cp.Side} }
		}
	}
	return nil
}

func (p *blotterPane) cancel() tea.Cmd {
	o := p.selected()
	switch {
	case p.svc == nil:
		p.notice = "order entry unavailable: no order service"
		return nil
	case o == nil:
		p.notice = "no order selected"
		return nil
	case o.Status.Done():
		p.notice = "order " + o.ID + " is " + o.Status.String() + ": nothing to cancel"
		return nil
	case p.pending[o.ID] != "":
		p.notice = "order " + o.ID + ": " + string(p.pending[o.ID]) + " already in flight"
		return nil
	}
	req := CancelRequest{ClOrdID: p.newID(), OrigClOrdID: o.ClOrdID, ID: o.ID, Symbol: o.Symbol, Side: o.Side}
	p.pending[o.ID] = actionCancel
	p.notice = "cancel " + o.ID + " sent as " + req.ClOrdID
	return cancelCmd(p.svc, req)
}

// added records an order entered here and accepted for sending, before the
// service reports it.
func (p *blotterPane) added(req OrderRequest, now time.Time) {
	if _, ok := p.orders[req.ClOrdID]; ok {
		return
	}
	p.orders[req.ClOrdID] = &Order{ID: req.ClOrdID, ClOrdID: req.ClOrdID, Symbol: req.Symbol, Side: req.Side, Type: req.Type,
		TIF: req.TIF, Qty: req.Qty, Price: req.Price, Status: StatusPendingNew, LeavesQty: req.Qty, Care: req.Care, Updated: now, Unconfirmed: true}
	p.ids = append(p.ids, req.ClOrdID)
}

// sent records the outcome of a request and returns its alert, if any.
func (p *blotterPane) sent(msg orderSentMsg, now time.Time) []Alert {
	if msg.action != actionNew {
		if msg.err == nil {
			return nil // pending until the service reports the order
		}
		delete(p.pending, msg.id)
		p.notice = string(msg.action) + " " + msg.id + " failed: " + msg.err.Error()
		return []Alert{{Time: now, Level: LevelError, Text: string(msg.action) + " for order " + msg.id + " not sent: " + msg.err.Error()}}
	}
	if msg.err != nil {
		return nil // the form shows it and raises the alert
	}
	req := msg.req.(OrderRequest)
	p.added(req, now)
	p.notice = "order " + req.ClOrdID + " sent"
	return nil
}

// apply records order updates and returns the alerts they raise: rejected,
// filled, cancel rejected.
func (p *blotterPane) apply(msg OrdersMsg, now time.Time) []Alert {
	var alerts []Alert
	for _, o := range msg.Orders {
		prev, ok := p.orders[o.ID]
		if !ok {
			p.ids = append(p.ids, o.ID)
		}
		cp := o
		p.orders[o.ID] = &cp
		delete(p.pending, o.ID)
		if ok && prev.Status == o.Status && !prev.Unconfirmed || p.past(o.Updated) {
			continue
		}
		desc := "order " + o.ID + " " + o.Side.String() + " " + o.Qty.String() + " " + o.Symbol
		switch o.Status {
		case StatusRejected:
			alerts = append(alerts, Alert{Time: now, Level: LevelError, Symbol: o.Symbol, Text: desc + " rejected: " + orText(o.Text, "no reason given")})
		case StatusFilled:
			alerts = append(alerts, Alert{Time: now, Level: LevelInfo, Symbol: o.Symbol, Text: desc + " filled, avg " + o.AvgPx.String()})
		case StatusCanceled:
			alerts = append(alerts, Alert{Time: now, Level: LevelInfo, Symbol: o.Symbol, Text: desc + " canceled, " + o.CumQty.String() + " filled" + orText(prefixed(": ", o.Text), "")})
		case StatusExpired, StatusDoneForDay:
			alerts = append(alerts, Alert{Time: now, Level: LevelWarn, Symbol: o.Symbol, Text: desc + " " + o.Status.String() + ", " + o.CumQty.String() + " filled"})
		}
	}
	for _, f := range msg.Fills {
		p.fills = append(p.fills, f)
		if p.past(f.Time) {
			continue
		}
		alerts = append(alerts, Alert{Time: now, Level: LevelInfo, Symbol: f.Symbol,
			Text: "fill " + f.Side.String() + " " + f.Qty.String() + " " + f.Symbol + " @ " + f.Price.String() + " (order " + f.ID + ")"})
	}
	for _, r := range msg.CancelRejects {
		delete(p.pending, r.ID)
		what := "cancel"
		if r.Replace {
			what = "replace"
		}
		if p.past(r.Time) {
			continue
		}
		sym := ""
		if o := p.orders[r.ID]; o != nil {
			sym = o.Symbol
		}
		alerts = append(alerts, Alert{Time: r.Time, Level: LevelError, Symbol: sym, Text: what + " rejected for order " + r.ID + ": " + orText(r.Reason, "no reason given")})
		if alerts[len(alerts)-1].Time.IsZero() {
			alerts[len(alerts)-1].Time = now
		}
	}
	p.nav.clamp(p.count(), p.listHeight())
	return alerts
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

var orderCols = []column{
	{title: "ID", width: 8, prio: 3},
	{title: "SYMBOL", width: 7},
	{title: "SIDE", width: 4},
	{title: "QTY", width: 8, right: true},
	{title: "TYPE", width: 4, prio: 5},
	{title: "PRICE", width: 9, right: true},
	{title: "TIF", width: 3, prio: 6},
	{title: "STATUS", width: 9},
	{title: "FILLED", width: 8, right: true},
	{title: "LEAVES", width: 8, right: true, prio: 1},
	{title: "AVG PX", width: 9, right: true, prio: 2},
	{title: "TEXT", width: 18, prio: 7},
}

var fillCols = []column{
	{title: "TIME", width: 8},
	{title: "ORDER", width: 8},
	{title: "SYMBOL", width: 7},
	{title: "SIDE", width: 4},
	{title: "QTY", width: 8, right: true},
	{title: "PRICE", width: 9, right: true},
	{title: "EXEC ID", width: 12, prio: 1},
}

func num(d decimal.Decimal) string { return d.String() }

func (p *blotterPane) View() string {
	if p.height <= 0 {
		return ""
	}
	st := &p.Styles.Blotter
	name, extra := "Orders", strconv.Itoa(len(p.ids))+" · fills "+strconv.Itoa(len(p.fills))
	if p.showFills {
		name, extra = "Fills", strconv.Itoa(len(p.fills))+" · orders "+strconv.Itoa(len(p.ids))
	}
	if p.svc == nil {
		extra += " · order entry unavailable"
	}
	lines := []string{paneTitle(p.Styles, name, extra, p.focused, p.width)}
	switch {
	case p.svc == nil:
		lines = append(lines, st.Notice.Render(truncate("  ⚠ Order entry unavailable: no order service is connected.", p.width)))
	case p.deskForm.open && !p.showFills:
		lines = append(lines, p.deskForm.lines(p.width)...)
	case p.notice != "":
		lines = append(lines, st.Notice.Render(truncate("  "+p.notice, p.width)))
	case p.focused && !p.showFills && p.selected() != nil && p.selected().Care:
		lines = append(lines, p.Styles.Muted.Render(truncate("  "+p.deskHint(p.selected()), p.width)))
	default:
		lines = append(lines, "")
	}
	if p.showFills {
		lines = append(lines, p.fillLines()...)
	} else {
		lines = append(lines, p.orderLines()...)
	}
	return fitLines(strings.Join(lines, "\n"), p.height)
}

func (p *blotterPane) orderLines() []string {
	st := &p.Styles.Blotter
	shown := fitColumns(orderCols, p.width-2, 1)
	cells := make([]string, len(orderCols))
	for i, c := range orderCols {
		cells[i] = c.title
	}
	lines := []string{"  " + st.Header.Render(formatColumns(orderCols, shown, cells))}
	v := p.visible()
	if len(v) == 0 {
		return append(lines, p.Styles.Muted.Render(truncate("  no orders", p.width)))
	}
	h := p.listHeight()
	p.nav.clamp(len(v), h)
	for i := p.nav.offset; i < len(v) && i < p.nav.offset+h; i++ {
		o := v[i]
		price := "MKT"
		if o.Type != OrdTypeMarket {
			price = num(o.Price)
		}
		typ := "LMT"
		if o.Type == OrdTypeMarket {
			typ = "MKT"
		}
		avg := "-"
		if !o.CumQty.IsZero() {
			avg = num(o.AvgPx)
		}
		status := o.Status.String()
		if a := p.pending[o.ID]; a != "" {
			status += "…"
		}
		cells = []string{o.ID, o.Symbol, sideShort(o.Side), num(o.Qty), typ, price, o.TIF.String(), status,
			num(o.CumQty), num(o.LeavesQty), avg, o.Text}
		line := formatColumns(orderCols, shown, cells)
		style := st.Row
		switch {
		case o.Status == StatusFilled:
			style = st.Filled
		case o.Status.Done():
			style = st.Dead
		case o.Status == StatusPartiallyFilled || o.Status == StatusNew:
			style = st.Working
		}
		mark, care := " ", " "
		if i == p.nav.cursor && p.focused {
			mark, style = "▸", st.Selected.Inherit(style)
		}
		if o.Care {
			care = careMark
		}
		lines = append(lines, mark+care+style.Render(line))
	}
	return lines
}

func sideShort(s Side) string {
	switch s {
	case SideBuy:
		return "BUY"
	case SideSell:
		return "SELL"
	}
	return s.String()
}

func (p *blotterPane) fillLines() []string {
	st := &p.Styles.Blotter
	shown := fitColumns(fillCols, p.width-2, 1)
	cells := make([]string, len(fillCols))
	for i, c := range fillCols {
		cells[i] = c.title
	}
	lines := []string{"  " + st.Header.Render(formatColumns(fillCols, shown, cells))}
	v := p.visibleFills()
	if len(v) == 0 {
		return append(lines, p.Styles.Muted.Render(truncate("  no fills", p.width)))
	}
	h := p.listHeight()
	p.nav.clamp(len(v), h)
	for i := p.nav.offset; i < len(v) && i < p.nav.offset+h; i++ {
		f := v[i]
		cells = []string{f.Time.Format("15:04:05"), f.ID, f.Symbol, sideShort(f.Side), num(f.Qty), num(f.Price), f.ExecID}
		style := st.Buy
		if f.Side == SideSell {
			style = st.Sell
		}
		mark := "  "
		if i == p.nav.cursor && p.focused {
			mark = "▸ "
		}
		lines = append(lines, mark+style.Render(formatColumns(fillCols, shown, cells)))
	}
	return lines
}

// matchFilter reports whether sym matches the filter: a case-insensitive substring.
func matchFilter(sym, filter string) bool {
	if filter == "" {
		return true
	}
	return strings.Contains(strings.ToUpper(sym), strings.ToUpper(filter))
}
