package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key the dashboard answers to. Panes pick the bindings they
// use for their own help; the root handles the global ones.
type KeyMap struct {
	// Global.
	Quit, Help, Filter, NextPane, PrevPane key.Binding
	// Moving in a list.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Orders.
	Buy, Sell, Cancel, Replace, Fills key.Binding
	// Desk actions on the selected care order (HandlInst=3); accept and
	// reject answer whatever awaits the desk: a new order, a cancel, a replace.
	DeskAccept, DeskReject, DeskFill, DeskDone, DeskCancel key.Binding
	// Forms and inputs. Confirm sends an order the form warned about (a
	// stale price).
	Submit, Confirm, Back, NextField, PrevField, Left, Right key.Binding
}

// DefaultKeyMap returns the default bindings: arrows and vim keys.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Quit:     b("q", "quit", "q", "ctrl+c"),
		Help:     b("?", "help", "?"),
		Filter:   b("/", "filter", "/"),
		NextPane: b("tab", "next pane", "tab"),
		PrevPane: b("shift+tab", "prev pane", "shift+tab"),

		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      b("g/home", "top", "g", "home"),
		Bottom:   b("G/end", "bottom", "G", "end"),

		Buy:     b("b", "buy", "b"),
		Sell:    b("s", "sell", "s"),
		Cancel:  b("x", "cancel order", "x"),
		Replace: b("r", "replace order", "r"),
		Fills:   b("f", "orders/fills", "f"),

		DeskAccept: b("a", "accept", "a"),
		DeskReject: b("n", "reject", "n"),
		DeskFill:   b("e", "fill", "e"),
		DeskDone:   b("D", "done day", "D"),
		DeskCancel: b("X", "desk cxl", "X"),

		Submit:    b("enter", "send", "enter"),
		Confirm:   b("y", "send anyway", "y"),
		Back:      b("esc", "back/clear", "esc"),
		NextField: b("tab/↓", "next field", "tab", "down"),
		PrevField: b("shift+tab/↑", "prev field", "shift+tab", "up"),
		Left:      b("←", "change", "left", "h"),
		Right:     b("→/space", "change", "right", "l", " "),
	}
}

// ShortHelp implements help.KeyMap: the global keys.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextPane, k.Filter, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap: the keys outside the order form (which
// shows its own), grouped.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NextPane, k.PrevPane, k.Filter, k.Back, k.Help, k.Quit},
		{k.Buy, k.Sell, k.Cancel, k.Replace, k.Fills},
		{k.DeskAccept, k.DeskReject, k.DeskFill, k.DeskDone, k.DeskCancel},
	}
}
