package node

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tickwire/behaviour"
	"tickwire/internal/flagfile"
)

// TestConfigFileFlag: as a flag.Value it holds the path and tells the
// flag layer the topic rules' key; its TopicRules reads the file (none
// without a path; a missing file is a --config error).
func TestConfigFileFlag(t *testing.T) {
	var c ConfigFile
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var(&c, "config", "")
	if err := fs.Parse([]string{"--config", "server.yaml"}); err != nil || c != "server.yaml" || fs.Lookup("config").Value.String() != "server.yaml" {
		t.Errorf("parsed %q, %v", c, err)
	}
	k, ok := fs.Lookup("config").Value.(flagfile.Keyer)
	if !ok || !slices.Equal(k.ConfigKeys(), []string{TopicsKey}) {
		t.Errorf("not a flagfile.Keyer with the topics key (%v)", ok)
	}
	if (*ConfigFile)(nil).String() != "" {
		t.Error("nil String")
	}
	ctx, cfg := context.Background(), behaviour.Config{}
	if rules, behs, err := ConfigFile("").TopicRules(ctx, cfg); rules != nil || behs != nil || err != nil {
		t.Errorf("no file: %v, %v, %v", rules, behs, err)
	}
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, _, err := ConfigFile(missing).TopicRules(ctx, cfg); err == nil || !strings.HasPrefix(err.Error(), "--config: ") {
		t.Errorf("missing file: %v", err)
	}
	file := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(file, []byte("topics:\n  - pattern: \"*.trades\"\n    kind: merge\n    merge: {volume: sum}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rules, _, err := ConfigFile(file).TopicRules(ctx, cfg); err != nil || rules[0].Pattern != "*.trades" {
		t.Errorf("rules %+v, %v", rules, err)
	}
}
