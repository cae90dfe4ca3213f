package node

import (
	"context"
	"fmt"
	"os"

	"tickwire/behaviour"
	"tickwire/feedserver"
)

// ConfigFile is the value of `tickwire server`'s --config flag: a YAML
// file of flag values and, under TopicsKey, the topic rules, which the flag
// layer (flagfile) leaves to TopicRules through ConfigKeys.
type ConfigFile string

// String implements flag.Value.
func (c *ConfigFile) String() string {
	if c == nil {
		return ""
	}
	return string(*c)
}

// Set implements flag.Value.
func (c *ConfigFile) Set(s string) error {
	*c = ConfigFile(s)
	return nil
}

// ConfigKeys implements flagfile.Keyer: the topic rules' key.
func (c *ConfigFile) ConfigKeys() []string { return []string{TopicsKey} }

// TopicRules reads the file's topic rules and loads the behaviours they
// name under cfg's bounds (ConfigTopicRules). Without a file, or without
// rules in it, it returns nil rules (the server's defaults).
func (c ConfigFile) TopicRules(ctx context.Context, cfg behaviour.Config) ([]feedserver.TopicRule, *Behaviours, error) {
	if c == "" {
		return nil, nil, nil
	}
	raw, err := os.ReadFile(string(c))
	if err != nil {
		return nil, nil, fmt.Errorf("--config: %w", err)
	}
	return ConfigTopicRules(ctx, raw, string(c), cfg)
}
