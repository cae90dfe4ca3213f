package bench

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Hist is a lock-free latency histogram: 1 µs resolution up to 1 ms, then
// buckets 1% wide, up to about 100 s. Record is safe from many goroutines.
type Hist struct {
	b [histBuckets]atomic.Uint64
}

const histBuckets = 1000 + 1200

func bucketOf(us int64) int {
	if us < 1000 {
		return int(max(us, 0))
	}
	i := 1000 + int(math.Log(float64(us)/1000)/math.Log(1.01))
	return min(i, histBuckets-1)
}

func bucketValue(i int) time.Duration {
	if i < 1000 {
		return time.Duration(i) * time.Microsecond
	}
	return time.Duration(1000*math.Pow(1.01, float64(i-1000))) * time.Microsecond
}

// Record adds one sample.
func (h *Hist) Record(d time.Duration) { h.b[bucketOf(d.Microseconds())].Add(1) }

// Count returns the number of samples.
func (h *Hist) Count() uint64 {
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
	}
	return n
}

// Quantile returns the q-quantile (0..1), 0 with no samples.
func (h *Hist) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= max(rank, 1) {
			return bucketValue(i)
		}
	}
	return bucketValue(histBuckets - 1)
}

// Reset clears the histogram.
func (h *Hist) Reset() {
	for i := range h.b {
		h.b[i].Store(0)
	}
}

// Jain returns Jain's fairness index of xs: 1 when all equal, 1/n when one
// gets everything.
func Jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// Micros renders a duration as microseconds for JSON.
type Micros float64

// US converts d to Micros.
func US(d time.Duration) Micros { return Micros(float64(d) / float64(time.Microsecond)) }

// Proc is a sample of a process's resource use.
type Proc struct {
	RSSKiB int64
	CPU    time.Duration // user + system
	// Writes counts the write system calls (write, writev: /proc/PID/io
	// syscw); 0 where that file cannot be read.
	Writes int64
	At     time.Time
}

// ReadProc samples process pid from /proc.
func ReadProc(pid int) (Proc, error) {
	p := Proc{At: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("read proc: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				p.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, fmt.Errorf("read proc: %w", err)
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) > 13 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		p.CPU = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		p.Writes = syscw(string(io))
	}
	return p, nil
}

// syscw returns the syscw count of a /proc/PID/io file, 0 if it has none.
func syscw(io string) int64 {
	for _, line := range strings.Split(io, "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// CPUPercent is the CPU used between two samples, in percent of one core.
func CPUPercent(a, b Proc) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.CPU-a.CPU) / float64(wall)
}

// TaskCPU returns the CPU time process pid's threads have used, to the
// nanosecond (/proc/PID/task/*/schedstat): fine enough to divide among
// round trips of a few microseconds, where /proc/PID/stat counts 10 ms ticks.
// Threads that exited are not counted; the Go runtime keeps its threads.
func TaskCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read tasks: %w", err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", dir, err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}
