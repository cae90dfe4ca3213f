package behaviour

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadID returns the calling OS thread's id. The caller has locked its
// goroutine to the thread (runtime.LockOSThread), so the id stays its own.
func threadID() int32 { return int32(unix.Gettid()) }

// threadCPU returns the CPU time thread tid of this process has used, read
// from its thread CPU clock: MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), the
// clock id pthread_getcpuclockid gives (linux/posix-timers.h). ok is false
// if the clock cannot be read (the thread is gone).
func threadCPU(tid int32) (used time.Duration, ok bool) {
	const cpuclockSched, cpuclockPerthread = 2, 4
	var ts unix.Timespec
	if err := unix.ClockGettime((^tid)<<3|cpuclockPerthread|cpuclockSched, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
