package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"tickwire/behaviour"
	"tickwire/feedserver"
	"tickwire/node"
)

// behaviourFlags: the topic rules of the config file and the bounds of the
// WebAssembly behaviours they name (docs/behaviours.md).
type behaviourFlags struct {
	config node.ConfigFile
	budget time.Duration
	wall   time.Duration
	memMiB int
	cache  string
}

func (b *behaviourFlags) register(fs *flag.FlagSet) {
	fs.Var(&b.config, "config", "read flag values, and topic rules under \"topics:\", from `FILE` (YAML; configs/server.example.yaml)")
	fs.DurationVar(&b.budget, "behaviour-budget", 5*time.Millisecond, "CPU time one behaviour call may use before its module is stopped and the behaviour disabled for the topic (on Linux the calling thread's CPU clock, so a call starved of CPU is not stopped; elsewhere wall-clock time: docs/behaviours.md)")
	fs.DurationVar(&b.wall, "behaviour-wall-limit", time.Second, "wall-clock time one behaviour call may take, whatever CPU it used (a backstop to --behaviour-budget)")
	fs.IntVar(&b.memMiB, "behaviour-memory", 32, "memory cap of each behaviour module instance, in `MiB`")
	fs.StringVar(&b.cache, "behaviour-cache", "", "keep compiled behaviour modules in `DIR`, so a restart or a reload of an unchanged module is fast (empty: compile every time)")
}

// rules reads the config file's topic rules and loads the behaviours they
// name (node.ConfigFile.TopicRules). Without rules it returns nil rules (the
// server's defaults).
func (b *behaviourFlags) rules(ctx context.Context) ([]feedserver.TopicRule, *node.Behaviours, error) {
	if b.budget <= 0 || b.wall < b.budget || b.memMiB <= 0 || b.memMiB > 4096 {
		return nil, nil, usageError{fmt.Errorf("--behaviour-budget must be > 0, --behaviour-wall-limit at least --behaviour-budget and --behaviour-memory 1..4096 MiB")}
	}
	rules, behaviours, err := b.config.TopicRules(ctx,
		behaviour.Config{CallBudget: b.budget, CallWallLimit: b.wall, MemoryLimitPages: uint32(b.memMiB) * 16, CacheDir: b.cache})
	if err != nil {
		return nil, nil, usageError{err}
	}
	return rules, behaviours, nil
}
