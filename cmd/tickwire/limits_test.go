package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"testing"
	"time"

	"tickwire/feedserver"
)

// TestLimitFlagsApply: the limit flags land in the feed server's Config,
// a flag's 0 that means "none" becomes the Config's -1, and a value out of
// range is a usage error naming its flag.
func TestLimitFlagsApply(t *testing.T) {
	parse := func(args ...string) (feedserver.Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var l limitFlags
		l.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var cfg feedserver.Config
		err := l.apply(&cfg)
		return cfg, err
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	want := feedserver.Config{MaxPreHello: 1024, MaxPreHelloPerAddr: 64, MaxTopicsPerClient: 1024, MaxInboundMessage: 64 << 10,
		HandshakeTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxWriteBatch: 256 << 10, SubscribeRate: 100,
		MaxLingeringBytes: 128 << 20, MaxLingeringPerHolder: 16 << 20, HTTPReadTimeout: 10 * time.Second, HTTPIdleTimeout: 60 * time.Second,
		MaxHeaderBytes: 16 << 10, MaxPublishBody: 64 << 10, MaxStreamPost: 1 << 20, DrainTimeout: 5 * time.Second,
		MaxHubTopics: 100_000, MaxTopicsPerPublisher: 10_000, TopicReclaimAfter: time.Hour}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	cfg, err = parse("--max-pre-hello", "0", "--max-pre-hello-per-addr", "0", "--subscribe-rate", "0", "--topic-reclaim-after", "0",
		"--max-connections-per-addr", "7", "--idle-timeout", "9s", "--subscribe-burst", "3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPreHello != -1 || cfg.MaxPreHelloPerAddr != -1 || cfg.SubscribeRate != -1 || cfg.TopicReclaimAfter != -1 ||
		cfg.MaxConnectionsPerAddr != 7 || cfg.IdleTimeout != 9*time.Second || cfg.SubscribeBurst != 3 {
		t.Errorf("zeros and values: %+v", cfg)
	}
	_, err = parse("--max-topics", "0")
	if !errors.As(err, new(usageError)) || err.Error() != "--max-topics: out of range" {
		t.Errorf("--max-topics 0: %v, want a usage error naming the flag", err)
	}
}
