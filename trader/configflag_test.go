package trader

import (
	"flag"
	"slices"
	"testing"

	"tickwire/internal/flagfile"
)

// TestConfigFileFlag: as a flag.Value it holds the path, and it tells the
// flag layer the dashboard's keys (flagfile.Keyer).
func TestConfigFileFlag(t *testing.T) {
	var path string
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var((*ConfigFile)(&path), "config", "")
	if err := fs.Parse([]string{"--config", "dash.yaml"}); err != nil || path != "dash.yaml" || fs.Lookup("config").Value.String() != "dash.yaml" {
		t.Errorf("parsed %q, %v", path, err)
	}
	k, ok := fs.Lookup("config").Value.(flagfile.Keyer)
	if !ok || !slices.Contains(k.ConfigKeys(), "watchlist") {
		t.Errorf("not a flagfile.Keyer with the dashboard's keys (%v)", ok)
	}
	if (*ConfigFile)(nil).String() != "" {
		t.Error("nil String")
	}
}
