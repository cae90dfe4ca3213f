package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
)

func TestParseConfig(t *testing.T) {
	fc, err := ParseConfig("trader.json", []byte(`{
  "title": "desk 3",
  "servers": [{"url": "ws://10.0.0.1:8080/ws", "role": "primary"}, {"url": "ws://10.0.0.2:8080/ws", "role": "backup"}],
  "watchlist": ["EURUSD", "NZDUSD", "USDJPY"],
  "stale_after": "4s",
  "thresholds": {"USDJPY": "10s"},
  "colors": {"up": "10", "stale": "#ffaa00"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := fc.URLs(); len(got) != 2 || got[1] != "ws://10.0.0.2:8080/ws" {
		t.Errorf("URLs %v", got)
	}
	var cfg Config
	cfg.Thresholds = map[string]time.Duration{"EURUSD": time.Second} // set in code: wins
	if err := fc.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Title != "desk 3" || len(cfg.Symbols) != 3 || cfg.StaleAfter != 4*time.Second ||
		cfg.Thresholds["USDJPY"] != 10*time.Second || cfg.Thresholds["EURUSD"] != time.Second ||
		cfg.Roles["ws://10.0.0.2:8080/ws"] != "backup" || cfg.Styles == nil {
		t.Errorf("applied: %+v", cfg)
	}
	if c := cfg.Styles.Board.Up.GetForeground(); c != lipgloss.Color("10") {
		t.Errorf("up colour %v", c)
	}

	// A flag given on the command line (already in cfg) wins over the file.
	cfg = Config{Symbols: []string{"BTCUSD"}, StaleAfter: time.Second}
	_ = fc.Apply(&cfg)
	if len(cfg.Symbols) != 1 || cfg.StaleAfter != time.Second {
		t.Errorf("flags lost to the file: %+v", cfg)
	}

	m := New(Config{Thresholds: map[string]time.Duration{"USDJPY": 10 * time.Second}, StaleAfter: 4 * time.Second})
	if m.mk.threshold("USDJPY") != 10*time.Second || m.mk.threshold("EURUSD") != 4*time.Second {
		t.Error("per-symbol thresholds")
	}
}

func TestParseConfigErrors(t *testing.T) {
	for body, want := range map[string]string{
		`{"watchlist": ["EURUSD"], "stale": "5s"}`:    `unknown field "stale"`,
		`{"stale_after": 5}`:                          `want a duration string such as "5s"`,
		`{"stale_after": "-1s"}`:                      `must be positive`,
		`{"thresholds": {"EURUSD": "soon"}}`:          `invalid duration "soon"`,
		`{"servers": [{"url": "http://x"}]}`:          `servers[0]: url "http://x": want a ws:// or wss:// URL`,
		`{"colors": {"upp": "2"}}`:                    `unknown colour "upp"`,
		`{"colors": {"up": "green"}}`:                 `colour up: "green" is not an ANSI index`,
		`{"colors": {"up": "256"}}`:                   `is not an ANSI index`,
		`{"watchlist": ["EUR USD"]}`:                  `watchlist: "EUR USD" is not a valid symbol`,
		"{\n  \"watchlist\": [\"EURUSD\",]\n}":        `trader.json:2: invalid character ']'`,
		`{"watchlist": ["EURUSD"]} {"watchlist": []}`: `data after the config object`,
		`{"watchlist": ["EURUSD"]}` + "\n":            ``,
	} {
		_, err := ParseConfig("trader.json", []byte(body))
		switch {
		case want == "":
			if err != nil {
				t.Errorf("%s: %v", body, err)
			}
		case err == nil || !strings.Contains(err.Error(), want):
			t.Errorf("%s: error %v, want %q", body, err, want)
		}
	}
}
