// Package bench measures tickwire against baselines run in the same process
// tree on the same machine: the box is shared and noisy, so every figure is
// reported beside a baseline and as a ratio to it.
//
// The server under test runs as a child process (`tickwire bench serve`), so
// its memory and CPU are read from /proc apart from the load generator's.
// Benchmarks: PingPong (RTT through the server vs a raw WebSocket echo),
// Fanout (delivered msg/s vs a raw batched-write fan-out server), Idle
// (server memory per idle client vs a raw gorilla server) and Ramp (the
// seed's throughput test: clients added in steps until saturation).
package bench
