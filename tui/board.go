package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"

	"tickwire/protocol"
)

// flashFor is how long a changed price stays highlighted.
const flashFor = 300 * time.Millisecond

// Board columns. When the terminal is narrow LAST, TREND, CHG and SPREAD are
// dropped in that order (at 80 columns all but TREND and LAST show).
const (
	colSym = iota
	colBid
	colAsk
	colSpread
	colTick // direction of the last move
	colAge
	colState
	colChg
	colTrend
	colLast
	numCols
)

var boardHeaders = [numCols]string{"SYMBOL", "BID", "ASK", "SPREAD", "Δ", "AGE", "STATE", "CHG", "TREND", "LAST"}

// boardPrio is the order optional columns are dropped in (higher first).
var boardPrio = [numCols]int{colSpread: 1, colChg: 2, colTrend: 3, colLast: 4}

const trendWidth = 10

// markText is a row state's mark in the STATE column. Feed-stale (the server
// says the source stopped) and frozen (our link is down) read differently.
func markText(s rowState) string {
	switch s {
	case stateWaiting:
		return "waiting"
	case stateFrozen:
		return "FROZEN"
	case stateFeedStale:
		return "FEED-STALE"
	case stateStale:
		return "STALE"
	case stateGap:
		return "gap"
	}
	return ""
}

// boardPane is the price board: one row per symbol, with its freshness.
type boardPane struct {
	*Common
	width, height int
	mk            *market
	nav           listNav
	focused       bool
	filter        string
}

func newBoardPane(c *Common, mk *market) *boardPane { return &boardPane{Common: c, mk: mk} }

func (b *boardPane) SetSize(w, h int) { b.width, b.height = w, h }

func (b *boardPane) ShortHelp() []key.Binding {
	k := b.Keys
	return []key.Binding{k.Up, k.Down, k.Buy, k.Sell}
}

func (b *boardPane) FullHelp() [][]key.Binding { return [][]key.Binding{b.ShortHelp()} }

// visible returns the symbols shown, in board order, filtered.
func (b *boardPane) visible() []string {
	if b.filter == "" {
		return b.mk.order
	}
	out := make([]string, 0, len(b.mk.order))
	for _, s := range b.mk.order {
		if matchFilter(s, b.filter) {
			out = append(out, s)
		}
	}
	return out
}

// rowsFit is how many rows fit under the table's borders and header.
func (b *boardPane) rowsFit() int { return max(b.height-4, 1) }

func (b *boardPane) selected() string {
	v := b.visible()
	if b.nav.cursor < len(v) {
		return v[b.nav.cursor]
	}
	return ""
}

// position describes the scroll window, e.g. "11-20/50", when not all rows show.
func (b *boardPane) position() string {
	n := len(b.visible())
	h := b.rowsFit()
	if n <= h {
		return strconv.Itoa(n)
	}
	b.nav.clamp(n, h)
	return strconv.Itoa(b.nav.offset+1) + "-" + strconv.Itoa(min(b.nav.offset+h, n)) + "/" + strconv.Itoa(n)
}

func (b *boardPane) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok {
		b.nav.handle(k, b.Keys, len(b.visible()), b.rowsFit())
	}
	return nil
}

// cellState is what styling a row needs, computed once per view.
type cellState struct {
	state    rowState
	flash    bool
	flashBid int
	flashAsk int
	dir      int
	chgSign  int
	selected bool
}

func (b *boardPane) View() string {
	if b.height <= 0 {
		return ""
	}
	now := b.Now()
	syms := b.visible()
	h := b.rowsFit()
	b.nav.clamp(len(syms), h)

	widths, data, states := b.formatRows(syms, h, now)
	shown, total := fitBoardColumns(widths, b.width)
	headers := make([]string, len(shown))
	for j, c := range shown {
		headers[j] = boardHeaders[c]
	}
	rows := make([][]string, len(data))
	for i, cells := range data {
		rows[i] = make([]string, len(shown))
		for j, c := range shown {
			rows[i][j] = cells[c]
		}
	}

	st := &b.Styles.Board
	base := make([]lipgloss.Style, len(shown))
	head := make([]lipgloss.Style, len(shown))
	for j, c := range shown {
		w := widths[c] + 2
		base[j] = st.Cell.Width(w)
		head[j] = st.Header.Width(w)
		switch c {
		case colBid, colAsk, colSpread, colAge, colChg, colLast:
			base[j] = base[j].Align(lipgloss.Right)
			head[j] = head[j].Align(lipgloss.Right)
		}
	}
	border := st.Border
	if b.focused {
		border = st.BorderFocused
	}
	t := table.New().
		Border(lipgloss.NormalBorder()).
		BorderStyle(border).
		Headers(headers...).
		Rows(rows...).
		StyleFunc(func(ri, j int) lipgloss.Style {
			if ri == table.HeaderRow {
				return head[j]
			}
			if ri < 0 || ri >= len(states) {
				return base[j]
			}
			return b.cellStyle(base[j], shown[j], &states[ri])
		})
	lines := strings.Split(t.Render(), "\n")
	// The selection mark sits right of the table, so it reads without colour
	// and leaves the row's cells as they are.
	if i := 3 + b.nav.cursor - b.nav.offset; b.focused && len(states) > 0 && i < len(lines)-1 {
		lines[i] += " ◂"
	}
	if total > b.width { // narrower than the essential columns: cut
		for i := range lines {
			lines[i] = truncate(lines[i], b.width)
		}
	}
	return strings.Join(lines, "\n")
}

// formatRows formats the cells of the rows on screen (h of syms from the
// scroll offset) and their states, and the columns' widths over every row
// of syms, so widths do not jump while scrolling.
func (b *boardPane) formatRows(syms []string, h int, now time.Time) ([numCols]int, [][]string, []cellState) {
	var widths [numCols]int
	for c := range numCols {
		widths[c] = lipgloss.Width(boardHeaders[c])
	}
	widths[colState] = max(widths[colState], len("FEED-STALE"))
	widths[colAge] = max(widths[colAge], 5)
	widths[colTrend] = trendWidth
	for _, c := range []int{colBid, colAsk, colSpread, colChg, colLast} {
		widths[c] = 7 // a typical price, so the board does not widen when the first arrives
	}
	data := make([][]string, 0, min(len(syms), h))
	states := make([]cellState, 0, cap(data))
	for i, sym := range syms {
		r := b.mk.rows[sym]
		bid, ask, spread, last := r.price(protocol.Bid), r.price(protocol.Ask), r.spread(), r.price(protocol.Last)
		chg, sign := r.change()
		widths[colSym] = max(widths[colSym], len(sym))
		widths[colBid] = max(widths[colBid], len(bid))
		widths[colAsk] = max(widths[colAsk], len(ask))
		widths[colSpread] = max(widths[colSpread], len(spread))
		widths[colLast] = max(widths[colLast], len(last))
		widths[colChg] = max(widths[colChg], len(chg))
		if i < b.nav.offset || i >= b.nav.offset+h {
			continue
		}
		cs := cellState{state: b.mk.state(r, now), dir: r.dir, chgSign: sign, selected: i == b.nav.cursor}
		age := "-"
		if !r.updated.IsZero() {
			age = formatAge(now.Sub(r.updated))
			if now.Sub(r.flashAt) < flashFor {
				cs.flash, cs.flashBid, cs.flashAsk = true, r.flashBid, r.flashAsk
			}
		}
		tick := " "
		switch r.dir {
		case 1:
			tick = "▲"
		case -1:
			tick = "▼"
		}
		var cells [numCols]string
		cells[colSym], cells[colBid], cells[colAsk], cells[colSpread] = sym, bid, ask, spread
		cells[colTick], cells[colAge], cells[colState] = tick, age, markText(cs.state)
		cells[colChg], cells[colTrend], cells[colLast] = chg, r.sparkline(trendWidth), last
		data = append(data, cells[:])
		states = append(states, cs)
	}
	return widths, data, states
}

// fitBoardColumns chooses the columns that fit width, dropping the least
// important first (boardPrio): two cells of padding each, a rule between
// and around them, and two cells for the selection mark. total is the
// width of those shown (more than width when even the essential ones do
// not fit).
func fitBoardColumns(widths [numCols]int, width int) (shown []int, total int) {
	shown = make([]int, 0, numCols)
	total = 1 + 2
	for c := range numCols {
		shown = append(shown, c)
		total += widths[c] + 3
	}
	for total > width {
		worst := -1
		for j, c := range shown {
			if boardPrio[c] > 0 && (worst < 0 || boardPrio[c] > boardPrio[shown[worst]]) {
				worst = j
			}
		}
		if worst < 0 {
			break
		}
		total -= widths[shown[worst]] + 3
		shown = append(shown[:worst], shown[worst+1:]...)
	}
	return shown, total
}

func (b *boardPane) cellStyle(s lipgloss.Style, col int, cs *cellState) lipgloss.Style {
	st := &b.Styles.Board
	switch cs.state {
	case stateFrozen:
		s = s.Inherit(st.Frozen)
	case stateStale, stateFeedStale:
		s = s.Inherit(st.Stale)
	}
	switch col {
	case colSym:
		if cs.selected && b.focused {
			// Selection wins over the row's colours (Inherit would not
			// override them, and would drop the padding the other way round).
			sel := st.Selected
			s = s.Bold(sel.GetBold()).Foreground(sel.GetForeground()).Background(sel.GetBackground())
		}
	case colBid, colAsk:
		d := cs.flashBid
		if col == colAsk {
			d = cs.flashAsk
		}
		if cs.flash && cs.state != stateFrozen {
			switch d {
			case 1:
				s = s.Inherit(st.FlashUp)
			case -1:
				s = s.Inherit(st.FlashDown)
			}
		}
	case colTick, colTrend:
		switch cs.dir {
		case 1:
			s = s.Inherit(st.Up)
		case -1:
			s = s.Inherit(st.Down)
		}
	case colChg:
		switch cs.chgSign {
		case 1:
			s = s.Inherit(st.Up)
		case -1:
			s = s.Inherit(st.Down)
		}
	case colState:
		switch cs.state {
		case stateFrozen:
			s = s.Inherit(st.FrozenMark)
		case stateStale, stateFeedStale:
			s = s.Inherit(st.StaleMark)
		case stateGap:
			s = s.Inherit(st.Gap)
		case stateWaiting:
			s = s.Inherit(st.Waiting)
		}
	}
	return s
}
