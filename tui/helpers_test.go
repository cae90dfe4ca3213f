package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/shopspring/decimal"

	"tickwire/client"
	"tickwire/protocol"
)

// Tests render without colour, so views compare as text.
func init() { lipgloss.SetColorProfile(termenv.Ascii) }

// t0 is the tests' wall clock start.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// clock is an injected clock. Tests only move it while no program runs.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                { return c.t }
func (c *clock) add(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func price(topic string, bid, ask float64, at time.Time, flags protocol.Flags) client.PriceEvent {
	var q protocol.Quote
	q.Put(protocol.Bid, bid)
	q.Put(protocol.Ask, ask)
	return client.PriceEvent{Topic: topic, Quote: q, Received: at, Flags: flags}
}

func gapPrice(topic string, bid, ask float64, at time.Time) client.PriceEvent {
	ev := price(topic, bid, ask, at, protocol.FlagGap)
	ev.Gap, ev.Snapshot = true, true
	return ev
}

const testURL = "ws://127.0.0.1:8080/ws"

func connected(url, node string) client.StateEvent {
	return client.StateEvent{State: client.Connected, URL: url, Server: node, SessionID: "c1"}
}

// newModel returns a model on clk, sized, connected, with two priced symbols.
func newModel(t *testing.T, clk *clock, svc OrderService, w, h int) *Model {
	t.Helper()
	m := New(Config{Title: "tickwire trader", Symbols: []string{"EURUSD", "NZDUSD"}, Now: clk.now,
		Orders: svc, ClOrdIDPrefix: "T", Thresholds: map[string]time.Duration{"NZDUSD": 8 * time.Second}})
	update(m, tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func update(m *Model, msgs ...tea.Msg) {
	for _, msg := range msgs {
		_, cmd := m.Update(msg)
		if _, ok := msg.(tickMsg); !ok { // the next tick would sleep
			runCmd(m, cmd)
		}
	}
}

// runCmd runs a command synchronously and feeds back what it returns,
// except ticks, which would recurse.
func runCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil, tickMsg, tea.QuitMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			runCmd(m, c)
		}
	default:
		update(m, msg)
	}
}

func keys(m *Model, ks ...string) {
	for _, k := range ks {
		update(m, keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// typeText types s into the focused field.
func typeText(m *Model, s string) {
	for _, r := range s {
		update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// line returns the first line of view containing s.
func line(view, s string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// plain is the screen once the next frame is drawn, without escapes.
func plain(m *Model) string { return ansi.Strip(m.render()) }

// fakeOrders is an OrderService that records requests and fails on demand.
type fakeOrders struct {
	mu       sync.Mutex
	submits  []OrderRequest
	cancels  []CancelRequest
	replaces []ReplaceRequest
	desks    []DeskRequest
	err      error
}

func (f *fakeOrders) Desk(_ context.Context, r DeskRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.desks = append(f.desks, r)
	return f.err
}

func (f *fakeOrders) Submit(_ context.Context, r OrderRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits = append(f.submits, r)
	return f.err
}

func (f *fakeOrders) Cancel(_ context.Context, r CancelRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, r)
	return f.err
}

func (f *fakeOrders) Replace(_ context.Context, r ReplaceRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replaces = append(f.replaces, r)
	return f.err
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// partialFill is an OrdersMsg: a limit buy of 100000 EURUSD, 30000 filled,
// and a rejected sell.
func partialFill(at time.Time) OrdersMsg {
	return OrdersMsg{
		Orders: []Order{
			{ID: "T-1", ClOrdID: "T-1", OrderID: "O-7", Symbol: "EURUSD", Side: SideBuy, Type: OrdTypeLimit, TIF: TIFDay,
				Qty: dec("100000"), Price: dec("1.3924"), Status: StatusPartiallyFilled, CumQty: dec("30000"),
				LeavesQty: dec("70000"), AvgPx: dec("1.39238"), Updated: at},
			{ID: "T-2", ClOrdID: "T-2", Symbol: "NZDUSD", Side: SideSell, Type: OrdTypeMarket, TIF: TIFIOC,
				Qty: dec("50000"), Status: StatusRejected, LeavesQty: dec("0"), Text: "market closed", Updated: at},
		},
		Fills: []Fill{
			{ExecID: "E-1", ID: "T-1", Symbol: "EURUSD", Side: SideBuy, Qty: dec("10000"), Price: dec("1.39235"), Time: at.Add(-time.Second)},
			{ExecID: "E-2", ID: "T-1", Symbol: "EURUSD", Side: SideBuy, Qty: dec("20000"), Price: dec("1.3924"), Time: at},
		},
	}
}

func reconnecting(attempt int) client.StateEvent {
	return client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: attempt}
}

// careOrder is an OrdersMsg with one care (HandlInst=3) limit sell of
// 100000 EURUSD at 1.3925, reported by the gateway as O-9, cum filled.
func careOrder(id string, st OrdStatus, cum string, at time.Time) OrdersMsg {
	c := dec(cum)
	avg := decimal.Zero
	if c.IsPositive() {
		avg = dec("1.3925")
	}
	return OrdersMsg{Orders: []Order{{ID: id, ClOrdID: id, OrderID: "O-9", Symbol: "EURUSD", Side: SideSell, Type: OrdTypeLimit,
		TIF: TIFDay, Qty: dec("100000"), Price: dec("1.3925"), Status: st, CumQty: c, LeavesQty: dec("100000").Sub(c), AvgPx: avg,
		Care: true, Updated: at}}}
}
