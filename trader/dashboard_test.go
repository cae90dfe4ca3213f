package trader

import (
	"slices"
	"testing"
	"time"

	"tickwire/tui"
)

// TestDashboardConfig: a flag given explicitly wins over the file, the file
// over a flag's default.
func TestDashboardConfig(t *testing.T) {
	flags, fromFlags := []string{"EURUSD"}, 5*time.Second
	fc := tui.FileConfig{Watchlist: []string{"GBPUSD", "USDJPY"}, StaleAfter: tui.Duration(9 * time.Second)}
	for _, c := range []struct {
		given   bool
		symbols []string
		stale   time.Duration
	}{
		{false, fc.Watchlist, 9 * time.Second},
		{true, flags, fromFlags},
	} {
		cfg, err := DashboardConfig(&fc, "T", flags, c.given, fromFlags, c.given)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Title != "T" || !slices.Equal(cfg.Symbols, c.symbols) || cfg.StaleAfter != c.stale {
			t.Errorf("given %v: %+v, want symbols %v, stale after %v", c.given, cfg, c.symbols, c.stale)
		}
	}
	cfg, err := DashboardConfig(&tui.FileConfig{}, "T", flags, false, fromFlags, false)
	if err != nil || !slices.Equal(cfg.Symbols, flags) || cfg.StaleAfter != fromFlags {
		t.Errorf("no file: %+v, %v: want the flags' defaults", cfg, err)
	}
	if _, err := DashboardConfig(&tui.FileConfig{Colors: map[string]string{"no-such-role": "red"}}, "T", flags, false, fromFlags, false); err == nil {
		t.Error("a bad colour: no error")
	}
}
