// Package ticks reads, writes, merges and replays recorded market ticks.
//
// Reader parses three CSV layouts, chosen by the header line: OANDA quotes
// (QuantConnect Lean), Binance spot quotes and trades (hftbacktest), and
// tickwire's own format, which Writer produces and which round-trips every
// Tick exactly. Input may be gzipped; that is detected by magic bytes.
// docs/ticks.md specifies the formats.
//
// Merge interleaves several time-ordered Sources into one. Replay paces a
// Source against the monotonic clock at a chosen speed, optionally looping
// with time moving forward; ReplayBatches does the same for an emit that
// takes the ticks due together at once. Package tickfeed replays into a feed
// server with it.
//
// Concurrency: Reader, Writer and the Source returned by Merge are not safe
// for concurrent use; give each to one goroutine. Replay calls emit on its
// own calling goroutine, one tick (ReplayBatches: one batch) at a time. Symbol strings are interned
// (immutable and shared), so they may be used as map keys freely.
package ticks
