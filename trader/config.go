package trader

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"

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
