package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Palette is the handful of colours the theme is built from. A config file's
// "colors" section overrides its fields by name (see PaletteNames).
type Palette struct {
	Up, Down       lipgloss.TerminalColor // price moved up / down
	Stale          lipgloss.TerminalColor // a row past its threshold or feed-stale
	Frozen         lipgloss.TerminalColor // our link is down
	OK, Bad, Warn  lipgloss.TerminalColor // status and alert levels
	Accent         lipgloss.TerminalColor // focused pane, selection
	Border, Muted  lipgloss.TerminalColor // table rules, secondary text
	FlashFg        lipgloss.TerminalColor // text on a flashing cell
	SelectedBg     lipgloss.TerminalColor // the selected row's symbol
	OverlayBorder  lipgloss.TerminalColor
	HelpKey        lipgloss.TerminalColor
	HelpDesc       lipgloss.TerminalColor
	TitleFg        lipgloss.TerminalColor
	TitleBg        lipgloss.TerminalColor
	StatusBarFg    lipgloss.TerminalColor
	StatusBarBg    lipgloss.TerminalColor
	FormFieldFocus lipgloss.TerminalColor
}

// DefaultPalette uses the 16 ANSI colours, so the terminal's theme decides
// the exact shades.
func DefaultPalette() Palette {
	c := func(s string) lipgloss.TerminalColor { return lipgloss.Color(s) }
	return Palette{
		Up: c("2"), Down: c("1"), Stale: c("3"), Frozen: c("4"),
		OK: c("2"), Bad: c("1"), Warn: c("3"), Accent: c("6"),
		Border: c("8"), Muted: c("8"), FlashFg: c("0"), SelectedBg: c("6"),
		OverlayBorder: c("6"), HelpKey: c("7"), HelpDesc: c("8"),
		TitleFg: c("0"), TitleBg: c("6"), StatusBarFg: lipgloss.NoColor{}, StatusBarBg: lipgloss.NoColor{},
		FormFieldFocus: c("6"),
	}
}

// paletteFields maps config names to palette fields.
func (p *Palette) fields() map[string]*lipgloss.TerminalColor {
	return map[string]*lipgloss.TerminalColor{
		"up": &p.Up, "down": &p.Down, "stale": &p.Stale, "frozen": &p.Frozen,
		"ok": &p.OK, "bad": &p.Bad, "warn": &p.Warn, "accent": &p.Accent,
		"border": &p.Border, "muted": &p.Muted, "flash_fg": &p.FlashFg,
		"selected_bg": &p.SelectedBg, "overlay_border": &p.OverlayBorder,
		"help_key": &p.HelpKey, "help_desc": &p.HelpDesc,
		"title_fg": &p.TitleFg, "title_bg": &p.TitleBg,
		"status_fg": &p.StatusBarFg, "status_bg": &p.StatusBarBg,
		"field_focus": &p.FormFieldFocus,
	}
}

// PaletteNames lists the colour names a config file may set.
func PaletteNames() []string {
	var p Palette
	var names []string
	for n := range p.fields() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set overrides colours by name: an ANSI index ("2"), a 256-colour index
// ("208") or a hex RGB value ("#ff8800").
func (p *Palette) Set(colors map[string]string) error {
	f := p.fields()
	for name, v := range colors {
		dst, ok := f[name]
		if !ok {
			return fmt.Errorf("unknown colour %q (known: %s)", name, strings.Join(PaletteNames(), ", "))
		}
		if !validColor(v) {
			return fmt.Errorf("colour %s: %q is not an ANSI index (0-255) or #rrggbb", name, v)
		}
		*dst = lipgloss.Color(v)
	}
	return nil
}

func validColor(v string) bool {
	if strings.HasPrefix(v, "#") {
		if len(v) != 7 && len(v) != 4 {
			return false
		}
		for _, r := range v[1:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
		return true
	}
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n > 255 {
			return false
		}
	}
	return v != ""
}

// Styles holds every style the dashboard uses, nested per pane, so a theme is
// one value. Under NO_COLOR (termenv.Ascii) lipgloss renders none of them:
// the marks in the text (▲ ▼ STALE FEED-STALE FROZEN ◂ [Board]) carry the
// meaning on their own.
type Styles struct {
	Title     lipgloss.Style // the first line
	Tab       lipgloss.Style
	TabActive lipgloss.Style
	Muted     lipgloss.Style

	PaneTitle        lipgloss.Style // a pane's heading, blurred
	PaneTitleFocused lipgloss.Style // and focused

	Board   BoardStyles
	Alerts  AlertStyles
	Blotter BlotterStyles
	Form    FormStyles
	Status  StatusStyles

	Overlay lipgloss.Style // the help overlay's box
	Help    help.Styles
}

// BoardStyles style the price board.
type BoardStyles struct {
	Header, Cell  lipgloss.Style
	Border        lipgloss.Style
	BorderFocused lipgloss.Style
	Selected      lipgloss.Style // symbol cell of the selected row
	Up, Down      lipgloss.Style // change column, sparkline direction
	FlashUp       lipgloss.Style // a price cell just after it rose
	FlashDown     lipgloss.Style // ... or fell
	Stale         lipgloss.Style // whole row: past threshold or feed-stale
	StaleMark     lipgloss.Style // the STALE / FEED-STALE mark itself
	Frozen        lipgloss.Style // whole row: our link is down
	FrozenMark    lipgloss.Style
	Gap           lipgloss.Style // the gap mark
	Waiting       lipgloss.Style // no value yet
}

// AlertStyles style the alerts pane.
type AlertStyles struct {
	Time, Info, Warn, Error, Selected lipgloss.Style
}

// BlotterStyles style the order blotter.
type BlotterStyles struct {
	Header, Row, Selected lipgloss.Style
	Buy, Sell             lipgloss.Style
	Working, Filled, Dead lipgloss.Style // status colours: live, done, rejected/canceled
	Notice                lipgloss.Style // "order entry unavailable"
}

// FormStyles style the order entry form.
type FormStyles struct {
	Box, Label, LabelFocused, Value, Error, Warn, Hint, Cursor lipgloss.Style
}

// StatusStyles style the status bar.
type StatusStyles struct {
	Bar, OK, Bad, Warn, Muted lipgloss.Style
}

// DefaultStyles returns the default theme.
func DefaultStyles() Styles { return NewStyles(DefaultPalette()) }

// NewStyles builds the theme from a palette.
func NewStyles(p Palette) Styles {
	n := lipgloss.NewStyle
	cell := n().Padding(0, 1)
	return Styles{
		Title:            n().Bold(true).Foreground(p.TitleFg).Background(p.TitleBg).Padding(0, 1),
		Tab:              n().Foreground(p.Muted),
		TabActive:        n().Bold(true).Foreground(p.Accent).Underline(true),
		Muted:            n().Foreground(p.Muted),
		PaneTitle:        n().Bold(true).Foreground(p.Muted),
		PaneTitleFocused: n().Bold(true).Foreground(p.Accent),
		Board: BoardStyles{
			Header:        cell.Bold(true),
			Cell:          cell,
			Border:        n().Foreground(p.Border),
			BorderFocused: n().Foreground(p.Accent),
			Selected:      n().Bold(true).Foreground(p.FlashFg).Background(p.SelectedBg),
			Up:            n().Foreground(p.Up),
			Down:          n().Foreground(p.Down),
			FlashUp:       n().Bold(true).Foreground(p.FlashFg).Background(p.Up),
			FlashDown:     n().Bold(true).Foreground(p.FlashFg).Background(p.Down),
			Stale:         n().Faint(true).Foreground(p.Stale),
			StaleMark:     n().Bold(true).Foreground(p.Stale),
			Frozen:        n().Faint(true).Foreground(p.Frozen),
			FrozenMark:    n().Bold(true).Foreground(p.Frozen).Reverse(true),
			Gap:           n().Foreground(p.Warn),
			Waiting:       n().Foreground(p.Muted),
		},
		Alerts: AlertStyles{
			Time:     n().Foreground(p.Muted),
			Info:     n(),
			Warn:     n().Foreground(p.Warn),
			Error:    n().Bold(true).Foreground(p.Bad),
			Selected: n().Foreground(p.FlashFg).Background(p.SelectedBg),
		},
		Blotter: BlotterStyles{
			Header:   n().Bold(true),
			Row:      n(),
			Selected: n().Foreground(p.FlashFg).Background(p.SelectedBg),
			Buy:      n().Foreground(p.Up),
			Sell:     n().Foreground(p.Down),
			Working:  n().Foreground(p.Accent),
			Filled:   n().Foreground(p.OK),
			Dead:     n().Foreground(p.Muted),
			Notice:   n().Foreground(p.Warn),
		},
		Form: FormStyles{
			Box:          n().Border(lipgloss.RoundedBorder()).BorderForeground(p.Accent).Padding(0, 1),
			Label:        n().Foreground(p.Muted),
			LabelFocused: n().Bold(true).Foreground(p.FormFieldFocus),
			Value:        n(),
			Error:        n().Bold(true).Foreground(p.Bad),
			Warn:         n().Bold(true).Foreground(p.Warn),
			Hint:         n().Foreground(p.Muted),
			Cursor:       n().Reverse(true),
		},
		Status: StatusStyles{
			Bar:   n().Foreground(p.StatusBarFg).Background(p.StatusBarBg),
			OK:    n().Bold(true).Foreground(p.OK),
			Bad:   n().Bold(true).Foreground(p.Bad),
			Warn:  n().Bold(true).Foreground(p.Warn),
			Muted: n().Foreground(p.Muted),
		},
		Overlay: n().Border(lipgloss.RoundedBorder()).BorderForeground(p.OverlayBorder).Padding(0, 1),
		Help: help.Styles{
			ShortKey:       n().Foreground(p.HelpKey),
			ShortDesc:      n().Foreground(p.HelpDesc),
			ShortSeparator: n().Foreground(p.HelpDesc),
			Ellipsis:       n().Foreground(p.HelpDesc),
			FullKey:        n().Bold(true).Foreground(p.HelpKey),
			FullDesc:       n().Foreground(p.HelpDesc),
			FullSeparator:  n().Foreground(p.HelpDesc),
		},
	}
}
