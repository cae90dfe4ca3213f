// Package tui is the trader dashboard: a bubbletea program that shows live
// prices with their age and staleness, the truth about the connection,
// alerts, and the trader's orders. It talks to the feed only through the
// client package and to orders only through OrderService.
//
// The root Model owns one sub-model per pane (board, blotter, alerts, the
// order form, the status bar) and the shared market state they render. Feed
// delivers client events in coalesced batches, so Update and View run a
// bounded number of times per second whatever the update rate.
package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"tickwire/client"
)

// EventsMsg carries a batch of client events into the model. Batching keeps
// Update and View off the per-message path.
type EventsMsg []client.Event

// tickMsg advances ages, countdowns and the clock.
type tickMsg time.Time

// focusable panes, in tab order.
type paneID int

const (
	paneBoard paneID = iota
	paneOrders
	paneAlerts
	numPanes
)

var paneNames = [numPanes]string{"Board", "Orders", "Alerts"}

// chromeHeight is the lines around the panes: title, status bar, help line.
const chromeHeight = 1 + statusHeight + 1

// frameEvery bounds how often feed data and ticks redraw the screen: prices
// and ages reach the screen at most 10 times a second, whatever the update
// rate. Keys, resizes and orders redraw at once.
const frameEvery = 100 * time.Millisecond

// Model is the dashboard's bubbletea model. Use it through a pointer.
type Model struct {
	cfg    Config
	common *Common
	styles Styles
	keys   KeyMap

	mk      *market
	board   *boardPane
	blotter *blotterPane
	alerts  *alertsPane
	form    *entryForm
	status  *statusBar
	help    help.Model

	focus     paneID
	filter    lineInput
	filtering bool
	showHelp  bool
	message   string // one-line answer to the last key, shown instead of the help line
	width     int
	height    int
	seq       int // ClOrdID counter

	// The last frame. Feed data and ticks only mark it stale (pending); it
	// is redrawn when frameEvery has passed. Anything else redraws it now (dirty).
	frame   string
	frameAt time.Time
	pending bool
	dirty   bool
}

// New returns a Model.
func New(cfg Config) *Model {
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
	m := &Model{cfg: cfg, width: 80, height: 24}
	m.styles = DefaultStyles()
	if cfg.Styles != nil {
		m.styles = *cfg.Styles
	}
	m.keys = DefaultKeyMap()
	if cfg.Keys != nil {
		m.keys = *cfg.Keys
	}
	if m.cfg.ClOrdIDPrefix == "" {
		m.cfg.ClOrdIDPrefix = strings.ToUpper(strconv.FormatInt(cfg.Now().Unix()%(36*36*36*36), 36))
	}
	m.common = &Common{Styles: &m.styles, Keys: &m.keys, Now: cfg.Now}
	m.mk = newMarket(&m.cfg)
	m.board = newBoardPane(m.common, m.mk)
	m.blotter = newBlotterPane(m.common, cfg.Orders, m.newID)
	m.alerts = newAlertsPane(m.common)
	m.form = newEntryForm(m.common, cfg.Orders, m.mk, m.newID)
	m.status = &statusBar{Common: m.common, mk: m.mk, alerts: m.alerts}
	m.help = help.New()
	m.help.Styles = m.styles.Help
	m.filter = lineInput{prompt: "/", limit: 32, cursor: m.styles.Form.Cursor}
	m.setFocus(paneBoard)
	return m
}

// newID returns a fresh ClOrdID: the session prefix and a counter.
func (m *Model) newID() string {
	m.seq++
	return m.cfg.ClOrdIDPrefix + "-" + strconv.Itoa(m.seq)
}

// Init starts the render tick.
func (m *Model) Init() tea.Cmd { return m.tick() }

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.cfg.Refresh, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *Model) panes() [numPanes]interface{ setFocus(bool) } {
	return [numPanes]interface{ setFocus(bool) }{m.board, m.blotter, m.alerts}
}

func (m *Model) setFocus(p paneID) {
	m.focus = p
	for i, pn := range m.panes() {
		pn.setFocus(paneID(i) == p)
	}
}

func (b *boardPane) setFocus(f bool)   { b.focused = f }
func (p *blotterPane) setFocus(f bool) { p.focused = f }

func (m *Model) focused() pane {
	switch m.focus {
	case paneOrders:
		return m.blotter
	case paneAlerts:
		return m.alerts
	}
	return m.board
}

// Update handles keys, window size, ticks, event batches and order updates.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	now := m.cfg.Now()
	m.dirty = true
	switch msg := inbound(msg).(type) {
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
	case tickMsg:
		m.dirty, m.pending = false, true
		m.alerts.add(m.mk.check(now)...)
		return m, m.tick()
	case EventsMsg:
		m.dirty, m.pending = false, true
		m.alerts.add(m.mk.apply(msg, now)...)
	case OrdersMsg:
		m.alerts.add(m.blotter.apply(msg, now)...)
	case orderSentMsg:
		m.alerts.add(m.form.sent(msg)...)
		m.alerts.add(m.blotter.sent(msg, now)...)
	case openFormMsg:
		m.openForm(msg)
	case AlertMsg:
		for i := range msg {
			if msg[i].Time.IsZero() {
				msg[i].Time = now
			}
		}
		m.alerts.add(msg...)
	default:
		m.dirty = false
	}
	return m, nil
}

func (m *Model) openForm(msg openFormMsg) {
	if m.cfg.Orders == nil {
		m.message = "order entry unavailable: no order service is connected"
		return
	}
	if msg.replace != nil {
		m.form.openReplace(msg.replace)
	} else {
		m.form.openNew(msg.symbol, msg.side)
	}
}

func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	m.message = ""
	if k.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	switch {
	case m.form.open:
		return m.form.Update(k)
	case m.blotter.deskForm.open:
		return m.blotter.deskFormKey(k)
	case m.filtering:
		return m.filterKey(k)
	case m.showHelp:
		switch {
		case key.Matches(k, m.keys.Quit):
			return tea.Quit
		case key.Matches(k, m.keys.Help, m.keys.Back):
			m.showHelp = false
		}
		return nil
	}
	keys := &m.keys
	switch {
	case key.Matches(k, keys.Quit):
		return tea.Quit
	case key.Matches(k, keys.Help):
		m.showHelp = true
	case key.Matches(k, keys.Filter):
		m.filtering = true
		m.filter.SetValue(m.board.filter)
		m.filter.Focus()
		return nil
	case key.Matches(k, keys.NextPane):
		m.setFocus((m.focus + 1) % numPanes)
	case key.Matches(k, keys.PrevPane):
		m.setFocus((m.focus + numPanes - 1) % numPanes)
	case key.Matches(k, keys.Back):
		m.setFilter("")
	case key.Matches(k, keys.Buy, keys.Sell):
		side := SideBuy
		if key.Matches(k, keys.Sell) {
			side = SideSell
		}
		sym := m.board.selected()
		if m.focus == paneOrders {
			if o := m.blotter.selected(); o != nil {
				sym = o.Symbol
			}
		}
		m.openForm(openFormMsg{side: side, symbol: sym})
	default:
		return m.focused().Update(k)
	}
	return nil
}

func (m *Model) filterKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Submit):
		m.filtering = false
		m.filter.Blur()
		return nil
	case key.Matches(k, m.keys.Back):
		m.filtering = false
		m.filter.Blur()
		m.setFilter("")
		return nil
	}
	if m.filter.Update(k) {
		m.setFilter(strings.TrimSpace(m.filter.Value()))
	}
	return nil
}

func (m *Model) setFilter(f string) {
	m.board.filter, m.blotter.filter = f, f
	m.board.nav, m.blotter.nav = listNav{}, listNav{}
}

// layout sizes the panes for the current content: the board gets the rows
// it has (as many as fit), the blotter its orders, the alerts the rest.
func (m *Model) layout() {
	w := m.width
	body := max(m.height-chromeHeight, 0)
	boardWant := len(m.board.visible()) + 4
	if m.form.open {
		formH := min(formHeight, body)
		boardH := max(min(boardWant, body-formH), 0)
		m.board.SetSize(w, boardH)
		m.form.SetSize(w, formH)
		m.blotter.SetSize(w, 0)
		m.alerts.SetSize(w, body-formH-boardH)
	} else {
		const blotterMin, alertsMin = 4, 2
		boardH := max(min(boardWant, body-blotterMin-alertsMin), min(5, body))
		rest := body - boardH
		blotterWant := 3 + min(max(m.blotter.count(), 1), 8)
		if m.blotter.deskForm.open {
			blotterWant++
		}
		blotterH := max(min(blotterWant, rest-alertsMin), 0)
		m.board.SetSize(w, boardH)
		m.blotter.SetSize(w, blotterH)
		m.alerts.SetSize(w, rest-blotterH)
		m.form.SetSize(w, 0)
	}
	m.status.SetSize(w, statusHeight)
}

// View returns the dashboard in exactly the window's size: the last frame,
// or a new one if something other than data changed or frameEvery passed.
func (m *Model) View() string {
	now := m.cfg.Now()
	if m.frame != "" && !m.dirty && !(m.pending && now.Sub(m.frameAt) >= frameEvery) {
		return m.frame
	}
	m.frame, m.frameAt, m.dirty, m.pending = m.render(), now, false, false
	return m.frame
}

// render draws a frame.
func (m *Model) render() string {
	m.layout()
	var b strings.Builder
	b.WriteString(m.titleLine())
	b.WriteByte('\n')
	body := max(m.height-chromeHeight, 0)
	if m.showHelp {
		b.WriteString(m.helpOverlay(body))
	} else {
		parts := []string{fitLines(m.board.View(), m.board.height)}
		if m.form.open {
			parts = append(parts, m.form.View())
		} else if m.blotter.height > 0 {
			parts = append(parts, m.blotter.View())
		}
		if m.alerts.height > 0 {
			parts = append(parts, fitLines(m.alerts.View(), m.alerts.height))
		}
		b.WriteString(fitLines(strings.Join(parts, "\n"), body))
	}
	b.WriteByte('\n')
	b.WriteString(m.status.View())
	b.WriteByte('\n')
	b.WriteString(m.helpLine())
	return b.String()
}

func (m *Model) titleLine() string {
	st := &m.styles
	var tabs strings.Builder
	for i, name := range paneNames {
		var n string
		switch paneID(i) {
		case paneBoard:
			n = m.board.position()
		case paneOrders:
			n = strconv.Itoa(len(m.blotter.ids))
		case paneAlerts:
			n = strconv.Itoa(m.alerts.total)
		}
		tabs.WriteString("  ")
		if paneID(i) == m.focus && !m.form.open {
			tabs.WriteString(st.TabActive.Render("[" + name + " " + n + "]"))
		} else {
			tabs.WriteString(st.Tab.Render(" " + name + " " + n + " "))
		}
	}
	if m.board.filter != "" && !m.filtering {
		tabs.WriteString("  " + st.Muted.Render("filter: "+m.board.filter))
	}
	room := max(m.width-lipgloss.Width(tabs.String())-2, 10)
	return truncate(st.Title.Render(truncate(m.cfg.Title, room))+tabs.String(), m.width)
}

func (m *Model) helpLine() string {
	switch {
	case m.filtering:
		return truncate(m.filter.View()+"  "+m.styles.Muted.Render("enter keep · esc clear"), m.width)
	case m.message != "":
		return truncate(m.styles.Blotter.Notice.Render(m.message), m.width)
	}
	var bindings []key.Binding
	switch {
	case m.form.open:
		bindings = m.form.ShortHelp()
	case m.blotter.deskForm.open:
		bindings = m.blotter.deskForm.ShortHelp()
	case m.showHelp:
		bindings = []key.Binding{m.keys.Help, m.keys.Quit}
	default:
		bindings = append(m.focused().ShortHelp(), m.keys.ShortHelp()...)
	}
	return truncate(m.help.ShortHelpView(bindings), m.width)
}

func (m *Model) helpOverlay(h int) string {
	hm := m.help
	hm.ShowAll = true
	inner := max(min(m.width-6, 76), 20)
	marks := lipgloss.NewStyle().Width(inner).Render(
		"Marks: STALE no price within the symbol's threshold · FEED-STALE the server " +
			"says the source went quiet · FROZEN our own link is down · gap values were " +
			"skipped across a reconnect · ◂ the selected row · " + careMark + " a care order: the desk works it (keys a n e D X, blotter)")
	content := "Keys\n\n" + hm.FullHelpView(m.keys.FullHelp()) + "\n\n" + marks + "\n\n? or esc closes"
	box := m.styles.Overlay.Render(content)
	return fitLines(lipgloss.Place(m.width, h, lipgloss.Center, lipgloss.Center, box), h)
}
