package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"

	"tickwire/internal/flagfile"
	"tickwire/tui"
)

// dashboardConfigFile is the --config flag of trader and demo. Their file
// holds the dashboard's settings (tui.FileConfig: title, servers, watchlist,
// stale_after, thresholds, colors) next to flag values; the flag layer sets
// the flags and leaves those keys to loadDashboardConfig. A JSON file is a
// YAML file too, so the dashboard's JSON files keep working.
type dashboardConfigFile string

// String implements flag.Value.
func (d *dashboardConfigFile) String() string {
	if d == nil {
		return ""
	}
	return string(*d)
}

// Set implements flag.Value.
func (d *dashboardConfigFile) Set(s string) error {
	*d = dashboardConfigFile(s)
	return nil
}

// ConfigKeys implements flagfile.Keyer: the dashboard's keys.
func (d *dashboardConfigFile) ConfigKeys() []string { return dashboardKeys() }

// dashboardKeys are the JSON names of tui.FileConfig's fields.
func dashboardKeys() []string {
	t := reflect.TypeFor[tui.FileConfig]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// loadDashboardConfig reads the dashboard's settings from the config file at
// path, ignoring the flag keys (already applied by the flag layer).
func loadDashboardConfig(path string) (tui.FileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tui.FileConfig{}, err
	}
	nodes, err := flagfile.ReadKeys(b, dashboardKeys())
	if err != nil {
		return tui.FileConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	vals := make(map[string]any, len(nodes))
	for k, n := range nodes {
		var v any
		if k == "colors" {
			var c map[string]string // YAML reads `up: 2` as a number; colours are text
			v, err = &c, n.Decode(&c)
		} else {
			err = n.Decode(&v)
		}
		if err != nil {
			return tui.FileConfig{}, fmt.Errorf("%s:%d: %s: %w", path, n.Line, k, err)
		}
		vals[k] = v
	}
	j, err := json.Marshal(vals)
	if err != nil {
		return tui.FileConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return tui.ParseConfig(path, j)
}
