package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Level is an alert's severity.
type Level uint8

// Alert levels.
const (
	LevelInfo Level = iota
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return "info"
}

// Alert is one timestamped line in the alerts pane.
type Alert struct {
	Time   time.Time
	Level  Level
	Symbol string // the symbol it is about, if one
	Text   string // the whole line after the level, symbol included
}

// AlertMsg adds alerts from outside the dashboard (an order service, the
// command wiring). The dashboard raises its own from feed and order events.
type AlertMsg []Alert

// maxAlerts bounds the alerts kept; older ones are dropped.
const maxAlerts = 500

// alertsPane lists alerts, newest first.
type alertsPane struct {
	*Common
	width, height int
	items         []Alert // oldest first
	total         int     // raised since start, including dropped ones
	unread        int     // raised since the pane was last focused
	nav           listNav // cursor 0 is the newest
	focused       bool
}

func newAlertsPane(c *Common) *alertsPane { return &alertsPane{Common: c} }

func (p *alertsPane) SetSize(w, h int) { p.width, p.height = w, h }

func (p *alertsPane) setFocus(f bool) {
	p.focused = f
	if f {
		p.unread = 0
	}
}

// add appends alerts; the view stays on the newest unless the trader
// scrolled away from it.
func (p *alertsPane) add(as ...Alert) {
	if len(as) == 0 {
		return
	}
	p.items = append(p.items, as...)
	if n := len(p.items) - maxAlerts; n > 0 {
		p.items = append(p.items[:0], p.items[n:]...)
	}
	p.total += len(as)
	if !p.focused {
		p.unread += len(as)
	}
	if p.nav.cursor > 0 {
		p.nav.cursor += len(as)
		p.nav.offset += len(as)
	}
	p.nav.clamp(len(p.items), p.height-1)
}

func (p *alertsPane) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok {
		p.nav.handle(k, p.Keys, len(p.items), p.height-1)
	}
	return nil
}

func (p *alertsPane) ShortHelp() []key.Binding { return []key.Binding{p.Keys.Up, p.Keys.Down} }

func (p *alertsPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// summary is the count shown in the status bar and the pane title.
func (p *alertsPane) summary() string {
	s := "alerts " + strconv.Itoa(p.total)
	if p.unread > 0 {
		s += " (" + strconv.Itoa(p.unread) + " new)"
	}
	return s
}

func (p *alertsPane) View() string {
	if p.height <= 0 {
		return ""
	}
	st := &p.Styles.Alerts
	lines := make([]string, 0, p.height)
	extra := strconv.Itoa(p.total)
	if p.unread > 0 {
		extra += " · " + strconv.Itoa(p.unread) + " new"
	}
	lines = append(lines, paneTitle(p.Styles, "Alerts", extra, p.focused, p.width))
	if len(p.items) == 0 {
		lines = append(lines, st.Time.Render(truncate("  no alerts", p.width)))
	}
	for i := p.nav.offset; i < len(p.items) && len(lines) < p.height; i++ {
		a := p.items[len(p.items)-1-i]
		lvl := st.Info
		switch a.Level {
		case LevelWarn:
			lvl = st.Warn
		case LevelError:
			lvl = st.Error
		}
		mark := "  "
		if p.focused && i == p.nav.cursor {
			mark = "▸ "
		}
		// Long alerts wrap onto up to two more lines, indented under the text.
		const indent = 17 // mark, time, level
		wrapped := strings.Split(lipgloss.NewStyle().Width(max(p.width-indent, 10)).Render(a.Text), "\n")
		for j, w := range wrapped[:min(len(wrapped), 3)] {
			w = strings.TrimRight(w, " ")
			if j == 0 {
				lines = append(lines, mark+st.Time.Render(a.Time.Format("15:04:05"))+" "+lvl.Render(padRight(a.Level.String(), 5))+" "+lvl.Render(w))
			} else if len(lines) < p.height {
				lines = append(lines, truncate(strings.Repeat(" ", indent)+lvl.Render(w), p.width))
			}
		}
	}
	return strings.Join(lines, "\n")
}
