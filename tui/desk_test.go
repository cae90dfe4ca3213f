package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
)

// TestDeskActionsByState: each desk action is offered only in the states
// where the gateway's desk allows it, and never on an order that is not a
// care order or not reported yet.
func TestDeskActionsByState(t *testing.T) {
	for _, tc := range []struct {
		st   OrdStatus
		cum  string
		want []DeskAction
	}{
		{StatusPendingNew, "0", []DeskAction{DeskAccept, DeskReject, DeskFill}},
		{StatusNew, "0", []DeskAction{DeskFill, DeskDoneForDay, DeskCancel}},
		{StatusPartiallyFilled, "30000", []DeskAction{DeskFill, DeskDoneForDay, DeskCancel}},
		{StatusPendingCancel, "30000", []DeskAction{DeskAcceptCancel, DeskRejectCancel, DeskFill}},
		{StatusPendingReplace, "0", []DeskAction{DeskAcceptReplace, DeskRejectReplace, DeskFill}},
		{StatusFilled, "100000", nil},
		{StatusCanceled, "0", nil},
		{StatusRejected, "0", nil},
		{StatusDoneForDay, "30000", nil},
		{StatusExpired, "0", nil},
	} {
		o := careOrder("C", tc.st, tc.cum, t0).Orders[0]
		if got := deskActions(&o); !slices.Equal(got, tc.want) {
			t.Errorf("%v: offered %v, want %v", tc.st, got, tc.want)
		}
		auto := o
		auto.Care = false
		if got := deskActions(&auto); got != nil {
			t.Errorf("%v, not a care order: offered %v", tc.st, got)
		}
		unreported := o
		unreported.OrderID = ""
		if got := deskActions(&unreported); got != nil {
			t.Errorf("%v, no OrderID: offered %v", tc.st, got)
		}
	}
	if deskActions(nil) != nil {
		t.Error("nil order: actions offered")
	}
}

// deskModel is a connected model whose blotter is focused on care order
// T-9 (O-9) in state st.
func deskModel(t *testing.T, svc OrderService, st OrdStatus, cum string) *Model {
	t.Helper()
	m, _ := orderModel(t, svc)
	update(m, partialFill(t0), careOrder("T-9", st, cum, t0))
	keys(m, "tab")
	if o := m.blotter.selected(); o == nil || o.ID != "T-9" {
		t.Fatalf("selected %+v, want T-9", o)
	}
	return m
}

// TestDeskKeysOnlyInTheirStates presses every desk key on a care order in
// every state: an offered key sends exactly its action (or opens its form),
// any other is refused with a notice and sends nothing.
func TestDeskKeysOnlyInTheirStates(t *testing.T) {
	keyAct := map[string]map[OrdStatus]DeskAction{
		"a": {StatusPendingNew: DeskAccept, StatusPendingCancel: DeskAcceptCancel, StatusPendingReplace: DeskAcceptReplace},
		"n": {StatusPendingNew: DeskReject, StatusPendingCancel: DeskRejectCancel, StatusPendingReplace: DeskRejectReplace},
		"e": {StatusPendingNew: DeskFill, StatusNew: DeskFill, StatusPartiallyFilled: DeskFill, StatusPendingCancel: DeskFill, StatusPendingReplace: DeskFill},
		"D": {StatusNew: DeskDoneForDay, StatusPartiallyFilled: DeskDoneForDay},
		"X": {StatusNew: DeskCancel, StatusPartiallyFilled: DeskCancel},
	}
	for _, st := range []OrdStatus{StatusPendingNew, StatusNew, StatusPartiallyFilled, StatusPendingCancel, StatusPendingReplace,
		StatusFilled, StatusCanceled, StatusRejected, StatusDoneForDay} {
		cum := "0"
		switch st {
		case StatusPartiallyFilled, StatusDoneForDay:
			cum = "30000"
		case StatusFilled:
			cum = "100000"
		}
		for k, acts := range keyAct {
			svc := &fakeOrders{}
			m := deskModel(t, svc, st, cum)
			want, offered := acts[st]
			hinted := slices.ContainsFunc(m.blotter.ShortHelp(), func(b key.Binding) bool { return b.Help().Key == k })
			if hinted != offered {
				t.Errorf("%v: key %s in the key hints %v, offered %v", st, k, hinted, offered)
			}
			keys(m, k)
			form := m.blotter.deskForm.open
			switch {
			case !offered:
				if len(svc.desks) != 0 || form {
					t.Errorf("%v key %s: sent %v, form %v; want refused", st, k, svc.desks, form)
				}
				if m.blotter.notice == "" || !strings.Contains(plain(m), m.blotter.notice[:20]) {
					t.Errorf("%v key %s: no refusal shown (notice %q)", st, k, m.blotter.notice)
				}
			case want == DeskFill || want == DeskReject || want == DeskRejectCancel || want == DeskRejectReplace:
				if !form || m.blotter.deskForm.action != want || len(svc.desks) != 0 {
					t.Errorf("%v key %s: form %v action %v, sent %v; want the %v form", st, k, form, m.blotter.deskForm.action, svc.desks, want)
				}
			default:
				if len(svc.desks) != 1 || svc.desks[0].Action != want || svc.desks[0].OrderID != "O-9" || svc.desks[0].ID != "T-9" {
					t.Errorf("%v key %s: sent %+v, want one %v", st, k, svc.desks, want)
				}
			}
		}
	}
}

// TestDeskInFlightSendsOnce: a second press while an action is in flight
// sends nothing, whatever the key; the order's next report frees it.
func TestDeskInFlightSendsOnce(t *testing.T) {
	svc := &fakeOrders{}
	m := deskModel(t, svc, StatusPendingNew, "0")
	keys(m, "a")
	if len(svc.desks) != 1 || svc.desks[0].Action != DeskAccept {
		t.Fatalf("first a: sent %+v", svc.desks)
	}
	if l := line(plain(m), "◆T-9"); !strings.Contains(l, "PendNew…") {
		t.Errorf("row %q: want the in-flight mark", l)
	}
	keys(m, "a", "n", "e", "x", "r")
	if len(svc.desks) != 1 || len(svc.cancels) != 0 || m.blotter.deskForm.open || m.form.open {
		t.Fatalf("presses while in flight: desks %+v cancels %+v", svc.desks, svc.cancels)
	}
	if !strings.Contains(m.blotter.notice, "desk accept already in flight") {
		t.Errorf("notice %q", m.blotter.notice)
	}
	if len(m.blotter.offered(m.blotter.selected())) != 0 {
		t.Error("desk keys hinted while in flight")
	}
	// The gateway's report: accepted; the desk can fill now.
	update(m, careOrder("T-9", StatusNew, "0", t0))
	keys(m, "e")
	if !m.blotter.deskForm.open {
		t.Fatal("e after the ack: no fill form")
	}
	keys(m, "enter") // the leaves at the order's price
	keys(m, "e", "enter")
	if len(svc.desks) != 2 || svc.desks[1].Action != DeskFill || svc.desks[1].Qty.String() != "100000" || svc.desks[1].Price.String() != "1.3925" {
		t.Fatalf("fill: sent %+v", svc.desks)
	}
	// A failed send frees the order and says why.
	svc.err = errors.New("not connected to the server")
	update(m, careOrder("T-9", StatusNew, "0", t0))
	keys(m, "D")
	keys(m, "D")
	if len(svc.desks) != 4 || svc.desks[2].Action != DeskDoneForDay || !strings.Contains(m.blotter.notice, "failed: not connected") {
		t.Fatalf("done for day after a failure: sent %+v, notice %q", svc.desks, m.blotter.notice)
	}
}

// TestDeskFillForm: the fill form validates qty (0 < qty <= leaves) and
// price (> 0) against the order as it is now.
func TestDeskFillForm(t *testing.T) {
	svc := &fakeOrders{}
	m := deskModel(t, svc, StatusPartiallyFilled, "30000")
	keys(m, "e")
	f := &m.blotter.deskForm
	if f.qty.Value() != "70000" || f.price.Value() != "1.3925" {
		t.Fatalf("form prefilled qty %q price %q", f.qty.Value(), f.price.Value())
	}
	for _, tc := range []struct{ qty, price, err string }{
		{"", "1.3925", "qty required"},
		{"0", "1.3925", "qty must be more than 0"},
		{"abc", "1.3925", `qty "abc" is not a number`},
		{"70001", "1.3925", "qty at most the 70000 leaves"},
		{"100", "", "price required"},
		{"100", "-1", "price must be more than 0"},
	} {
		f.qty.SetValue(tc.qty)
		f.price.SetValue(tc.price)
		keys(m, "enter")
		if f.err != tc.err || len(svc.desks) != 0 || !f.open {
			t.Errorf("qty %q price %q: error %q (want %q), sent %v", tc.qty, tc.price, f.err, tc.err, svc.desks)
		}
		if !strings.Contains(plain(m), "✖ "+tc.err) {
			t.Errorf("error %q not shown", tc.err)
		}
	}
	// Leaves shrink while the form is open: checked against the current row.
	keys(m, "ctrl+u")
	typeText(m, "60000")
	keys(m, "tab", "ctrl+u")
	typeText(m, "1.39")
	update(m, careOrder("T-9", StatusPartiallyFilled, "50000", t0))
	keys(m, "enter")
	if f.err != "qty at most the 50000 leaves" {
		t.Errorf("after a fill elsewhere: error %q", f.err)
	}
	keys(m, "shift+tab", "ctrl+u")
	typeText(m, "50000")
	keys(m, "enter")
	if f.open || len(svc.desks) != 1 || svc.desks[0].Qty.String() != "50000" || svc.desks[0].Price.String() != "1.39" {
		t.Fatalf("valid fill: open %v sent %+v", f.open, svc.desks)
	}
	// esc closes without sending.
	update(m, careOrder("T-9", StatusPartiallyFilled, "50000", t0))
	keys(m, "e", "esc")
	if f.open || len(svc.desks) != 1 {
		t.Fatalf("esc: open %v sent %d", f.open, len(svc.desks))
	}
}

// TestDeskRejectNeedsReason: rejects carry the trader's reason.
func TestDeskRejectNeedsReason(t *testing.T) {
	svc := &fakeOrders{}
	m := deskModel(t, svc, StatusPendingCancel, "0")
	keys(m, "n", "enter")
	if f := &m.blotter.deskForm; !f.open || f.err != "a reason is required" || len(svc.desks) != 0 {
		t.Fatalf("empty reason: open %v err %q sent %v", f.open, f.err, svc.desks)
	}
	typeText(m, "already working it qx") // letters that are keys elsewhere go to the form
	keys(m, "enter")
	if len(svc.desks) != 1 || svc.desks[0].Action != DeskRejectCancel || svc.desks[0].Text != "already working it qx" {
		t.Fatalf("reject cancel: sent %+v", svc.desks)
	}
}

// TestDeskRefusals: orders the desk cannot work say why.
func TestDeskRefusals(t *testing.T) {
	svc := &fakeOrders{}
	m, _ := orderModel(t, svc)
	// A care order entered from the form: the Route field.
	keys(m, "b")
	typeText(m, "100")
	keys(m, "tab", "tab", "tab", "tab")
	if m.form.focus != fieldRoute {
		t.Fatalf("focus %d, want Route", m.form.focus)
	}
	keys(m, "right")
	if v := line(plain(m), "Route"); !strings.Contains(v, "Desk (care)") {
		t.Errorf("route line %q", v)
	}
	keys(m, "enter")
	if len(svc.submits) != 1 || !svc.submits[0].Care {
		t.Fatalf("care order: submits %+v", svc.submits)
	}
	keys(m, "tab", "a")
	if o := m.blotter.selected(); o == nil || !o.Care || !strings.Contains(m.blotter.notice, "not reported by the gateway yet") {
		t.Errorf("unreported care order %+v: notice %q", o, m.blotter.notice)
	}
	// An auto order.
	auto := careOrder("A-1", StatusNew, "0", t0)
	auto.Orders[0].Care = false
	update(m, auto)
	keys(m, "g", "e")
	if !strings.Contains(m.blotter.notice, "A-1 is not a care order") {
		t.Errorf("auto order: notice %q", m.blotter.notice)
	}
	if len(svc.desks) != 0 {
		t.Fatalf("sent %+v", svc.desks)
	}
	// Replacing a care order keeps its route.
	update(m, careOrder("T-9", StatusNew, "0", t0))
	keys(m, "g", "r")
	if !m.form.open || !m.form.care || m.form.editable(fieldRoute) {
		t.Errorf("replace of a care order: care %v, route editable %v", m.form.care, m.form.editable(fieldRoute))
	}
}

// TestPaperHasNoDesk: --paper refuses care orders and desk actions.
func TestPaperHasNoDesk(t *testing.T) {
	p := NewPaper()
	if err := p.Submit(context.Background(), OrderRequest{ClOrdID: "P-1", Symbol: "EURUSD", Side: SideBuy, Type: OrdTypeLimit,
		Qty: dec("1"), Price: dec("1"), Care: true}); err == nil || !strings.Contains(err.Error(), "no desk") {
		t.Errorf("care order on paper: %v", err)
	}
	if err := p.Desk(context.Background(), DeskRequest{Action: DeskAccept, ID: "P-1", OrderID: "P1"}); err == nil {
		t.Error("desk action on paper: no error")
	}
}
