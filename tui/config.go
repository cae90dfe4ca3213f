package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures the dashboard. Zero fields take the defaults in comments.
type Config struct {
	// Title is shown on the first line. Default "tickwire".
	Title string
	// Symbols fixes the board's order; symbols not listed are appended as
	// their first value arrives.
	Symbols []string
	// StaleAfter marks a row stale when its data is older. Default 5s.
	StaleAfter time.Duration
	// Thresholds overrides StaleAfter per symbol.
	Thresholds map[string]time.Duration
	// Roles names servers by URL ("primary", "backup") in the status bar.
	Roles map[string]string
	// Refresh is the render tick that advances ages and the clock. Default 200ms.
	Refresh time.Duration
	// Now is the clock. Default time.Now; tests inject a fixed one.
	Now func() time.Time
	// Styles is the theme. Default DefaultStyles().
	Styles *Styles
	// Keys are the key bindings. Default DefaultKeyMap().
	Keys *KeyMap
	// Orders sends orders. Nil means order entry is unavailable; the
	// blotter says so and still shows any OrdersMsg it receives.
	Orders OrderService
	// ClOrdIDPrefix starts every ClOrdID this dashboard makes. Default: a
	// short code from the start time, so two sessions do not collide.
	ClOrdIDPrefix string
}

// FileConfig is the trader's config file (JSON):
//
//	{
//	  "title": "desk 3",
//	  "servers": [{"url": "ws://10.0.0.1:8080/ws", "role": "primary"},
//	              {"url": "ws://10.0.0.2:8080/ws", "role": "backup"}],
//	  "watchlist": ["EURUSD", "NZDUSD"],
//	  "stale_after": "5s",
//	  "thresholds": {"NZDUSD": "10s"},
//	  "colors": {"up": "2", "down": "1", "stale": "214", "accent": "#00afff"}
//	}
//
// Every field is optional. Colour names are those of PaletteNames; values are
// ANSI indexes (0-255) or #rrggbb.
type FileConfig struct {
	Title      string              `json:"title"`
	Servers    []ServerConfig      `json:"servers"`
	Watchlist  []string            `json:"watchlist"`
	StaleAfter Duration            `json:"stale_after"`
	Thresholds map[string]Duration `json:"thresholds"`
	Colors     map[string]string   `json:"colors"`
}

// ServerConfig is one server the trader may connect to, tried in order.
type ServerConfig struct {
	URL  string `json:"url"`
	Role string `json:"role"`
}

// Duration is a time.Duration written as a Go duration string ("5s", "1m30s").
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"5s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ParseConfig checks and decodes a config file's JSON contents; path (the
// file's) prefixes the errors. Unknown fields are errors, so a typo does not
// silently fall back to a default. (The trader reads the file, JSON or
// YAML: cmd/tickwire/config_dashboard.go.)
func ParseConfig(path string, b []byte) (FileConfig, error) {
	var fc FileConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
			return fc, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		return fc, fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return fc, fmt.Errorf("%s: data after the config object", path)
	}
	if err := fc.check(); err != nil {
		return fc, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

func (fc *FileConfig) check() error {
	for i, s := range fc.Servers {
		if !strings.HasPrefix(s.URL, "ws://") && !strings.HasPrefix(s.URL, "wss://") {
			return fmt.Errorf("servers[%d]: url %q: want a ws:// or wss:// URL", i, s.URL)
		}
	}
	for _, s := range fc.Watchlist {
		if !validSymbol(s) || s == "" {
			return fmt.Errorf("watchlist: %q is not a valid symbol", s)
		}
	}
	var p Palette
	return p.Set(fc.Colors)
}

// URLs returns the configured servers' URLs, in order.
func (fc *FileConfig) URLs() []string {
	out := make([]string, 0, len(fc.Servers))
	for _, s := range fc.Servers {
		out = append(out, s.URL)
	}
	return out
}

// Apply fills cfg's fields that the file sets and cfg leaves zero: flags
// given on the command line win over the file.
func (fc *FileConfig) Apply(cfg *Config) error {
	if cfg.Title == "" {
		cfg.Title = fc.Title
	}
	if len(cfg.Symbols) == 0 {
		cfg.Symbols = append([]string(nil), fc.Watchlist...)
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = time.Duration(fc.StaleAfter)
	}
	if len(fc.Thresholds) > 0 {
		th := make(map[string]time.Duration, len(fc.Thresholds))
		for s, d := range fc.Thresholds {
			th[s] = time.Duration(d)
		}
		for s, d := range cfg.Thresholds {
			th[s] = d
		}
		cfg.Thresholds = th
	}
	if len(fc.Servers) > 0 {
		roles := make(map[string]string, len(fc.Servers))
		for _, s := range fc.Servers {
			if s.Role != "" {
				roles[s.URL] = s.Role
			}
		}
		for u, r := range cfg.Roles {
			roles[u] = r
		}
		cfg.Roles = roles
	}
	if len(fc.Colors) > 0 && cfg.Styles == nil {
		p := DefaultPalette()
		if err := p.Set(fc.Colors); err != nil {
			return err
		}
		st := NewStyles(p)
		cfg.Styles = &st
	}
	return nil
}
