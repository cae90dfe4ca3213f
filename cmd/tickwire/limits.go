package main

import (
	"cmp"
	"flag"
	"fmt"
	"time"

	"tickwire/feedserver"
)

// limitFlags are the server's limits against hostile or broken clients and
// its shutdown drain (docs/limits.md).
type limitFlags struct {
	perAddr        int
	preHello       int
	preHelloAddr   int
	maxTopics      int
	maxMessage     int64
	handshake      time.Duration
	idle           time.Duration
	write          time.Duration
	writeBatch     int
	lingerBytes    int64
	lingerPer      int64
	subscribeRate  float64
	subscribeBurst int
	httpRead       time.Duration
	httpIdle       time.Duration
	maxHeader      int
	maxPublishBody int64
	maxStreamPost  int64
	drain          time.Duration
	hubTopics      int
	pubTopics      int
	reclaimTopics  time.Duration
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.perAddr, "max-connections-per-addr", 0, "connection cap per remote IP address (0: none; behind a proxy every client shares its address)")
	fs.IntVar(&l.preHello, "max-pre-hello", 1024, "connections awaiting their Hello (not yet authenticated), all told (0: no limit); they do not count against --max-connections")
	fs.IntVar(&l.preHelloAddr, "max-pre-hello-per-addr", 64, "connections awaiting their Hello per remote IP address (0: no limit, e.g. for a bench opening thousands from 127.0.0.1 at once)")
	fs.IntVar(&l.maxTopics, "max-topics", 1024, "subscriptions per client")
	fs.Int64Var(&l.maxMessage, "max-message", 64<<10, "largest message a client may send, in `BYTES` (Error 2007 past it)")
	fs.DurationVar(&l.handshake, "handshake-timeout", 5*time.Second, "time for a client's HTTP request header and for its Hello")
	fs.DurationVar(&l.idle, "idle-timeout", 0, "disconnect a client that sends nothing (not even a Pong) this long; also bounds reading one message (0: three heartbeats)")
	fs.DurationVar(&l.write, "write-timeout", 5*time.Second, "time for one batch write to a client")
	fs.IntVar(&l.writeBatch, "max-write-batch", 256<<10, "largest batch gathered for one write to a client, across its subscriptions, in `BYTES` (a catch-up continues in the next)")
	fs.Float64Var(&l.subscribeRate, "subscribe-rate", 100, "subscription changes (topics subscribed or unsubscribed) per second per client (0: unlimited)")
	fs.IntVar(&l.subscribeBurst, "subscribe-burst", 0, "subscription changes a client may make at once (0: twice --max-topics)")
	fs.Int64Var(&l.lingerBytes, "max-lingering-bytes", 128<<20, "memory of all disconnected sessions kept for their clients to resume, in `BYTES` (past it the biggest holder's oldest end early)")
	fs.Int64Var(&l.lingerPer, "max-lingering-per-holder", 16<<20, "memory of one subject's (or anonymous address's) disconnected sessions, in `BYTES` (past it its oldest end early)")
	fs.DurationVar(&l.httpRead, "http-read-timeout", 10*time.Second, "time to read one HTTP request, body included (REST, HTTP-stream posts)")
	fs.DurationVar(&l.httpIdle, "http-idle-timeout", 60*time.Second, "close keep-alive HTTP connections idle this long")
	fs.IntVar(&l.maxHeader, "max-header-bytes", 16<<10, "largest HTTP request header, in `BYTES`")
	fs.Int64Var(&l.maxPublishBody, "max-publish-body", 64<<10, "largest POST /publish body, in `BYTES` (413 past it)")
	fs.Int64Var(&l.maxStreamPost, "max-stream-post", 1<<20, "largest POST /stream/{id} body, in `BYTES` (413 past it)")
	fs.DurationVar(&l.drain, "drain-timeout", 5*time.Second, "on SIGTERM, time to flush clients' queued data and finish HTTP requests in flight")
	fs.IntVar(&l.hubTopics, "max-hub-topics", 100_000, "topics with a value or a history on the server: a client's publish that would make one more is refused (Error 1011, REST 429)")
	fs.IntVar(&l.pubTopics, "max-topics-per-publisher", 10_000, "topics one publisher (a principal's subject; in open mode an IP address) may have made that still exist")
	fs.DurationVar(&l.reclaimTopics, "topic-reclaim-after", time.Hour, "forget a price topic nobody published to for this long and nobody subscribes to (0: never)")
}

// apply checks the flags and puts them in cfg.
func (l *limitFlags) apply(cfg *feedserver.Config) error {
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"--max-connections-per-addr", l.perAddr < 0},
		{"--max-pre-hello", l.preHello < 0},
		{"--max-pre-hello-per-addr", l.preHelloAddr < 0},
		{"--max-topics", l.maxTopics <= 0},
		{"--max-message", l.maxMessage <= 0},
		{"--handshake-timeout", l.handshake <= 0},
		{"--idle-timeout", l.idle < 0},
		{"--write-timeout", l.write <= 0},
		{"--max-write-batch", l.writeBatch <= 0},
		{"--max-lingering-bytes", l.lingerBytes <= 0},
		{"--max-lingering-per-holder", l.lingerPer <= 0},
		{"--subscribe-rate", l.subscribeRate < 0},
		{"--subscribe-burst", l.subscribeBurst < 0},
		{"--http-read-timeout", l.httpRead <= 0},
		{"--http-idle-timeout", l.httpIdle <= 0},
		{"--max-header-bytes", l.maxHeader <= 0},
		{"--max-publish-body", l.maxPublishBody <= 0},
		{"--max-stream-post", l.maxStreamPost <= 0},
		{"--drain-timeout", l.drain <= 0},
		{"--max-hub-topics", l.hubTopics <= 0},
		{"--max-topics-per-publisher", l.pubTopics <= 0},
		{"--topic-reclaim-after", l.reclaimTopics < 0},
	} {
		if c.bad {
			return usageError{fmt.Errorf("%s: out of range", c.name)}
		}
	}
	cfg.MaxConnectionsPerAddr = l.perAddr
	// The flags' 0 means no limit; the Config's 0 the default.
	cfg.MaxPreHello = cmp.Or(l.preHello, -1)
	cfg.MaxPreHelloPerAddr = cmp.Or(l.preHelloAddr, -1)
	cfg.MaxTopicsPerClient = l.maxTopics
	cfg.MaxInboundMessage = l.maxMessage
	cfg.HandshakeTimeout = l.handshake
	cfg.IdleTimeout = l.idle // 0: the Config's default, three heartbeats
	cfg.WriteTimeout = l.write
	cfg.MaxWriteBatch = l.writeBatch
	cfg.MaxLingeringBytes = l.lingerBytes
	cfg.MaxLingeringPerHolder = l.lingerPer
	cfg.SubscribeRate = l.subscribeRate
	if l.subscribeRate == 0 {
		cfg.SubscribeRate = -1 // the flag's 0 means unlimited; the Config's 0 the default
	}
	cfg.SubscribeBurst = l.subscribeBurst
	cfg.HTTPReadTimeout = l.httpRead
	cfg.HTTPIdleTimeout = l.httpIdle
	cfg.MaxHeaderBytes = l.maxHeader
	cfg.MaxPublishBody = l.maxPublishBody
	cfg.MaxStreamPost = l.maxStreamPost
	cfg.DrainTimeout = l.drain
	cfg.MaxHubTopics = l.hubTopics
	cfg.MaxTopicsPerPublisher = l.pubTopics
	cfg.TopicReclaimAfter = l.reclaimTopics
	if l.reclaimTopics == 0 {
		cfg.TopicReclaimAfter = -1 // the flag's 0 means never; the Config's 0 the default
	}
	return nil
}
