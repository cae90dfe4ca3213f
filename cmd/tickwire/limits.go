package main

import (
	"cmp"
	"flag"
	"fmt"
	"time"

	"tickwire/feedserver"
)

// limitFlags are the server's limits against hostile or broken clients and
// its shutdown drain (docs/limits.md), bound to the feed server Config's
// fields of the same meaning (but for the flags whose 0 means none).
type limitFlags struct{ feedserver.Config }

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.MaxConnectionsPerAddr, "max-connections-per-addr", 0, "connection cap per remote IP address (0: none; behind a proxy every client shares its address)")
	fs.IntVar(&l.MaxPreHello, "max-pre-hello", 1024, "connections awaiting their Hello (not yet authenticated), all told (0: no limit); they do not count against --max-connections")
	fs.IntVar(&l.MaxPreHelloPerAddr, "max-pre-hello-per-addr", 64, "connections awaiting their Hello per remote IP address (0: no limit, e.g. for a bench opening thousands from 127.0.0.1 at once)")
	fs.IntVar(&l.MaxTopicsPerClient, "max-topics", 1024, "subscriptions per client")
	fs.Int64Var(&l.MaxInboundMessage, "max-message", 64<<10, "largest message a client may send, in `BYTES` (Error 2007 past it)")
	fs.DurationVar(&l.HandshakeTimeout, "handshake-timeout", 5*time.Second, "time for a client's HTTP request header and for its Hello")
	fs.DurationVar(&l.IdleTimeout, "idle-timeout", 0, "disconnect a client that sends nothing (not even a Pong) this long; also bounds reading one message (0: three heartbeats)")
	fs.DurationVar(&l.WriteTimeout, "write-timeout", 5*time.Second, "time for one batch write to a client")
	fs.IntVar(&l.MaxWriteBatch, "max-write-batch", 256<<10, "largest batch gathered for one write to a client, across its subscriptions, in `BYTES` (a catch-up continues in the next)")
	fs.Float64Var(&l.SubscribeRate, "subscribe-rate", 100, "subscription changes (topics subscribed or unsubscribed) per second per client (0: unlimited)")
	fs.IntVar(&l.SubscribeBurst, "subscribe-burst", 0, "subscription changes a client may make at once (0: twice --max-topics)")
	fs.Int64Var(&l.MaxLingeringBytes, "max-lingering-bytes", 128<<20, "memory of all disconnected sessions kept for their clients to resume, in `BYTES` (past it the biggest holder's oldest end early)")
	fs.Int64Var(&l.MaxLingeringPerHolder, "max-lingering-per-holder", 16<<20, "memory of one subject's (or anonymous address's) disconnected sessions, in `BYTES` (past it its oldest end early)")
	fs.DurationVar(&l.HTTPReadTimeout, "http-read-timeout", 10*time.Second, "time to read one HTTP request, body included (REST, HTTP-stream posts)")
	fs.DurationVar(&l.HTTPIdleTimeout, "http-idle-timeout", 60*time.Second, "close keep-alive HTTP connections idle this long")
	fs.IntVar(&l.MaxHeaderBytes, "max-header-bytes", 16<<10, "largest HTTP request header, in `BYTES`")
	fs.Int64Var(&l.MaxPublishBody, "max-publish-body", 64<<10, "largest POST /publish body, in `BYTES` (413 past it)")
	fs.Int64Var(&l.MaxStreamPost, "max-stream-post", 1<<20, "largest POST /stream/{id} body, in `BYTES` (413 past it)")
	fs.DurationVar(&l.DrainTimeout, "drain-timeout", 5*time.Second, "on SIGTERM, time to flush clients' queued data and finish HTTP requests in flight")
	fs.IntVar(&l.MaxHubTopics, "max-hub-topics", 100_000, "topics with a value or a history on the server: a client's publish that would make one more is refused (Error 1011, REST 429)")
	fs.IntVar(&l.MaxTopicsPerPublisher, "max-topics-per-publisher", 10_000, "topics one publisher (a principal's subject; in open mode an IP address) may have made that still exist")
	fs.DurationVar(&l.TopicReclaimAfter, "topic-reclaim-after", time.Hour, "forget a price topic nobody published to for this long and nobody subscribes to (0: never)")
}

// apply checks the flags and makes *cfg a Config with them, the other
// fields zero.
func (l *limitFlags) apply(cfg *feedserver.Config) error {
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"--max-connections-per-addr", l.MaxConnectionsPerAddr < 0},
		{"--max-pre-hello", l.MaxPreHello < 0},
		{"--max-pre-hello-per-addr", l.MaxPreHelloPerAddr < 0},
		{"--max-topics", l.MaxTopicsPerClient <= 0},
		{"--max-message", l.MaxInboundMessage <= 0},
		{"--handshake-timeout", l.HandshakeTimeout <= 0},
		{"--idle-timeout", l.IdleTimeout < 0},
		{"--write-timeout", l.WriteTimeout <= 0},
		{"--max-write-batch", l.MaxWriteBatch <= 0},
		{"--max-lingering-bytes", l.MaxLingeringBytes <= 0},
		{"--max-lingering-per-holder", l.MaxLingeringPerHolder <= 0},
		{"--subscribe-rate", l.SubscribeRate < 0},
		{"--subscribe-burst", l.SubscribeBurst < 0},
		{"--http-read-timeout", l.HTTPReadTimeout <= 0},
		{"--http-idle-timeout", l.HTTPIdleTimeout <= 0},
		{"--max-header-bytes", l.MaxHeaderBytes <= 0},
		{"--max-publish-body", l.MaxPublishBody <= 0},
		{"--max-stream-post", l.MaxStreamPost <= 0},
		{"--drain-timeout", l.DrainTimeout <= 0},
		{"--max-hub-topics", l.MaxHubTopics <= 0},
		{"--max-topics-per-publisher", l.MaxTopicsPerPublisher <= 0},
		{"--topic-reclaim-after", l.TopicReclaimAfter < 0},
	} {
		if c.bad {
			return usageError{fmt.Errorf("%s: out of range", c.name)}
		}
	}
	*cfg = l.Config // only the limits: the caller sets the rest
	// The flags' 0 means no limit (never, unlimited); the Config's 0 the default.
	cfg.MaxPreHello = cmp.Or(l.MaxPreHello, -1)
	cfg.MaxPreHelloPerAddr = cmp.Or(l.MaxPreHelloPerAddr, -1)
	cfg.SubscribeRate = cmp.Or(l.SubscribeRate, -1)
	cfg.TopicReclaimAfter = cmp.Or(l.TopicReclaimAfter, -1)
	return nil
}
