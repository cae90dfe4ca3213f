package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"tickwire/behaviour"
	"tickwire/feedserver"
	"tickwire/internal/flagfile"
)

// TopicsKey is the key of the server's config file holding its topic rules
// (feedserver.TopicRuleSpec), beside the flag values.
const TopicsKey = "topics"

// ConfigTopicRules returns the topic rules under TopicsKey in raw, the
// server's config file named file, with the behaviours they name loaded
// under cfg's bounds (TopicRules). Without the key it returns nil rules
// (the server's defaults). Every error names the file; a misspelt key in
// a rule is one.
func ConfigTopicRules(ctx context.Context, raw []byte, file string, cfg behaviour.Config) ([]feedserver.TopicRule, *Behaviours, error) {
	keys, err := flagfile.ReadKeys(raw, []string{TopicsKey})
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", file, err)
	}
	section, ok := keys[TopicsKey]
	if !ok {
		return nil, nil, nil
	}
	// Decoded again with KnownFields, so a misspelt key is an error.
	text, err := yaml.Marshal(&section)
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %s: %w", file, TopicsKey, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var specs []feedserver.TopicRuleSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, nil, fmt.Errorf("config %s:%d: %s: %w", file, section.Line, TopicsKey, err)
	}
	rules, behaviours, err := TopicRules(ctx, specs, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", file, err)
	}
	return rules, behaviours, nil
}

// DemoTopicRules returns the demo's topic rules: each of symbols merged by
// the mid behaviour (quotes that would cross the book are dropped; mid and
// spread derived), from dir/mid.wasm, which `make demo` builds. Without the
// file the demo runs on the default rules and says why.
func DemoTopicRules(ctx context.Context, dir string, symbols []string, log *slog.Logger) ([]feedserver.TopicRule, *Behaviours, error) {
	file := filepath.Join(dir, "mid.wasm")
	if _, err := os.Stat(file); err != nil {
		log.Warn("demo: no behaviour module, quotes without mid and spread (make behaviours builds it)", "file", file)
		return nil, nil, nil
	}
	var specs []feedserver.TopicRuleSpec
	for _, s := range symbols {
		specs = append(specs, feedserver.TopicRuleSpec{Pattern: s, Merge: map[string]string{"*": "wasm(" + file + ", mid)"}})
	}
	cfg := behaviour.Config{CallBudget: 5 * time.Millisecond}
	if dir, err := os.UserCacheDir(); err == nil {
		cfg.CacheDir = filepath.Join(dir, "tickwire", "behaviours")
	}
	log.Info("demo: quotes merge through a behaviour (mid and spread derived, crossed books dropped)", "module", file, "symbols", symbols)
	return TopicRules(ctx, specs, cfg)
}
