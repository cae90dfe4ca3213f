package trader

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"tickwire/internal/flagfile"
	"tickwire/tui"
)

// ConfigKeys are the dashboard's keys in a trader or demo --config file:
// the JSON names of tui.FileConfig's fields. The file holds them next to
// flag values; the flag layer sets the flags and leaves these keys to
// LoadConfig.
func ConfigKeys() []string {
	t := reflect.TypeFor[tui.FileConfig]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// LoadConfig reads the dashboard's settings from the config file at path
// (YAML, or JSON, which is YAML too), ignoring the flag keys.
func LoadConfig(path string) (tui.FileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tui.FileConfig{}, err
	}
	nodes, err := flagfile.ReadKeys(b, ConfigKeys())
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

// DashboardConfig merges the dashboard's flags and its config file fc:
// a flag given explicitly (symbolsGiven, staleGiven) wins, then the file,
// then the flag's default.
func DashboardConfig(fc *tui.FileConfig, title string, symbols []string, symbolsGiven bool, staleAfter time.Duration, staleGiven bool) (tui.Config, error) {
	cfg := tui.Config{Title: title}
	if symbolsGiven || len(fc.Watchlist) == 0 {
		cfg.Symbols = symbols
	}
	if staleGiven || fc.StaleAfter == 0 {
		cfg.StaleAfter = staleAfter
	}
	err := fc.Apply(&cfg)
	return cfg, err
}
