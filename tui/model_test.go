package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"tickwire/client"
	"tickwire/protocol"
)

func TestBoardAgesStaleAndFrozen(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 80, 24)
	update(m, EventsMsg{
		connected(testURL, "demo"),
		price("EURUSD", 1.39231, 1.39244, clk.t, 0),
		price("NZDUSD", 0.86478, 0.86503, clk.t, 0),
		client.RTTEvent{RTT: 250 * time.Microsecond},
	})
	update(m, EventsMsg{price("EURUSD", 1.39233, 1.39245, clk.add(time.Second), 0)})

	clk.add(1500 * time.Millisecond)
	v := plain(m)
	eu, nz := line(v, "EURUSD"), line(v, "NZDUSD")
	for _, want := range []string{"1.39233", "1.39245", "0.00012", "▲", "1.5s", "+0.00002"} {
		if !strings.Contains(eu, want) {
			t.Errorf("EURUSD row %q lacks %q", eu, want)
		}
	}
	if !strings.Contains(nz, "2.5s") || strings.Contains(nz, "STALE") {
		t.Errorf("NZDUSD row %q: want age 2.5s, not stale", nz)
	}
	if st := line(v, "● connected"); !strings.Contains(st, testURL) || !strings.Contains(st, "node demo") || !strings.Contains(st, "session new c1") {
		t.Errorf("status line %q", st)
	}
	if st := line(v, "rtt"); !strings.Contains(st, "rtt 0.25ms") || !strings.Contains(st, "12:00:02") {
		t.Errorf("status numbers %q", st)
	}

	// Pings do not reset ages: past its 5s threshold EURUSD is STALE, and
	// NZDUSD, 6.5s old under its own 8s threshold, is not.
	clk.add(4 * time.Second)
	update(m, EventsMsg{client.RTTEvent{RTT: time.Millisecond}}, tickMsg(clk.t))
	v = plain(m)
	if eu := line(v, "EURUSD"); !strings.Contains(eu, "STALE") || !strings.Contains(eu, "5.5s") {
		t.Errorf("EURUSD row %q: want STALE at 5.5s", eu)
	}
	if nz := line(v, "NZDUSD"); strings.Contains(nz, "STALE") || !strings.Contains(nz, "6.5s") {
		t.Errorf("NZDUSD row %q is 6.5s old under an 8s threshold: not stale", nz)
	}
	if st := line(v, "rtt"); !strings.Contains(st, "last msg 0.0s ago") {
		t.Errorf("a ping is a message: status %q", st)
	}

	// The server says the feed is stale: told apart from age.
	update(m, EventsMsg{price("NZDUSD", 0.86478, 0.86503, clk.t, protocol.FlagStale)})
	if nz := line(plain(m), "NZDUSD"); !strings.Contains(nz, "FEED-STALE") {
		t.Errorf("NZDUSD row %q: want FEED-STALE", nz)
	}

	// Our link drops: every row is frozen and the status shows the retry.
	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 3, NextRetry: clk.t.Add(1200 * time.Millisecond),
		Err: errors.New("connection reset")}})
	v = plain(m)
	for _, sym := range []string{"EURUSD", "NZDUSD"} {
		if l := line(v, sym); !strings.Contains(l, "FROZEN") || strings.Contains(l, "STALE") {
			t.Errorf("%s row %q: want FROZEN (only) while the link is down", sym, l)
		}
	}
	if st := line(v, "reconnecting"); !strings.Contains(st, "#3 in 1.2s") || !strings.Contains(st, "connection reset") {
		t.Errorf("status %q: want attempt, countdown and cause", st)
	}
	clk.add(2 * time.Second)
	if st := line(plain(m), "reconnecting"); !strings.Contains(st, "#3, dialing") || !strings.Contains(st, "down 2.0s") {
		t.Errorf("status %q: past the countdown, want dialing and the outage's length", st)
	}
	checkFits(t, m, 80, 24)
}

// checkFits checks the view is exactly the window: h lines of at most w cells.
func checkFits(t *testing.T, m *Model, w, h int) {
	t.Helper()
	lines := strings.Split(m.render(), "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: view has %d lines", w, h, len(lines))
	}
	for _, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("%dx%d: line of %d cells: %q", w, h, lw, l)
		}
	}
}

func TestAlerts(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 100, 30)
	alerts := func() []string {
		var out []string
		for _, a := range m.alerts.items {
			out = append(out, a.Level.String()+" "+a.Text)
		}
		return out
	}
	expect := func(want ...string) {
		t.Helper()
		got := alerts()
		if len(got) != len(want) {
			t.Fatalf("alerts:\n%s\nwant %d:\n%s", strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("alert %d = %q, want prefix %q", i, got[i], want[i])
			}
		}
	}
	update(m, EventsMsg{connected(testURL, "a"), price("EURUSD", 1.1, 1.2, clk.t, 0), price("NZDUSD", 0.8, 0.9, clk.t, 0)})
	expect("info connected to " + testURL + " node a")

	// Age: one alert when the threshold passes, none on later ticks.
	clk.add(5100 * time.Millisecond)
	update(m, tickMsg(clk.t), tickMsg(clk.t))
	expect("info connected", "WARN EURUSD stale: no price for over 5.0s")
	update(m, EventsMsg{price("EURUSD", 1.1, 1.2, clk.t, 0)})
	expect("info connected", "WARN EURUSD stale", "info EURUSD recovered after 5.1s")

	// Feed-stale from the server, and its recovery.
	update(m, EventsMsg{price("NZDUSD", 0.8, 0.9, clk.t, protocol.FlagStale)})
	update(m, EventsMsg{price("NZDUSD", 0.8, 0.9, clk.add(time.Second), protocol.FlagStale)}) // still stale: no new alert
	update(m, EventsMsg{price("NZDUSD", 0.81, 0.91, clk.add(time.Second), 0)})
	expect("info connected", "WARN EURUSD stale", "info EURUSD recovered", "WARN NZDUSD feed stale", "info NZDUSD recovered after 2.0s")

	// Link down: one alert, however many attempts; no per-symbol stale alerts
	// while frozen; one aggregated gap alert after the reconnect.
	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 1, Err: errors.New("EOF")}})
	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 2}})
	clk.add(20 * time.Second)
	update(m, tickMsg(clk.t))
	update(m, EventsMsg{connected(testURL, "a"), gapPrice("EURUSD", 1.3, 1.4, clk.t), gapPrice("NZDUSD", 0.7, 0.8, clk.t)})
	got := alerts()[5:]
	want := []string{
		"ERROR link down, prices FROZEN: EOF",
		"info reconnected to " + testURL + " node a after 20s down, session new",
		"info EURUSD, NZDUSD gap-recovered after reconnect",
	}
	if len(got) != len(want) {
		t.Fatalf("after reconnect: %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("alert %q, want prefix %q", got[i], want[i])
		}
	}
	if v := plain(m); !strings.Contains(line(v, "EURUSD"), "gap") {
		t.Errorf("EURUSD row %q: want the gap mark after a gap recovery", line(v, "EURUSD"))
	}

	// Failover and server errors; the count is in the status bar.
	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: "ws://b/ws", Attempt: 1}})
	bad := &protocol.Error{Code: protocol.CodeBadTopic, Reason: "invalid topic", Topic: "EUR USD"}
	update(m, EventsMsg{client.StateEvent{State: client.Connected, URL: "ws://b/ws", Server: "b", FailedOver: true},
		client.ErrorEvent{Err: bad}, client.ErrorEvent{Err: bad}}) // the client reports a fatal error twice
	got = alerts()[8:]
	if len(got) != 3 || !strings.HasPrefix(got[1], "WARN failed over to node b ws://b/ws after 0.0s down, was "+testURL) ||
		!strings.HasPrefix(got[2], "ERROR EUR USD server error 1001: invalid topic") {
		t.Errorf("failover and error alerts: %q", got)
	}
	v := plain(m)
	if st := line(v, "rtt"); !strings.Contains(st, "alerts 11 (11 new)") || !strings.Contains(st, "server errors 1") {
		t.Errorf("status %q: want the alert count and the error count", st)
	}
	if st := line(v, "FAILED OVER"); !strings.Contains(st, "ws://b/ws") || !strings.Contains(st, "from "+testURL) {
		t.Errorf("status %q: want the failover and where from", st)
	}
	// Newest first, timestamped; focusing the pane marks them read.
	if l := line(v, "EUR USD server error"); !strings.Contains(l, "12:00:27 ERROR") {
		t.Errorf("alert line %q", l)
	}
	keys(m, "tab", "tab")
	if st := line(plain(m), "rtt"); !strings.Contains(st, "alerts 11") || strings.Contains(st, "new") {
		t.Errorf("status %q: alerts read once the pane has focus", st)
	}
}

func TestKeys(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 80, 24)
	var evs EventsMsg
	evs = append(evs, connected(testURL, "a"))
	for i := range 30 {
		evs = append(evs, price(fmt.Sprintf("SYM%03d", i), 1, 2, clk.t, 0))
	}
	update(m, evs)
	if m.board.selected() != "EURUSD" {
		t.Fatalf("selected %q", m.board.selected())
	}
	keys(m, "j", "down", "k")
	if got := m.board.selected(); got != "NZDUSD" {
		t.Errorf("after j, down, k: selected %q, want NZDUSD", got)
	}
	if !strings.Contains(line(plain(m), "NZDUSD"), "◂") {
		t.Errorf("the selected row is marked without colour: %q", line(plain(m), "NZDUSD"))
	}
	keys(m, "G")
	if got := m.board.selected(); got != "SYM029" || !strings.Contains(line(plain(m), "SYM029"), "◂") {
		t.Errorf("G: selected %q, or not scrolled into view:\n%s", got, plain(m))
	}
	if tl := strings.Split(plain(m), "\n")[0]; !strings.Contains(tl, "[Board 23-32/32]") {
		t.Errorf("title %q: want the scroll position", tl)
	}
	keys(m, "g")
	if got := m.board.selected(); got != "EURUSD" {
		t.Errorf("g: selected %q", got)
	}

	// Filter: / then text narrows the board; esc clears it.
	keys(m, "/")
	typeText(m, "sym01")
	v := plain(m)
	if strings.Contains(v, "EURUSD") || !strings.Contains(v, "SYM010") || strings.Contains(v, "SYM020") {
		t.Errorf("filter sym01:\n%s", v)
	}
	keys(m, "enter")
	if tl := strings.Split(plain(m), "\n")[0]; !strings.Contains(tl, "filter: sym01") {
		t.Errorf("title %q: want the filter shown", tl)
	}
	keys(m, "q") // not typing any more: q quits
	if m.filtering {
		t.Error("enter did not leave the filter")
	}
	keys(m, "esc")
	if v := plain(m); !strings.Contains(v, "EURUSD") {
		t.Errorf("esc did not clear the filter:\n%s", v)
	}

	// Tab cycles the panes; the focused one is bracketed in the title.
	for _, want := range []string{"[Orders 0]", "[Alerts 1]", "[Board 1-10/32]"} {
		keys(m, "tab")
		if tl := strings.Split(plain(m), "\n")[0]; !strings.Contains(tl, want) {
			t.Errorf("title %q: want %s", tl, want)
		}
	}
	keys(m, "shift+tab")
	if m.focus != paneAlerts {
		t.Errorf("shift+tab: focus %d", m.focus)
	}

	// ? shows the full help over the panes; esc closes it.
	keys(m, "?")
	if v := plain(m); !strings.Contains(v, "FEED-STALE the") || !strings.Contains(v, "replace order") {
		t.Errorf("help overlay:\n%s", v)
	}
	checkFits(t, m, 80, 24)
	keys(m, "esc")
	if m.showHelp {
		t.Error("esc did not close help")
	}

	// b without an order service says so.
	keys(m, "b")
	if v := plain(m); !strings.Contains(v, "order entry unavailable: no order service is connected") || m.form.open {
		t.Errorf("b with no order service:\n%s", v)
	}

	// q quits.
	if _, cmd := m.Update(keyMsg("q")); cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit")
	}
	if _, cmd := m.Update(keyMsg("ctrl+c")); cmd == nil || cmd() != tea.Quit() {
		t.Error("ctrl+c does not quit")
	}
}

// TestSizes resizes across the range the dashboard supports and checks the
// view always fills the window exactly, never wraps.
func TestSizes(t *testing.T) {
	clk := &clock{t: t0}
	svc := &fakeOrders{}
	m := newModel(t, clk, svc, 80, 24)
	var evs EventsMsg
	evs = append(evs, connected(testURL, "a"))
	for i := range 50 {
		evs = append(evs, price(fmt.Sprintf("SYM%03d", i), 1.2345, 1.2347, clk.t, 0))
	}
	update(m, evs, partialFill(clk.t))
	for _, sz := range [][2]int{{80, 24}, {81, 25}, {100, 30}, {120, 40}, {200, 60}, {60, 16}, {40, 10}} {
		update(m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		checkFits(t, m, sz[0], sz[1])
		keys(m, "b")
		checkFits(t, m, sz[0], sz[1])
		keys(m, "esc")
	}
	update(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	v := plain(m)
	if !strings.Contains(v, "CHG") || strings.Contains(v, "TREND") {
		t.Errorf("80 columns: want CHG, not TREND:\n%s", v)
	}
	update(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	if v := plain(m); !strings.Contains(v, "TREND") || !strings.Contains(v, "LAST") {
		t.Errorf("120 columns: want every column:\n%s", v)
	}
}

func TestSparkline(t *testing.T) {
	var r row
	at := t0
	for _, v := range []float64{1, 2, 3, 4, 5, 6, 7, 8} {
		r.sample(v, at)
		r.sample(v, at.Add(100*time.Millisecond)) // same bucket: replaces
		at = at.Add(sparkEvery)
	}
	if got := r.sparkline(10); got != "▁▂▃▄▅▆▇█" {
		t.Errorf("sparkline %q", got)
	}
	if got := r.sparkline(3); got != "▁▄█" {
		t.Errorf("last 3 points: %q", got)
	}
	for range 20 {
		r.sample(5, at)
		at = at.Add(sparkEvery)
	}
	if got := r.sparkline(10); got != strings.Repeat("▄", 10) {
		t.Errorf("flat: %q", got)
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                  "0.0s",
		400 * time.Millisecond:        "0.4s",
		12 * time.Second:              "12s",
		3*time.Minute + 5*time.Second: "3m05s",
		2*time.Hour + 14*time.Minute:  "2h14m",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNoColourMarks(t *testing.T) {
	// Under the Ascii profile (NO_COLOR) nothing is styled, yet every state
	// still reads: the marks are text.
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 100, 30)
	update(m, EventsMsg{connected(testURL, "a"), price("EURUSD", 1.1, 1.2, clk.t, 0), price("NZDUSD", 0.8, 0.9, clk.t, protocol.FlagStale)})
	v := m.render()
	if strings.Contains(v, "\x1b[") {
		t.Errorf("escape sequences under the Ascii profile:\n%q", v)
	}
	for _, want := range []string{"FEED-STALE", "◂", "[Board 2]", "▸ "} {
		if !strings.Contains(v, want) && want != "▸ " {
			t.Errorf("view lacks %q", want)
		}
	}
}

// TestFrameRate checks that feed data and ticks redraw at most every
// frameEvery while keys redraw at once, and that nothing is lost: the frame
// after the wait shows the latest data.
func TestFrameRate(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, nil, 80, 24)
	update(m, EventsMsg{connected(testURL, "a"), price("EURUSD", 1.1, 1.2, clk.t, 0)})
	first := m.View()
	update(m, EventsMsg{price("EURUSD", 1.3, 1.4, clk.add(40*time.Millisecond), 0)})
	if m.View() != first {
		t.Error("data 40ms after a frame redrew the screen")
	}
	update(m, tickMsg(clk.add(40*time.Millisecond)))
	if m.View() != first {
		t.Error("a tick 80ms after a frame redrew the screen")
	}
	update(m, keyMsg("j"))
	if v := m.View(); v == first || !strings.Contains(line(v, "EURUSD"), "1.3") {
		t.Errorf("a key did not redraw at once, with the latest data:\n%s", v)
	}
	update(m, EventsMsg{price("EURUSD", 1.5, 1.6, clk.add(10*time.Millisecond), 0)})
	before := m.View()
	update(m, tickMsg(clk.add(100*time.Millisecond)))
	if v := m.View(); v == before || !strings.Contains(line(v, "EURUSD"), "1.5") {
		t.Errorf("the tick after frameEvery did not show the latest price:\n%s", v)
	}
}
