//go:build !linux

package behaviour

import "time"

// threadID returns 0: without Linux's per-thread CPU clocks the watchdog
// falls back to wall-clock time (threadCPU reports no clock).
func threadID() int32 { return 0 }

// threadCPU reports that no thread CPU clock is available.
func threadCPU(int32) (time.Duration, bool) { return 0, false }
