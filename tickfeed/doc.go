// Package tickfeed connects recorded ticks (package ticks) to a feed server:
// it replays tick files into a server and records a server's topics back
// into a tick file.
//
// Replaying: ticks.ReplayBatches paces, and a Publisher takes the ticks due
// together: HubPublisher publishes them in process into a server's Hub
// (`tickwire server --replay`, `tickwire demo`, `tickwire replay` without
// --server), WSPublisher sends them to a running server over its WebSocket
// as a publisher client (`tickwire replay --server`). Replay runs one with
// the other. Files opens the tick files to replay, merged in time order.
//
// Mapping: a quote tick is a value of topic SYMBOL (bid, ask and the sizes
// when known), a trade tick a value of SYMBOL.trades (last, last size, and
// volume/high/low for the trade merge); see TickValue and ValueTick.
//
// Recording: Record subscribes to a server's topics (by path.Match patterns,
// the wildcard ones matched against its GET /topics) and writes every new
// value to a ticks.Writer, counting the versions it lost to conflation or
// reconnects (`tickwire record`).
package tickfeed
