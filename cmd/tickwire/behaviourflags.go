package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"tickwire/behaviour"
	"tickwire/feedserver"
	"tickwire/internal/flagfile"
	"tickwire/node"
)

// topicsKey is the server's config file key holding its topic rules.
const topicsKey = "topics"

// serverConfigFile is the --config flag of `tickwire server`: flag values,
// and the topic rules under "topics:" (feedserver.TopicRuleSpec), which the
// flag layer leaves to behaviourFlags.rules.
type serverConfigFile string

// String implements flag.Value.
func (s *serverConfigFile) String() string {
	if s == nil {
		return ""
	}
	return string(*s)
}

// Set implements flag.Value.
func (s *serverConfigFile) Set(v string) error {
	*s = serverConfigFile(v)
	return nil
}

// ConfigKeys implements flagfile.Keyer.
func (s *serverConfigFile) ConfigKeys() []string { return []string{topicsKey} }

// behaviourFlags: the topic rules of the config file and the bounds of the
// WebAssembly behaviours they name (docs/behaviours.md).
type behaviourFlags struct {
	config serverConfigFile
	budget time.Duration
	memMiB int
	cache  string
}

func (b *behaviourFlags) register(fs *flag.FlagSet) {
	fs.Var(&b.config, "config", "read flag values, and topic rules under \"topics:\", from `FILE` (YAML; configs/server.example.yaml)")
	fs.DurationVar(&b.budget, "behaviour-budget", 10*time.Millisecond, "time one behaviour call may run before its module is stopped and the behaviour disabled for the topic (also the longest a runaway module can stall the process: docs/behaviours.md)")
	fs.IntVar(&b.memMiB, "behaviour-memory", 32, "memory cap of each behaviour module instance, in `MiB`")
	fs.StringVar(&b.cache, "behaviour-cache", "", "keep compiled behaviour modules in `DIR`, so a restart or a reload of an unchanged module is fast (empty: compile every time)")
}

// rules reads the config file's topic rules and loads the behaviours they
// name. Without rules it returns nil rules (the server's defaults).
func (b *behaviourFlags) rules(ctx context.Context) ([]feedserver.TopicRule, *node.Behaviours, error) {
	if b.budget <= 0 || b.memMiB <= 0 || b.memMiB > 4096 {
		return nil, nil, usageError{fmt.Errorf("--behaviour-budget must be > 0 and --behaviour-memory 1..4096 MiB")}
	}
	path := string(b.config)
	if path == "" {
		return nil, nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--config: %w", err)}
	}
	keys, err := flagfile.ReadKeys(raw, []string{topicsKey})
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("config %s: %w", path, err)}
	}
	node_, ok := keys[topicsKey]
	if !ok {
		return nil, nil, nil
	}
	// Decoded again with KnownFields, so a misspelt key is an error.
	text, err := yaml.Marshal(&node_)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("config %s: %s: %w", path, topicsKey, err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var specs []feedserver.TopicRuleSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, nil, usageError{fmt.Errorf("config %s:%d: %s: %w", path, node_.Line, topicsKey, err)}
	}
	rules, behaviours, err := node.TopicRules(ctx, specs, b.bounds())
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("config %s: %w", path, err)}
	}
	return rules, behaviours, nil
}

// bounds is the behaviour runtime's configuration of the flags.
func (b *behaviourFlags) bounds() behaviour.Config {
	return behaviour.Config{CallBudget: b.budget, MemoryLimitPages: uint32(b.memMiB) * 16, CacheDir: b.cache}
}

// demoBehaviours returns the demo's topic rules: each of symbols merged by
// the mid behaviour (quotes that would cross the book are dropped; mid and
// spread derived), from dir/mid.wasm, which `make demo` builds. Without the
// file the demo runs on the default rules and says why.
func demoBehaviours(ctx context.Context, dir string, symbols []string, log *slog.Logger) ([]feedserver.TopicRule, *node.Behaviours, error) {
	file := filepath.Join(dir, "mid.wasm")
	if _, err := os.Stat(file); err != nil {
		log.Warn("demo: no behaviour module, quotes without mid and spread (make behaviours builds it)", "file", file)
		return nil, nil, nil
	}
	var specs []feedserver.TopicRuleSpec
	for _, s := range symbols {
		specs = append(specs, feedserver.TopicRuleSpec{Pattern: s, Merge: map[string]string{"*": "wasm(" + file + ", mid)"}})
	}
	cfg := behaviour.Config{CallBudget: 10 * time.Millisecond}
	if dir, err := os.UserCacheDir(); err == nil {
		cfg.CacheDir = filepath.Join(dir, "tickwire", "behaviours")
	}
	log.Info("demo: quotes merge through a behaviour (mid and spread derived, crossed books dropped)", "module", file, "symbols", symbols)
	return node.TopicRules(ctx, specs, cfg)
}
