package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickwire/behaviour"
)

// TestConfigTopicRules: the rules under "topics:" come before the
// defaults; a file without the key gives none; a bad rule, a misspelt key
// or a module that does not load is an error naming the file.
func TestConfigTopicRules(t *testing.T) {
	ctx := context.Background()
	cfg := behaviour.Config{CallBudget: 10 * time.Millisecond, MemoryLimitPages: 16}
	notWasm := filepath.Join(t.TempDir(), "vwap.wasm")
	if err := os.WriteFile(notWasm, []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, behs, err := ConfigTopicRules(ctx, []byte("name: n1\ntopics:\n  - pattern: \"*.trades\"\n    kind: merge\n    merge: {volume: sum}\n"), "server.yaml", cfg)
	if err != nil || len(rules) < 2 || rules[0].Pattern != "*.trades" || behs.Any() {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	if rules, behs, err := ConfigTopicRules(ctx, []byte("name: n1\n"), "server.yaml", cfg); rules != nil || behs != nil || err != nil {
		t.Fatalf("no topics: %v, %v, %v; want nil rules", rules, behs, err)
	}
	for yaml, want := range map[string]string{
		"topics:\n  - pattern: x\n    kindd: merge\n":                                   "field kindd not found",
		"topics:\n  - pattern: x\n    merge: {colour: sum}\n":                           `unknown field "colour"`,
		"topics:\n  - pattern: x\n    merge: {vwap: \"wasm(" + notWasm + ", vwap)\"}\n": "invalid",
		"topics: {pattern: x}\n":                                                        "cannot unmarshal",
		"topics: [\n":                                                                   "config server.yaml: ",
	} {
		_, _, err := ConfigTopicRules(ctx, []byte(yaml), "server.yaml", cfg)
		if err == nil || !strings.Contains(err.Error(), "server.yaml") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming the file and %q", yaml, err, want)
		}
	}
}
