package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"tickwire/feedserver"
	"tickwire/tlsconf"
)

// Modes of the child server.
const (
	ModeFeed   = "feed"   // the tickwire feed server
	ModeEcho   = "echo"   // raw WebSocket echo: the RTT baseline
	ModeRawFan = "rawfan" // raw batched-write fan-out: the throughput baseline
	ModeRawMsg = "rawmsg" // raw one-write-per-message server: the message ramp's baseline (rawmsg.go)
)

// Child is a server under test running as a child process.
type Child struct {
	Mode string
	Addr string // host:port
	Pid  int
	// TLS, when set, is the client configuration trusting the child's
	// certificate: it serves wss:// (a feed started with --tls-self-signed).
	TLS *tls.Config
	cmd *exec.Cmd
}

// StartChild runs `exe bench serve --mode mode` and waits for its address.
// exe is the tickwire binary (os.Executable() from the command).
func StartChild(ctx context.Context, exe, mode string, args ...string) (*Child, error) {
	cmd := exec.CommandContext(ctx, exe, append([]string{"bench", "serve", "--mode", mode}, args...)...)
	cmd.Stderr = os.Stderr
	// The child's settings are its arguments: TICKWIRE_* variables (flag
	// overrides, a --config file) meant for the parent must not reach it.
	cmd.Env = []string{} // not nil: nil would mean the parent's environment
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKWIRE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// The child dies with us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", mode, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s server did not start: %w", mode, err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s server said %q", mode, line)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &Child{Mode: mode, Addr: addr, Pid: cmd.Process.Pid, cmd: cmd}, nil
}

// URL returns the child's WebSocket URL.
func (c *Child) URL() string {
	if c.TLS != nil {
		return "wss://" + c.Addr + "/ws"
	}
	return "ws://" + c.Addr + "/ws"
}

// GC asks the child to collect garbage and return memory to the OS, so RSS
// reflects live memory.
func (c *Child) GC() error {
	resp, err := http.Post("http://"+c.Addr+"/debug/gc", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// MemStats is the child's Go memory, from runtime.ReadMemStats.
type MemStats struct {
	HeapInuse, StackInuse uint64
	Goroutines            int
}

// Mem reads the child's Go memory statistics.
func (c *Child) Mem() (MemStats, error) {
	var m MemStats
	resp, err := http.Get("http://" + c.Addr + "/debug/mem")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// Stop ends the child.
func (c *Child) Stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// ServeChild is the child's side: it serves mode on listen, prints
// "listening ADDR" on stdout, and runs until ctx is done. With tlsDir (the
// feed only) it serves TLS with the development self-signed certificate
// kept there, as `tickwire server --tls-self-signed` does. With beh (the
// feed only) its merge topics run that behaviour (merge.go).
func ServeChild(ctx context.Context, mode, listen, tlsDir string, flush, heartbeat, coalesce time.Duration, beh Behaviour, stdout io.Writer) error {
	RaiseFDLimit()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if tlsDir != "" {
		if mode != ModeFeed {
			return fmt.Errorf("TLS: the %s server is a plain baseline", mode)
		}
		ss, err := tlsconf.EnsureSelfSigned(tlsDir, time.Now())
		if err != nil {
			return err
		}
		conf, err := tlsconf.LoadServer(ss.CertFile, ss.KeyFile)
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, conf)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
	})
	mux.HandleFunc("GET /debug/mem", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		_ = json.NewEncoder(w).Encode(MemStats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine()})
	})
	switch mode {
	case ModeFeed:
		rules := []feedserver.TopicRule{{Pattern: "bench.seq.*", Kind: feedserver.Sequenced, Window: benchKeep}}
		log := slog.New(slog.DiscardHandler)
		if beh.On() {
			merge, bs, err := mergeRules(ctx, beh)
			if err != nil {
				return err
			}
			defer func() { _ = bs.Close(context.Background()) }()
			rules = append(rules, merge...) // then the defaults
			// A behaviour disabled during a run says why.
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		} else {
			rules = append(rules, feedserver.DefaultTopicRules()...)
		}
		// The bench topics keep benchKeep events, in the ring and the
		// journal alike: a run measures the server in its steady state,
		// recycling memory, not growing toward the default retention.
		// Thousands of clients connect at once from 127.0.0.1, and the idle
		// run holds connections that never say Hello: no pre-Hello budget.
		srv := feedserver.New(feedserver.Config{
			Name: "bench", Topics: rules, MaxConnections: 1 << 20, MaxPreHello: -1, MaxPreHelloPerAddr: -1,
			FlushInterval: flush, CoalesceWindow: coalesce, Heartbeat: heartbeat, MemoryRetention: benchKeep,
			Logger: log,
		})
		mux.Handle("/", srv.Handler())
		ln = srv.Listener(ln) // as Serve reads its clients' input
		go func() { srv.Hub().Run(ctx) }()
	case ModeEcho:
		mux.HandleFunc("GET /ws", serveEcho)
	case ModeRawFan:
		f := newRawFan()
		mux.HandleFunc("GET /ws", f.serveClient)
		mux.HandleFunc("GET /pub", f.servePublisher)
	case ModeRawMsg:
		m := newRawMsg()
		mux.HandleFunc("GET /ws", m.serve)
		mux.HandleFunc("GET /stats", m.serveStats)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	hs := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// benchKeep is how many events a bench topic keeps (ring and journal).
const benchKeep = 4096

// fdReserve is what a bench process keeps of its open-file limit for
// other than client sockets: the listener, the publisher, pipes, the
// runtime's poller, /proc and /stats reads.
const fdReserve = 64

// CheckClientFDs reports whether clients connections fit the open-file limit
// (after RaiseFDLimit): each is one descriptor here and one in the server
// child, which has the same limit.
func CheckClientFDs(clients int) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if room := int(r.Cur) - fdReserve; clients > room {
		return fmt.Errorf("%d clients need %d open files in this process and in the server's; the limit is %d (hard limit %d, raised only with CAP_SYS_RESOURCE): at most %d clients here", clients, clients+fdReserve, r.Cur, r.Max, room)
	}
	return nil
}

// RaiseFDLimit lifts the open-file soft limit to the hard limit (and the
// hard limit as far as the kernel lets root), for tens of thousands of sockets.
func RaiseFDLimit() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return
	}
	want := r
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		var n uint64
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &n); err == nil && n > want.Max {
			want.Max = min(n, 1<<20)
		}
	}
	want.Cur = want.Max
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}
