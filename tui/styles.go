package tui

import "github.com/charmbracelet/lipgloss"

// Styles holds every style the dashboard uses, so a theme is one value.
type Styles struct {
	Title     lipgloss.Style
	Header    lipgloss.Style
	Cell      lipgloss.Style
	Up        lipgloss.Style // price moved up
	Down      lipgloss.Style // price moved down
	Flash     lipgloss.Style // the moment after a change
	Stale     lipgloss.Style // row past its age threshold or feed-stale
	Frozen    lipgloss.Style // our link is down
	Border    lipgloss.Style
	StatusOK  lipgloss.Style
	StatusBad lipgloss.Style
	StatusBar lipgloss.Style
	Help      lipgloss.Style
}

// DefaultStyles returns the default theme. Under NO_COLOR lipgloss renders
// no colours; marks in the text (▲ ▼ STALE FROZEN) carry the meaning anyway.
func DefaultStyles() Styles {
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true),
		Header:    lipgloss.NewStyle().Bold(true).Padding(0, 1),
		Cell:      lipgloss.NewStyle().Padding(0, 1),
		Up:        lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Down:      lipgloss.NewStyle().Foreground(lipgloss.Color("1")),
		Flash:     lipgloss.NewStyle().Bold(true).Reverse(true),
		Stale:     lipgloss.NewStyle().Faint(true).Foreground(lipgloss.Color("3")),
		Frozen:    lipgloss.NewStyle().Faint(true).Foreground(lipgloss.Color("4")),
		Border:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		StatusOK:  lipgloss.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
		StatusBad: lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		StatusBar: lipgloss.NewStyle(),
		Help:      lipgloss.NewStyle().Faint(true),
	}
}
