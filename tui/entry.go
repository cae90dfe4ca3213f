package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopspring/decimal"
)

type formField int

const (
	fieldSymbol formField = iota
	fieldSide
	fieldQty
	fieldType
	fieldPrice
	fieldTIF
	fieldRoute
	numFields
)

var fieldLabels = [numFields]string{"Symbol", "Side", "Qty", "Type", "Price", "TIF", "Route"}

var (
	sides = []Side{SideBuy, SideSell}
	types = []OrdType{OrdTypeLimit, OrdTypeMarket}
	tifs  = []TimeInForce{TIFDay, TIFIOC, TIFFOK, TIFGTC}
	// routes: the auto venue, or the desk (a care order, HandlInst=3).
	routes = []bool{false, true}
)

func routeName(care bool) string {
	if care {
		return "Desk (care)"
	}
	return "Auto"
}

// formHeight is the lines the order form takes.
const formHeight = 10

// entryForm is the order entry form: a new order, or a replace of a working
// one. It validates, warns before sending on a price that is not current,
// and sends each request once.
type entryForm struct {
	*Common
	width, height int
	svc           OrderService
	mk            *market
	newID         func() string

	open     bool
	replace  *Order // the order being replaced; nil for a new order
	symbol   lineInput
	qty      lineInput
	price    lineInput
	side     Side
	typ      OrdType
	tif      TimeInForce
	care     bool // route to the desk: a care order (HandlInst=3)
	focus    formField
	errs     [numFields]string // validation errors per field
	err      string            // the last error (validation summary or the service's)
	warn     string            // stale warning waiting for confirmation
	warnedAt string            // the request the warning is about: Confirm sends exactly that
	sending  string            // ClOrdID in flight: enter does nothing until it is answered
}

func newEntryForm(c *Common, svc OrderService, mk *market, newID func() string) *entryForm {
	f := &entryForm{Common: c, svc: svc, mk: mk, newID: newID}
	input := func(limit int) lineInput {
		return lineInput{limit: limit, width: 16, cursor: c.Styles.Form.Cursor}
	}
	f.symbol, f.qty, f.price = input(32), input(20), input(20)
	f.symbol.upper = true
	return f
}

func (f *entryForm) SetSize(w, h int) { f.width, f.height = w, h }

func (f *entryForm) ShortHelp() []key.Binding {
	k := f.Keys
	return []key.Binding{k.Submit, k.NextField, k.Right, k.Back}
}

func (f *entryForm) FullHelp() [][]key.Binding {
	k := f.Keys
	return [][]key.Binding{{k.Submit, k.NextField, k.PrevField, k.Left, k.Right, k.Back}}
}

// openNew opens the form for a new order on symbol.
func (f *entryForm) openNew(symbol string, side Side) {
	f.reset()
	f.symbol.SetValue(symbol)
	f.side = side
	f.focus = fieldQty
	if symbol == "" {
		f.focus = fieldSymbol
	}
	// Offer the touch price: what a buy pays now, what a sell gets.
	if r := f.mk.rows[symbol]; r != nil {
		if p := r.touch(side); p != "-" {
			f.price.SetValue(p)
		}
	}
	f.focusField()
}

// openReplace opens the form on a working order: quantity, price and time in
// force can change.
func (f *entryForm) openReplace(o *Order) {
	f.reset()
	f.replace = o
	f.symbol.SetValue(o.Symbol)
	f.side, f.typ, f.tif, f.care = o.Side, o.Type, o.TIF, o.Care
	if f.tif == 0 {
		f.tif = TIFDay
	}
	f.qty.SetValue(o.Qty.String())
	if o.Type != OrdTypeMarket {
		f.price.SetValue(o.Price.String())
	}
	f.focus = fieldQty
	f.focusField()
}

func (f *entryForm) reset() {
	f.open = true
	f.replace = nil
	f.symbol.Reset()
	f.qty.Reset()
	f.price.Reset()
	f.side, f.typ, f.tif, f.care = SideBuy, OrdTypeLimit, TIFDay, false
	f.errs = [numFields]string{}
	f.err, f.warn, f.warnedAt, f.sending = "", "", "", ""
}

func (f *entryForm) close() {
	f.open = false
	f.sending = ""
}

// editable reports whether a field can take the focus.
func (f *entryForm) editable(fl formField) bool {
	switch fl {
	case fieldPrice:
		return f.typ != OrdTypeMarket
	case fieldSymbol, fieldSide, fieldType, fieldRoute:
		return f.replace == nil // a replace keeps the order's route
	}
	return true
}

func (f *entryForm) moveFocus(d int) {
	for range numFields {
		f.focus = (f.focus + formField(d) + numFields) % numFields
		if f.editable(f.focus) {
			break
		}
	}
	f.focusField()
}

func (f *entryForm) focusField() {
	for fl, ti := range map[formField]*lineInput{fieldSymbol: &f.symbol, fieldQty: &f.qty, fieldPrice: &f.price} {
		if fl == f.focus {
			ti.Focus()
		} else {
			ti.Blur()
		}
	}
}

func (f *entryForm) input() *lineInput {
	switch f.focus {
	case fieldSymbol:
		return &f.symbol
	case fieldQty:
		return &f.qty
	case fieldPrice:
		return &f.price
	}
	return nil
}

func cycle[T comparable](opts []T, cur T, d int) T {
	for i, o := range opts {
		if o == cur {
			return opts[(i+d+len(opts))%len(opts)]
		}
	}
	return opts[0]
}

func (f *entryForm) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	keys := f.Keys
	switch {
	case key.Matches(k, keys.Back):
		if f.warn != "" {
			f.warn, f.warnedAt = "", ""
			return nil
		}
		f.close()
		return nil
	case f.warn != "" && key.Matches(k, keys.Confirm):
		return f.submit(true)
	case key.Matches(k, keys.Submit):
		return f.submit(false)
	case key.Matches(k, keys.NextField):
		f.moveFocus(1)
		return nil
	case key.Matches(k, keys.PrevField):
		f.moveFocus(-1)
		return nil
	}
	if ti := f.input(); ti != nil {
		if ti.Update(k) {
			f.edited()
		}
		return nil
	}
	d := 0
	switch {
	case key.Matches(k, keys.Left):
		d = -1
	case key.Matches(k, keys.Right):
		d = 1
	default:
		return nil
	}
	switch f.focus {
	case fieldSide:
		f.side = cycle(sides, f.side, d)
	case fieldType:
		f.typ = cycle(types, f.typ, d)
	case fieldTIF:
		f.tif = cycle(tifs, f.tif, d)
	case fieldRoute:
		f.care = cycle(routes, f.care, d)
	}
	f.edited()
	return nil
}

// edited drops a pending stale confirmation: the trader confirms a request,
// not whatever the form holds later.
func (f *entryForm) edited() {
	f.warn, f.warnedAt = "", ""
}

// validate checks the form and returns the request's parts.
func (f *entryForm) validate() (sym string, qty, price decimal.Decimal, ok bool) {
	f.errs = [numFields]string{}
	sym = strings.TrimSpace(f.symbol.Value())
	if sym == "" {
		f.errs[fieldSymbol] = "required"
	} else if !validSymbol(sym) {
		f.errs[fieldSymbol] = "letters, digits and . _ - : / only"
	}
	qty, err := decimal.NewFromString(strings.TrimSpace(f.qty.Value()))
	switch {
	case strings.TrimSpace(f.qty.Value()) == "":
		f.errs[fieldQty] = "required"
	case err != nil:
		f.errs[fieldQty] = strconv.Quote(f.qty.Value()) + " is not a number"
	case !qty.IsPositive():
		f.errs[fieldQty] = "must be more than 0"
	case f.replace != nil && qty.LessThanOrEqual(f.replace.CumQty):
		f.errs[fieldQty] = "must be more than the " + f.replace.CumQty.String() + " already filled"
	}
	if f.typ == OrdTypeLimit {
		p := strings.TrimSpace(f.price.Value())
		price, err = decimal.NewFromString(p)
		switch {
		case p == "":
			f.errs[fieldPrice] = "required for a limit order"
		case err != nil:
			f.errs[fieldPrice] = strconv.Quote(p) + " is not a number"
		case !price.IsPositive():
			f.errs[fieldPrice] = "must be more than 0"
		}
	} else {
		price = decimal.Zero
	}
	n := 0
	for _, e := range f.errs {
		if e != "" {
			n++
		}
	}
	switch {
	case n == 1:
		f.err = "1 field to fix"
	case n > 1:
		f.err = strconv.Itoa(n) + " fields to fix"
	case f.replace != nil && qty.Equal(f.replace.Qty) && price.Equal(f.replace.Price) && f.tif == f.replace.TIF:
		f.err = "nothing changed"
		n++
	default:
		f.err = ""
	}
	return sym, qty, price, n == 0
}

func validSymbol(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/", r)) {
			return false
		}
	}
	return true
}

// submit validates, asks for confirmation on a stale price, then sends.
// The confirmation is its own key (confirmed), pressed while the warning
// about exactly this request shows: enter pressed twice does not send.
func (f *entryForm) submit(confirmed bool) tea.Cmd {
	if f.sending != "" {
		return nil // one request at a time: enter twice sends once
	}
	if f.svc == nil {
		f.err = "order entry unavailable: no order service"
		return nil
	}
	sym, qty, price, ok := f.validate()
	if !ok {
		return nil
	}
	fingerprint := strings.Join([]string{sym, string(f.side), qty.String(), string(f.typ), price.String(), string(f.tif), routeName(f.care)}, "|")
	staleAck := ""
	if w := f.mk.staleness(sym, f.Now()); w != "" {
		if !confirmed || f.warnedAt != fingerprint {
			f.warn, f.warnedAt = w, fingerprint
			return nil
		}
		staleAck = w
	}
	f.warn, f.warnedAt, f.err = "", "", ""
	id := f.newID()
	f.sending = id
	if o := f.replace; o != nil {
		return replaceCmd(f.svc, ReplaceRequest{ClOrdID: id, OrigClOrdID: o.ClOrdID, ID: o.ID, Symbol: o.Symbol, Side: o.Side,
			Type: o.Type, Qty: qty, Price: price, TIF: f.tif, StaleAck: staleAck})
	}
	return submitCmd(f.svc, OrderRequest{ClOrdID: id, Symbol: sym, Side: f.side, Type: f.typ, Qty: qty, Price: price, TIF: f.tif,
		Care: f.care, StaleAck: staleAck})
}

// sent records the service's answer for the request in flight.
func (f *entryForm) sent(msg orderSentMsg) []Alert {
	if !f.open || f.sending == "" {
		return nil
	}
	var id string
	switch r := msg.req.(type) {
	case OrderRequest:
		id = r.ClOrdID
	case ReplaceRequest:
		id = r.ClOrdID
	default:
		return nil
	}
	if id != f.sending {
		return nil
	}
	f.sending = ""
	if msg.err != nil {
		f.err = "not sent: " + msg.err.Error()
		return []Alert{{Time: f.Now(), Level: LevelError, Text: string(msg.action) + " " + id + " not sent: " + msg.err.Error()}}
	}
	f.close()
	return nil
}

func (f *entryForm) View() string {
	if !f.open || f.height <= 0 {
		return ""
	}
	st := &f.Styles.Form
	title := "New order"
	if f.replace != nil {
		title = "Replace order " + f.replace.ID
		if f.replace.Care {
			title = "Replace care order " + f.replace.ID
		}
	}
	lines := []string{paneTitle(f.Styles, title, "", true, f.width)}
	for fl := range numFields {
		label := st.Label
		mark := "  "
		if fl == f.focus {
			label, mark = st.LabelFocused, "▸ "
		}
		var value string
		switch fl {
		case fieldSymbol:
			value = f.symbol.View()
		case fieldQty:
			value = f.qty.View()
		case fieldPrice:
			value = f.price.View()
			if f.typ == OrdTypeMarket {
				value = padRight("(market)", 17)
			}
		case fieldSide:
			value = choice(f.side.String(), fl == f.focus && f.editable(fl))
		case fieldType:
			value = choice(f.typ.String(), fl == f.focus && f.editable(fl))
		case fieldTIF:
			value = choice(f.tif.String(), fl == f.focus)
		case fieldRoute:
			value = choice(routeName(f.care), fl == f.focus && f.editable(fl))
		}
		line := "  " + mark + label.Render(padRight(fieldLabels[fl], 7)) + st.Value.Render(value)
		switch {
		case f.errs[fl] != "":
			line += " " + st.Error.Render("✖ "+f.errs[fl])
		case fl == fieldPrice:
			line += " " + st.Hint.Render(f.quoteHint())
		case fl == fieldRoute && f.care:
			line += " " + st.Hint.Render("waits for the desk to accept and fill it")
		}
		lines = append(lines, truncate(line, f.width))
	}
	hint := "  enter send · tab/↓ next field · ←/→ change · esc cancel"
	switch {
	case f.sending != "":
		lines = append(lines, st.Hint.Render(truncate("  sending "+f.sending+"…", f.width)))
	case f.warn != "":
		lines = append(lines, st.Warn.Render(truncate("  ⚠ "+f.warn, f.width)))
		hint = "  ⚠ " + f.Keys.Confirm.Help().Key + " sends anyway · esc goes back to the form"
	case f.err != "":
		lines = append(lines, st.Error.Render(truncate("  ✖ "+f.err, f.width)))
	default:
		lines = append(lines, "")
	}
	if f.warn != "" {
		lines = append(lines, st.Warn.Render(truncate(hint, f.width)))
	} else {
		lines = append(lines, st.Hint.Render(truncate(hint, f.width)))
	}
	return fitLines(strings.Join(lines, "\n"), f.height)
}

func choice(v string, focused bool) string {
	if focused {
		return padRight("◂ "+v+" ▸", 17)
	}
	return padRight("  "+v, 17)
}

// quoteHint shows, beside the price, the price the order would trade at
// now (the ask for a buy, the bid for a sell), the symbol's state as the
// board shows it (fresh, STALE, FEED-STALE, FROZEN...) and its age.
func (f *entryForm) quoteHint() string {
	sym := strings.TrimSpace(f.symbol.Value())
	r := f.mk.rows[sym]
	if r == nil || r.updated.IsZero() {
		return ""
	}
	touch := "ask"
	if f.side == SideSell {
		touch = "bid"
	}
	state := markText(f.mk.state(r, f.Now()))
	if state == "" {
		state = "fresh"
	}
	return "trades at " + touch + " " + r.touch(f.side) + " · " + state + " · " + formatAge(f.Now().Sub(r.updated)) + " old"
}
