package tui

import (
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopspring/decimal"
)

// Desk actions on care orders (HandlInst=3), worked from the blotter: the
// keys name what the trader wants (accept, reject, fill, done for day, desk
// cancel); the order's state says which DeskAction that is and whether it
// is offered at all.

// careMark marks a care order's row in the blotter.
const careMark = "◆"

// deskKey is one of the blotter's desk keys.
type deskKey int

const (
	deskKeyAccept deskKey = iota // accept what awaits the desk: a new order, a cancel, a replace
	deskKeyReject                // reject it, with a reason
	deskKeyFill                  // fill qty at price
	deskKeyDone                  // done for day
	deskKeyCancel                // unsolicited cancel
	numDeskKeys
)

func (k *KeyMap) deskBinding(d deskKey) key.Binding {
	return [numDeskKeys]key.Binding{k.DeskAccept, k.DeskReject, k.DeskFill, k.DeskDone, k.DeskCancel}[d]
}

// deskActions returns the desk actions order o's state allows, in key
// order: none for an order that is not a care order, has no OrderID yet
// (the gateway has not reported it) or is done.
func deskActions(o *Order) []DeskAction {
	if o == nil || !o.Care || o.OrderID == "" {
		return nil
	}
	var out []DeskAction
	switch o.Status {
	case StatusPendingNew:
		out = []DeskAction{DeskAccept, DeskReject}
	case StatusPendingCancel:
		out = []DeskAction{DeskAcceptCancel, DeskRejectCancel}
	case StatusPendingReplace:
		out = []DeskAction{DeskAcceptReplace, DeskRejectReplace}
	case StatusNew, StatusPartiallyFilled:
	default:
		return nil
	}
	if o.LeavesQty.IsPositive() {
		out = append(out, DeskFill) // a fill implies the ack; fills go on while a cancel or replace is pending
	}
	if o.Status == StatusNew || o.Status == StatusPartiallyFilled {
		out = append(out, DeskDoneForDay, DeskCancel)
	}
	return out
}

// deskKeyAction returns the action key d means for an order in status st,
// and false when it means none there.
func deskKeyAction(d deskKey, st OrdStatus) (DeskAction, bool) {
	switch d {
	case deskKeyAccept, deskKeyReject:
		acts := map[OrdStatus][2]DeskAction{
			StatusPendingNew:     {DeskAccept, DeskReject},
			StatusPendingCancel:  {DeskAcceptCancel, DeskRejectCancel},
			StatusPendingReplace: {DeskAcceptReplace, DeskRejectReplace},
		}
		a, ok := acts[st]
		return a[d], ok
	case deskKeyFill:
		return DeskFill, true
	case deskKeyDone:
		return DeskDoneForDay, true
	case deskKeyCancel:
		return DeskCancel, true
	}
	return "", false
}

// offered returns the desk keys offered on o, each with its help naming
// what it does there.
func (p *blotterPane) offered(o *Order) []key.Binding {
	acts := deskActions(o)
	if p.svc == nil || len(acts) == 0 || p.pending[o.ID] != "" {
		return nil
	}
	var out []key.Binding
	for d := range numDeskKeys {
		a, ok := deskKeyAction(d, o.Status)
		if !ok || !slices.Contains(acts, a) {
			continue
		}
		b := p.Keys.deskBinding(d)
		b.SetHelp(b.Help().Key, a.String())
		out = append(out, b)
	}
	return out
}

// deskHint is the blotter's hint line for a selected care order.
func (p *blotterPane) deskHint(o *Order) string {
	s := careMark + " care order " + o.ID
	switch {
	case o.OrderID == "":
		return s + ": waiting for the gateway to report it"
	case p.pending[o.ID] != "":
		return s + ": " + string(p.pending[o.ID]) + " in flight"
	}
	var parts []string
	for _, b := range p.offered(o) {
		parts = append(parts, b.Help().Key+" "+b.Help().Desc)
	}
	if len(parts) == 0 {
		return s + " is " + o.Status.String() + ": nothing for the desk"
	}
	return s + " " + o.Status.String() + ": " + strings.Join(parts, " · ")
}

// deskRefusal says why key d does nothing on o (the action is not offered).
func deskRefusal(d deskKey, o *Order) string {
	what := "order " + o.ID + " is " + o.Status.String()
	switch d {
	case deskKeyAccept, deskKeyReject:
		verb := "accept"
		if d == deskKeyReject {
			verb = "reject"
		}
		return what + ": nothing to " + verb + " (the desk answers PendNew, PendCxl and PendRpl orders)"
	case deskKeyFill:
		if o.Status.Done() || !o.LeavesQty.IsPositive() {
			return what + ": nothing left to fill"
		}
		return what + ": the desk cannot fill it"
	case deskKeyDone:
		return what + ": done for day ends a working (New, PartFill) order"
	}
	return what + ": a desk cancel ends a working (New, PartFill) order; answer a pending one with a/n"
}

// desk handles a desk key on the selected order: refuses it with a notice,
// opens the desk form (fill, reject) or sends the action.
func (p *blotterPane) desk(d deskKey) tea.Cmd {
	o := p.selected()
	switch {
	case p.svc == nil:
		p.notice = "order entry unavailable: no order service"
		return nil
	case o == nil:
		p.notice = "no order selected"
		return nil
	case !o.Care:
		p.notice = "order " + o.ID + " is not a care order: desk actions work care (HandlInst=3) orders only"
		return nil
	case p.pending[o.ID] != "":
		p.notice = "order " + o.ID + ": " + string(p.pending[o.ID]) + " already in flight"
		return nil
	case o.OrderID == "":
		p.notice = "care order " + o.ID + " is not reported by the gateway yet: no OrderID to work"
		return nil
	}
	a, ok := deskKeyAction(d, o.Status)
	if !ok || !slices.Contains(deskActions(o), a) {
		p.notice = deskRefusal(d, o)
		return nil
	}
	switch a {
	case DeskFill, DeskReject, DeskRejectCancel, DeskRejectReplace:
		p.deskForm.openOn(a, o)
		return nil
	}
	return p.sendDesk(DeskRequest{Action: a, ID: o.ID, OrderID: o.OrderID, Symbol: o.Symbol})
}

// sendDesk marks the order in flight and sends req.
func (p *blotterPane) sendDesk(req DeskRequest) tea.Cmd {
	act := deskOrderAction(req.Action)
	p.pending[req.ID] = act
	p.notice = string(act) + " " + req.ID + " (" + req.OrderID + ") sent"
	return deskCmd(p.svc, req)
}

// deskForm is the blotter's small form for the desk actions that need
// input: a fill (quantity at price) and the rejects (a reason).
type deskForm struct {
	*Common
	open   bool
	action DeskAction
	order  Order // when opened; validation reads the blotter's current row
	qty    lineInput
	price  lineInput
	text   lineInput
	focus  int // fill: 0 qty, 1 price
	errs   [2]string
	err    string
}

func newDeskForm(c *Common) deskForm {
	in := func(limit, width int) lineInput {
		return lineInput{limit: limit, width: width, cursor: c.Styles.Form.Cursor}
	}
	return deskForm{Common: c, qty: in(20, 10), price: in(20, 10), text: in(120, 40)}
}

func (f *deskForm) openOn(a DeskAction, o *Order) {
	f.open, f.action, f.order = true, a, *o
	f.qty.Reset()
	f.price.Reset()
	f.text.Reset()
	f.errs, f.err, f.focus = [2]string{}, "", 0
	if a == DeskFill {
		f.qty.SetValue(o.LeavesQty.String())
		if o.Price.IsPositive() {
			f.price.SetValue(o.Price.String())
		}
	}
	f.focusField()
}

func (f *deskForm) focusField() {
	f.qty.Blur()
	f.price.Blur()
	f.text.Blur()
	switch {
	case f.action != DeskFill:
		f.text.Focus()
	case f.focus == 0:
		f.qty.Focus()
	default:
		f.price.Focus()
	}
}

func (f *deskForm) ShortHelp() []key.Binding {
	k := f.Keys
	if f.action == DeskFill {
		return []key.Binding{k.Submit, k.NextField, k.Back}
	}
	return []key.Binding{k.Submit, k.Back}
}

// deskFormKey handles a key while the desk form is open.
func (p *blotterPane) deskFormKey(k tea.KeyMsg) tea.Cmd {
	f := &p.deskForm
	keys := p.Keys
	switch {
	case key.Matches(k, keys.Back):
		f.open = false
		return nil
	case key.Matches(k, keys.Submit):
		return p.deskSubmit()
	case f.action == DeskFill && key.Matches(k, keys.NextField, keys.PrevField):
		f.focus = 1 - f.focus
		f.focusField()
		return nil
	}
	for _, in := range []*lineInput{&f.qty, &f.price, &f.text} {
		if in.Update(k) {
			f.err, f.errs = "", [2]string{}
		}
	}
	return nil
}

// deskSubmit validates the form against the order as it is now and sends.
func (p *blotterPane) deskSubmit() tea.Cmd {
	f := &p.deskForm
	o := p.orders[f.order.ID]
	switch {
	case o == nil:
		f.err = "order " + f.order.ID + " is gone"
		return nil
	case p.pending[o.ID] != "":
		f.err = string(p.pending[o.ID]) + " already in flight"
		return nil
	case !slices.Contains(deskActions(o), f.action):
		f.err = "order " + o.ID + " is " + o.Status.String() + " now: " + f.action.String() + " no longer applies"
		return nil
	}
	req := DeskRequest{Action: f.action, ID: o.ID, OrderID: o.OrderID, Symbol: o.Symbol}
	if f.action == DeskFill {
		qty, price, ok := f.validateFill(o)
		if !ok {
			return nil
		}
		req.Qty, req.Price = qty, price
	} else {
		req.Text = strings.TrimSpace(f.text.Value())
		if req.Text == "" {
			f.err = "a reason is required"
			return nil
		}
	}
	f.open = false
	return p.sendDesk(req)
}

// validateFill checks the fill: 0 < qty <= leaves, price > 0.
func (f *deskForm) validateFill(o *Order) (qty, price decimal.Decimal, ok bool) {
	f.errs = [2]string{}
	num := func(in *lineInput, i int) decimal.Decimal {
		s := strings.TrimSpace(in.Value())
		d, err := decimal.NewFromString(s)
		switch {
		case s == "":
			f.errs[i] = "required"
		case err != nil:
			f.errs[i] = strconv.Quote(s) + " is not a number"
		case !d.IsPositive():
			f.errs[i] = "must be more than 0"
		}
		return d
	}
	qty, price = num(&f.qty, 0), num(&f.price, 1)
	if f.errs[0] == "" && qty.GreaterThan(o.LeavesQty) {
		f.errs[0] = "at most the " + o.LeavesQty.String() + " leaves"
	}
	switch {
	case f.errs[0] != "":
		f.err = "qty " + f.errs[0]
	case f.errs[1] != "":
		f.err = "price " + f.errs[1]
	default:
		f.err = ""
	}
	return qty, price, f.err == ""
}

// lines renders the form: the fields, then the error or the hint.
func (f *deskForm) lines(width int) []string {
	st := &f.Styles.Form
	o := &f.order
	field := func(label string, in *lineInput, focused bool, errText string) string {
		l, mark := st.Label, " "
		if focused {
			l, mark = st.LabelFocused, "▸"
		}
		s := mark + l.Render(label) + " " + st.Value.Render(in.View())
		if errText != "" {
			s += " " + st.Error.Render("✖")
		}
		return s
	}
	var line string
	hint := "enter send · esc back"
	if f.action == DeskFill {
		line = "  " + careMark + " Fill " + o.ID + " leaves " + o.LeavesQty.String() + " " +
			field("qty", &f.qty, f.focus == 0, f.errs[0]) + " @" + field("price", &f.price, f.focus == 1, f.errs[1])
		hint = "enter send · tab next field · esc back"
	} else {
		line = "  " + careMark + " " + capitalize(f.action.String()) + " " + o.ID + " " + field("reason", &f.text, true, "")
	}
	second := st.Hint.Render(truncate("  "+hint, width))
	if f.err != "" {
		second = st.Error.Render(truncate("  ✖ "+f.err, width))
	}
	return []string{truncate(line, width), second}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
