package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Common is what every pane shares: the theme, the key map and the clock.
// Each pane keeps its own size (SetSize).
type Common struct {
	Styles *Styles
	Keys   *KeyMap
	Now    func() time.Time
}

// pane is what the root needs of each pane: the bubbletea trio (Update takes
// the messages the root forwards to the focused pane), a size, and its keys
// for the help line.
type pane interface {
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// listNav is a cursor and scroll offset over a list of n items shown in h lines.
type listNav struct{ cursor, offset int }

// handle moves the cursor for navigation keys and reports whether k was one.
func (l *listNav) handle(k tea.KeyMsg, keys *KeyMap, n, h int) bool {
	switch {
	case key.Matches(k, keys.Up):
		l.cursor--
	case key.Matches(k, keys.Down):
		l.cursor++
	case key.Matches(k, keys.PageUp):
		l.cursor -= max(h-1, 1)
	case key.Matches(k, keys.PageDown):
		l.cursor += max(h-1, 1)
	case key.Matches(k, keys.Top):
		l.cursor = 0
	case key.Matches(k, keys.Bottom):
		l.cursor = n - 1
	default:
		return false
	}
	l.clamp(n, h)
	return true
}

// clamp keeps the cursor in [0,n) and the window of h lines around it.
func (l *listNav) clamp(n, h int) {
	l.cursor = max(min(l.cursor, n-1), 0)
	h = max(h, 1)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+h {
		l.offset = l.cursor - h + 1
	}
	l.offset = max(min(l.offset, n-h), 0)
}

// paneTitle renders a pane's heading as a rule across the width: a ▸ marks
// the focused pane (visible without colour too).
func paneTitle(st *Styles, name, extra string, focused bool, width int) string {
	mark, style := "  ", st.PaneTitle
	if focused {
		mark, style = "▸ ", st.PaneTitleFocused
	}
	s := mark + name
	if extra != "" {
		s += "  " + extra
	}
	s += " "
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat("─", width-w)
	}
	return style.Render(truncate(s, width))
}

// truncate cuts s to width cells so a line never wraps.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "")
}

// padRight pads plain s with spaces to width cells, cutting it if longer.
func padRight(s string, width int) string {
	w := ansi.StringWidth(s)
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return s + strings.Repeat(" ", width-w)
}

// padLeft right-aligns plain s in width cells.
func padLeft(s string, width int) string {
	w := ansi.StringWidth(s)
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return strings.Repeat(" ", width-w) + s
}

// fitLines makes s exactly h lines (cut or padded with empty lines).
func fitLines(s string, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// column is one column of a plain-text list (blotter, fills).
type column struct {
	title string
	width int
	right bool
	prio  int // 0 always shown; higher numbers are dropped first when narrow
}

// fitColumns returns the indexes of cols to show in width cells, with sep
// cells between columns, dropping the highest prio first.
func fitColumns(cols []column, width, sep int) []int {
	keep := make([]bool, len(cols))
	total := -sep
	for i, c := range cols {
		keep[i] = true
		total += c.width + sep
	}
	for total > width {
		worst := -1
		for i, c := range cols {
			if keep[i] && c.prio > 0 && (worst < 0 || c.prio > cols[worst].prio || (c.prio == cols[worst].prio && i > worst)) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		keep[worst] = false
		total -= cols[worst].width + sep
	}
	var out []int
	for i, k := range keep {
		if k {
			out = append(out, i)
		}
	}
	return out
}

// formatColumns lays out one line of cells for the shown columns.
func formatColumns(cols []column, shown []int, cells []string) string {
	var b strings.Builder
	for j, i := range shown {
		if j > 0 {
			b.WriteByte(' ')
		}
		if cols[i].right {
			b.WriteString(padLeft(cells[i], cols[i].width))
		} else {
			b.WriteString(padRight(cells[i], cols[i].width))
		}
	}
	return b.String()
}
