package trader

import (
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// TestNoColor: with NO_COLOR set the dashboard renders no colours or
// attributes at all (its marks are text), and without it colours stay.
func TestNoColor(t *testing.T) {
	defer lipgloss.SetColorProfile(lipgloss.ColorProfile())
	lipgloss.SetColorProfile(termenv.ANSI256)
	t.Setenv("NO_COLOR", "")
	honourNoColor()
	if lipgloss.ColorProfile() != termenv.ANSI256 {
		t.Error("an empty NO_COLOR turned colours off")
	}
	t.Setenv("NO_COLOR", "1")
	honourNoColor()
	if p := lipgloss.ColorProfile(); p != termenv.Ascii {
		t.Errorf("NO_COLOR=1: profile %v, want Ascii", p)
	}
	if s := lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("2")).Render("x"); s != "x" {
		t.Errorf("NO_COLOR=1 still styles: %q", s)
	}
}
