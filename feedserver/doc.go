// Package feedserver is tickwire's feed server: it takes prices from sources,
// keeps the latest value of every topic, and streams them to WebSocket clients.
//
// The data path, one hop per file:
//
//	source (package tickfeed's replay, publishers) -> Hub.Publish (hub.go): topic cache + encode once (topic.go)
//	  -> per-client virtual queue, one pending entry per topic (queue.go)
//	  -> a writer goroutine per connection with work, coalescing frames into few
//	     writes (writer.go): started by the queue's signal, gone after 25 ms idle
//	     (writerLinger), so an idle connection holds none
//
// A price update is encoded once per publish, not per client: every subscriber's
// queue points at the same immutable version. A client that keeps up receives
// each version as a delta (only the fields that changed); a client that fell
// behind has its pending entry replaced by the newer version and receives a
// full snapshot of it instead. Queue depth for conflatable data is 0 or 1.
//
// Sequenced topics (orders, fills, alerts) live in a recovery.Journal
// (sequenced.go): Hub.PublishEvents returns once the events are in it, the ring
// in topic.go is a cache of the newest, and a writer serves a subscriber
// behind the cache, or whose position is to be checked, from the journal.
// Sessions (session.go, package sessions) survive disconnections for a linger
// time and resume with a signed token; clients that cannot open a WebSocket
// use HTTP streaming (httpstream.go), the same Conn, queue and writer behind
// a transport interface (transport.go).
//
// Lock order: shard.mu before queue.mu; the journal's and the session store's
// locks are taken with neither held, or under shard.mu only (journal Head when a
// topic is created). Nothing else is held while writing to a socket.
package feedserver
