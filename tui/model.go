// Package tui is the trader dashboard: a bubbletea program that shows live
// prices with their age and staleness, and the truth about the connection.
// It talks to the server only through the client package.
package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"

	"tickwire/client"
	"tickwire/protocol"
)

// Config configures the dashboard. Zero fields take the defaults in comments.
type Config struct {
	// Title is shown on the first line. Default "tickwire".
	Title string
	// Symbols fixes the board's order; symbols not listed are appended as
	// their first value arrives.
	Symbols []string
	// StaleAfter marks a row stale when its data is older. Default 5s.
	StaleAfter time.Duration
	// Refresh is the render tick that advances ages. Default 200ms.
	Refresh time.Duration
	// Now is the clock. Default time.Now; tests inject a fixed one.
	Now func() time.Time
	// Styles is the theme. Default DefaultStyles().
	Styles *Styles
}

// EventsMsg carries a batch of client events into the model. Batching keeps
// Update and View off the per-message path.
type EventsMsg []client.Event

// tickMsg advances ages and the clock.
type tickMsg time.Time

// flashFor is how long a changed price stays highlighted.
const flashFor = 300 * time.Millisecond

// Model is the dashboard's bubbletea model.
type Model struct {
	cfg     Config
	st      Styles
	rows    map[string]*row
	order   []string
	conn    client.StateEvent
	rtt     time.Duration
	lastRx  time.Time // last message of any kind: link liveness, not data age
	errors  int
	lastErr string
	width   int
	height  int
}

// New returns a Model.
func New(cfg Config) Model {
	if cfg.Title == "" {
		cfg.Title = "tickwire"
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 5 * time.Second
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st := DefaultStyles()
	if cfg.Styles != nil {
		st = *cfg.Styles
	}
	m := Model{cfg: cfg, st: st, rows: make(map[string]*row), width: 80, height: 24}
	for _, s := range cfg.Symbols {
		m.rows[s] = &row{symbol: s}
		m.order = append(m.order, s)
	}
	return m
}

// Init starts the render tick.
func (m Model) Init() tea.Cmd { return m.tick() }

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.cfg.Refresh, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Update handles keys, window size, ticks and event batches.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		}
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		return m, m.tick()
	case EventsMsg:
		for _, ev := range msg {
			m.apply(ev)
		}
	}
	return m, nil
}

func (m *Model) apply(ev client.Event) {
	switch ev := ev.(type) {
	case client.PriceEvent:
		r := m.rows[ev.Topic]
		if r == nil {
			r = &row{symbol: ev.Topic}
			m.rows[ev.Topic] = r
			m.order = append(m.order, ev.Topic)
		}
		r.apply(ev)
		m.lastRx = ev.Received
	case client.StateEvent:
		m.conn = ev
		if ev.State == client.Connected {
			m.lastRx = m.cfg.Now()
		}
	case client.RTTEvent:
		m.rtt = ev.RTT
		m.lastRx = m.cfg.Now()
	case client.ErrorEvent:
		m.errors++
		m.lastErr = ev.Err.Reason
	}
}

// linkUp reports whether our own connection is up: when it is not, every
// row is frozen, whatever its age.
func (m Model) linkUp() bool { return m.conn.State == client.Connected }

// View renders the dashboard.
func (m Model) View() string {
	now := m.cfg.Now()
	var b strings.Builder
	b.WriteString(m.st.Title.Render(truncate(m.cfg.Title, m.width)))
	b.WriteByte('\n')
	b.WriteString(m.board(now))
	b.WriteByte('\n')
	b.WriteString(m.status(now))
	b.WriteByte('\n')
	b.WriteString(m.st.Help.Render("q quit"))
	return b.String()
}

var boardHeaders = []string{"SYMBOL", "BID", "ASK", "SPREAD", "CHG", "AGE", "STATE"}

// colWidths fix the board's columns (padding included) so the layout does not
// jump as values change; they sum to 68 cells, 76 with borders: fits 80.
var colWidths = []int{10, 11, 11, 10, 5, 8, 13}

const (
	colBid = 1
	colAsk = 2
	colChg = 4
)

func (m Model) board(now time.Time) string {
	// Leave room for title, status and help lines plus the table's borders.
	maxRows := max(m.height-7, 1)
	type cellState struct {
		stale, frozen, flash bool
		dir                  int
	}
	states := make([]cellState, 0, len(m.order))
	var data [][]string
	for i, sym := range m.order {
		if i >= maxRows {
			break
		}
		r := m.rows[sym]
		cs := cellState{frozen: !m.linkUp(), dir: r.dir}
		var age, mark string
		if r.updated.IsZero() {
			age, mark = "-", "waiting"
		} else {
			d := now.Sub(r.updated)
			age = formatAge(d)
			cs.flash = d < flashFor
			switch {
			case cs.frozen:
				mark = "FROZEN" // our link is down: nothing here is current
			case r.stale:
				mark = "STALE feed" // the server says the source went quiet
			case d > m.cfg.StaleAfter:
				mark = "STALE " + formatAge(d)
			case r.gap:
				mark = "gap"
			}
			cs.stale = r.stale || d > m.cfg.StaleAfter
		}
		chg := " "
		switch r.dir {
		case 1:
			chg = "▲"
		case -1:
			chg = "▼"
		}
		data = append(data, []string{sym, r.price(protocol.Bid), r.price(protocol.Ask), r.spread(), chg, age, mark})
		states = append(states, cs)
	}
	t := table.New().
		Border(lipgloss.NormalBorder()).
		BorderStyle(m.st.Border).
		Headers(boardHeaders...).
		Rows(data...).
		StyleFunc(func(rowIdx, col int) lipgloss.Style {
			if rowIdx == table.HeaderRow {
				return m.st.Header.Width(colWidths[col])
			}
			s := m.st.Cell.Width(colWidths[col])
			if col > 0 && col < 4 {
				s = s.Align(lipgloss.Right)
			}
			if rowIdx < 0 || rowIdx >= len(states) {
				return s
			}
			cs := states[rowIdx]
			switch {
			case cs.frozen:
				return s.Inherit(m.st.Frozen)
			case cs.stale:
				return s.Inherit(m.st.Stale)
			case cs.flash && (col == colBid || col == colAsk):
				return s.Inherit(m.st.Flash)
			case col == colChg && cs.dir > 0:
				return s.Inherit(m.st.Up)
			case col == colChg && cs.dir < 0:
				return s.Inherit(m.st.Down)
			}
			return s
		})
	return t.Render()
}

func (m Model) status(now time.Time) string {
	c := m.conn
	var state string
	switch c.State {
	case client.Connected:
		state = m.st.StatusOK.Render("● connected")
		if c.FailedOver {
			state = m.st.StatusOK.Render("● failed over")
		}
	case client.Reconnecting:
		wait := max(c.NextRetry.Sub(now), 0)
		state = m.st.StatusBad.Render(fmt.Sprintf("○ reconnecting #%d in %.1fs", c.Attempt, wait.Seconds()))
	default:
		state = m.st.StatusBad.Render("○ " + c.State.String())
	}
	parts := []string{state, c.URL}
	if c.State == client.Connected {
		parts = append(parts, "node "+c.Server)
		if m.rtt > 0 {
			parts = append(parts, fmt.Sprintf("rtt %.2fms", float64(m.rtt.Microseconds())/1000))
		}
	}
	if !m.lastRx.IsZero() {
		parts = append(parts, "rx "+formatAge(now.Sub(m.lastRx)))
	}
	if m.errors > 0 {
		parts = append(parts, fmt.Sprintf("errors %d", m.errors))
	}
	parts = append(parts, now.Format("15:04:05"))
	line := strings.Join(parts, "  ")
	return m.st.StatusBar.Render(truncate(line, m.width))
}

// truncate cuts s to width cells so the status bar never wraps.
func truncate(s string, width int) string {
	if width <= 0 || lipgloss.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r)) > width {
		r = r[:len(r)-1]
	}
	return string(r)
}
