package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"tickwire/client"
	"tickwire/demodata"
	"tickwire/feedserver"
	"tickwire/protocol"
	"tickwire/ticks"
)

// replayMaxBatch bounds the Publish frames sent in one WebSocket message:
// about 60 to 110 bytes each, far under the server's 64 KiB inbound limit.
const replayMaxBatch = 256

// replayDrainTimeout bounds the wait, when an embedded server stops, for its
// subscribers' queues to empty so they receive the last values.
const replayDrainTimeout = 2 * time.Second

const replayUsage = `Usage: tickwire replay [flags] FILE...

Publishes recorded ticks at their recorded pace, scaled by --speed. FILE is an
OANDA, Binance or tickwire CSV file, gzipped or not, or "embedded" for the
shipped OANDA excerpt; several files are merged in time order (ticks with equal
times go out in the order the files are given). Flags may come before or after
the files.

With --server the ticks go to a running server, as a publisher over its
WebSocket (Publish frames, several per message when ticks are due together).
Without --server an embedded server is started on --listen and the ticks are
published in process; it stops when the replay ends, unless --hold.

Topics: a quote goes to SYMBOL (bid, ask, and sizes when known), a trade to
SYMBOL.trades (last, last size, and volume/high/low for the trade merge).

Time: by default every value carries its tick's recorded time (shifted forward
on each --loop pass), so 'tickwire record' of a replay writes the input back
exactly. The dashboard's age column does not use it (it counts from arrival).
With --preserve-time=false values are stamped with the time they are published
instead (with --server, by the server on arrival), as 'tickwire server
--replay' and 'tickwire demo' do.

--from and --to select recorded times From <= t < To. Each takes an RFC 3339
time (2014-05-08T00:00:14Z), a clock time HH:MM[:SS[.frac]] on the UTC day of
the first tick, or +DURATION: for --from after the first tick, for --to after
--from (or after the first tick without --from).

At the end (or on Ctrl-C) it prints a summary: ticks published, loops, max
drift (the worst lateness of a tick against its due time), bad rows skipped,
publishes the server refused (e.g. a paused topic). A malformed row stops the
replay with FILE:LINE and exit status 1, unless --skip-bad. Exit status 2 is
bad usage.

--bench-drift measures pacing instead of just reporting it: the lateness of
every publish against its due time (p50/p90/p99/max), then, on the same
schedule, of a bare timer loop and a bare time.Sleep loop, and the ratios.

Flags:
`

// replayConfig is what the flags of 'tickwire replay' select.
type replayConfig struct {
	files    []string
	speed    float64
	loop     bool
	from, to string
	server   string
	token    string      // credential presented to --server
	tls      *tls.Config // for a wss:// --server (--ca)
	listen   string
	hold     bool
	skipBad  bool
	preserve bool
	bench    bool
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg replayConfig
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.Float64Var(&cfg.speed, "speed", 1, "replay speed: 1 is real time, 10 ten times faster, 0 as fast as possible")
	fs.BoolVar(&cfg.loop, "loop", false, "start again at the end, forever, with times moving forward")
	fs.StringVar(&cfg.from, "from", "", "replay ticks recorded at or after `T` (see above for the forms of T)")
	fs.StringVar(&cfg.to, "to", "", "replay ticks recorded before `T`")
	fs.StringVar(&cfg.server, "server", "", "publish into the running server at this WebSocket `URL` (ws://HOST:PORT/ws, or wss:// with TLS) instead of an embedded one")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "address of the embedded server (`HOST:PORT`, port 0 picks a free one); unused with --server")
	fs.BoolVar(&cfg.hold, "hold", false, "keep the embedded server serving after the replay ends, until interrupted")
	fs.BoolVar(&cfg.skipBad, "skip-bad", false, "skip and count malformed rows instead of stopping at the first")
	fs.BoolVar(&cfg.preserve, "preserve-time", true, "publish each value with its tick's recorded time; false stamps the time of publishing")
	fs.BoolVar(&cfg.bench, "bench-drift", false, "measure pacing lateness against a bare timer loop on the same schedule, and print it")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), replayUsage)
		fs.PrintDefaults()
	}
	files, err := parseFlagsAndArgs(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	cfg.files = files
	if len(cfg.files) == 0 {
		return usageError{errors.New("no tick files given (FILE... or \"embedded\")")}
	}
	if cfg.speed < 0 || math.IsNaN(cfg.speed) || math.IsInf(cfg.speed, 0) {
		return usageError{fmt.Errorf("--speed %v: must be a finite number >= 0", cfg.speed)}
	}
	if cfg.bench && cfg.speed == 0 {
		return usageError{errors.New("--bench-drift needs a pace: --speed > 0")}
	}
	if cfg.server != "" {
		u, err := serverWSURL(cfg.server)
		if err != nil {
			return usageError{fmt.Errorf("--server: %w", err)}
		}
		cfg.server = u
	}
	if cfg.token, cfg.tls, err = conn.resolve(); err != nil {
		return err
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	return replayMain(ctx, cfg, stdout, log)
}

// parseFlagsAndArgs is parseFlags for commands that take positional
// arguments: flags may come before, between or after them ("--" ends flags).
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	prepareFlags(fs)
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), applyEnvAndFile(fs)
		}
		if len(rest) == 0 {
			return pos, applyEnvAndFile(fs)
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// serverWSURL checks a server WebSocket URL, adding the /ws path when it has none.
func serverWSURL(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "ws://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "wss://")
	}
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return "", fmt.Errorf("%q: want a ws:// or wss:// URL such as ws://127.0.0.1:8080/ws", s)
	}
	switch i := strings.IndexByte(rest, '/'); {
	case i < 0:
		s += "/ws"
	case i == len(rest)-1:
		s += "ws"
	}
	return s, nil
}

// replayMain runs a checked configuration.
func replayMain(ctx context.Context, cfg replayConfig, stdout io.Writer, log *slog.Logger) error {
	in := &replayInput{names: cfg.files, opt: ticks.Options{SkipBad: cfg.skipBad}}
	// Read the first tick now: a missing file, a bad header or a bad first
	// row fails here, and relative --from/--to need its day.
	first, err := in.firstTick()
	if err != nil {
		return err
	}
	opt := ticks.ReplayOptions{Speed: cfg.speed, Loop: cfg.loop}
	if opt.From, err = parseReplayTime(cfg.from, first); err != nil {
		return usageError{fmt.Errorf("--from: %w", err)}
	}
	toBase := first
	if !opt.From.IsZero() {
		toBase = opt.From
	}
	if opt.To, err = parseReplayTime(cfg.to, toBase); err != nil {
		return usageError{fmt.Errorf("--to: %w", err)}
	}
	if !opt.From.IsZero() && !opt.To.IsZero() && !opt.To.After(opt.From) {
		return usageError{fmt.Errorf("--to %s is not after --from %s", opt.To.Format(time.RFC3339Nano), opt.From.Format(time.RFC3339Nano))}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		pub    replayPublisher
		srv    *feedserver.Server
		served chan error
	)
	if cfg.server != "" {
		np, err := dialReplayPublisher(ctx, cfg.server, cfg.token, cfg.tls, log)
		if err != nil {
			return err
		}
		defer np.close()
		pub = np
		fmt.Fprintf(stdout, "tickwire replay: publishing to %s\n", cfg.server)
	} else {
		ln, err := net.Listen("tcp", cfg.listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		srv = feedserver.New(feedserver.Config{Name: "tickwire-replay", Logger: log})
		sctx, stop := context.WithCancel(context.Background())
		defer stop()
		served = make(chan error, 1)
		go func() { served <- srv.Serve(sctx, ln) }()
		defer func() {
			stop()
			<-served
		}()
		pub = &replayHubPublisher{hub: srv.Hub(), refused: newPublishRefusals()}
		fmt.Fprintf(stdout, "tickwire replay: serving ws://%s/ws\n", ln.Addr())
	}

	r := &replayRun{cfg: cfg, opt: opt, in: in, pub: pub, keepLateness: cfg.bench}
	st, rerr := r.run(ctx)
	if rerr == nil {
		rerr = pub.sync(ctx) // the server has handled (or refused) every publish
	}
	r.printSummary(stdout, st)
	if cfg.bench && st.Ticks > 0 && (rerr == nil || ctx.Err() != nil) {
		writeDriftReport(stdout, r.lateness, r.schedule, cfg.speed)
	}
	if rerr != nil {
		if ctx.Err() != nil {
			return nil // interrupted: the summary says how far it got
		}
		var perr *ticks.ParseError
		if errors.As(rerr, &perr) {
			return perr // "FILE:LINE: reason", without the wrapping
		}
		return rerr
	}
	if srv != nil {
		if cfg.hold {
			fmt.Fprintf(stdout, "tickwire replay: replay done; still serving (Ctrl-C stops)\n")
			select {
			case <-ctx.Done():
				return nil
			case err := <-served:
				served <- err // for the deferred wait
				return err
			}
		}
		replayDrainClients(srv, replayDrainTimeout)
	}
	return nil
}

// replayInput opens the files to replay, merged, and counts the bad rows its
// readers skipped.
type replayInput struct {
	names []string
	opt   ticks.Options

	mu       sync.Mutex
	readers  []*ticks.Reader // the current pass's
	skippedN int             // by the readers of earlier passes
}

func (in *replayInput) openOne(name string) (*ticks.Reader, error) {
	if name == "embedded" {
		return ticks.NewReader(demodata.Open(), demodata.Name, in.opt)
	}
	return ticks.Open(name, in.opt)
}

// open opens every file and returns them merged in time order.
func (in *replayInput) open() (ticks.Source, error) {
	srcs := make([]ticks.Source, 0, len(in.names))
	var rs []*ticks.Reader
	for _, n := range in.names {
		r, err := in.openOne(n)
		if err != nil {
			for _, r := range rs {
				_ = r.Close()
			}
			return nil, err
		}
		rs = append(rs, r)
		srcs = append(srcs, r)
	}
	in.mu.Lock()
	for _, r := range in.readers { // the previous pass's, closed by now
		in.skippedN += r.Skipped()
	}
	in.readers = rs
	in.mu.Unlock()
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	return ticks.Merge(srcs...), nil
}

// firstTick returns the recorded time of the first tick of the merged input.
// Its readers are not counted in skipped.
func (in *replayInput) firstTick() (time.Time, error) {
	srcs := make([]ticks.Source, 0, len(in.names))
	for _, n := range in.names {
		r, err := in.openOne(n)
		if err != nil {
			for _, s := range srcs {
				_ = s.(io.Closer).Close()
			}
			return time.Time{}, err
		}
		srcs = append(srcs, r)
	}
	m := ticks.Merge(srcs...)
	defer m.(io.Closer).Close()
	t, err := m.Next()
	if err == io.EOF {
		return time.Time{}, fmt.Errorf("%s: no ticks", strings.Join(in.names, ", "))
	}
	return t.Time, err
}

// skipped returns the bad rows skipped by every reader opened for the replay.
func (in *replayInput) skipped() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := in.skippedN
	for _, r := range in.readers {
		n += r.Skipped()
	}
	return n
}

// parseReplayTime parses a --from/--to value; base anchors the relative forms.
func parseReplayTime(s string, base time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutPrefix(s, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			return time.Time{}, fmt.Errorf("%q: want +DURATION such as +90s", s)
		}
		return base.Add(dur), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if c, err := time.Parse(layout, s); err == nil {
			y, m, d := base.UTC().Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2014-05-08T00:00:14Z), HH:MM[:SS[.frac]] or +DURATION", s)
}

// replayPublisher publishes the replay's values: into an in-process hub or to
// a server over the network.
type replayPublisher interface {
	// add publishes, or queues for the next flush, one value.
	add(topic string, q *protocol.Quote, t int64)
	// pending is the number of values add queued since the last flush.
	pending() int
	// flush sends what add queued.
	flush() error
	// stamp returns the time to give a value when recorded times are not kept.
	stamp() int64
	// sync waits until the server has handled every publish sent.
	sync(ctx context.Context) error
	publishRefusals() *publishRefusals
}

// replayRun is one replay: the emit side of ticks.Replay.
type replayRun struct {
	cfg replayConfig
	opt ticks.ReplayOptions
	in  *replayInput
	pub replayPublisher

	cur     *replayPeekSource // the current pass's source
	started bool
	start   time.Time // when the first tick was emitted
	base    time.Time // the first tick's time

	topics  map[string]bool // symbols checked as topic names
	batch   []time.Time     // due times of the values queued in pub
	maxLate time.Duration

	keepLateness bool
	lateness     []time.Duration // per publish, when keepLateness
	schedule     []time.Duration // due offsets from start, when keepLateness
}

func (r *replayRun) run(ctx context.Context) (ticks.ReplayStats, error) {
	r.topics = make(map[string]bool)
	open := func() (ticks.Source, error) {
		src, err := r.in.open()
		if err != nil {
			return nil, err
		}
		r.cur = &replayPeekSource{src: src}
		return r.cur, nil
	}
	st, err := ticks.Replay(ctx, open, r.opt, r.emit)
	if ferr := r.flush(); err == nil {
		err = ferr
	}
	return st, err
}

func (r *replayRun) emit(t ticks.Tick) error {
	now := time.Now()
	if !r.started {
		r.started, r.start, r.base = true, now, t.Time
	}
	topic, q, ok := feedserver.TickTopic(&t)
	if !ok {
		return fmt.Errorf("tick of unknown kind %v", t.Kind)
	}
	if !r.topics[topic] {
		if err := protocol.ValidTopic(topic); err != nil {
			return fmt.Errorf("symbol %q cannot be a topic: %w", t.Symbol, err)
		}
		r.topics[topic] = true
	}
	stamp := t.Time.UnixNano()
	if !r.cfg.preserve {
		stamp = r.pub.stamp()
	}
	due := r.due(t.Time)
	r.pub.add(topic, &q, stamp)
	r.batch = append(r.batch, due)
	if r.keepLateness {
		r.schedule = append(r.schedule, due.Sub(r.start))
	}
	// A publisher that queues (the network one) sends the ticks due together
	// as one message; the hub publishes at once (nothing pending).
	if n := r.pub.pending(); n > 0 && n < replayMaxBatch && r.nextDue(t.Time, now) {
		return nil // the next tick is due too: it goes in the same message
	}
	return r.flush()
}

// due returns when a tick with (shifted) time t is due, as ticks.Replay
// schedules it: from the first emit, scaled by speed.
func (r *replayRun) due(t time.Time) time.Time {
	if r.cfg.speed <= 0 {
		return r.start
	}
	return r.start.Add(replayScale(t.Sub(r.base), r.cfg.speed))
}

// nextDue reports whether the tick after the one just emitted (time t) is
// already due at now, so both can be sent together.
func (r *replayRun) nextDue(t, now time.Time) bool {
	next, ok := r.cur.peek()
	if !ok || (!r.opt.To.IsZero() && !next.Before(r.opt.To)) {
		return false // the pass ends here
	}
	if r.cfg.speed <= 0 {
		return true
	}
	shift := t.Sub(r.cur.last) // the loop shift of this pass
	return !r.due(next.Add(shift)).After(now)
}

// flush publishes the queued values and records their lateness.
func (r *replayRun) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	err := r.pub.flush()
	done := time.Now()
	for _, due := range r.batch {
		late := done.Sub(due)
		r.maxLate = max(r.maxLate, late)
		if r.keepLateness {
			r.lateness = append(r.lateness, late)
		}
	}
	r.batch = r.batch[:0]
	return err
}

func (r *replayRun) printSummary(w io.Writer, st ticks.ReplayStats) {
	loops := "loops"
	if st.Loops == 1 {
		loops = "loop"
	}
	drift := "n/a (as fast as possible)"
	if r.cfg.speed > 0 {
		drift = fmt.Sprintf("%s (%s to publish done)", fmtLateness(st.MaxDrift), fmtLateness(r.maxLate))
	}
	ref := r.pub.publishRefusals()
	fmt.Fprintf(w, "tickwire replay: %d ticks, %d %s, max drift %s, %d bad rows skipped, %d publishes refused\n",
		st.Ticks, st.Loops, loops, drift, r.in.skipped(), ref.total())
	for _, line := range ref.lines() {
		fmt.Fprintf(w, "  refused %s\n", line)
	}
}

// replayScale returns d/speed, saturating (as ticks.Replay does).
func replayScale(d time.Duration, speed float64) time.Duration {
	if speed == 1 {
		return d
	}
	f := float64(d) / speed
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(f)
}

// replayPeekSource reads one tick ahead of what it returns, so the replay knows
// whether the next tick is due together with the current one.
type replayPeekSource struct {
	src    ticks.Source
	primed bool
	next   ticks.Tick
	err    error     // from reading next (io.EOF at the end); sticky
	last   time.Time // recorded time of the tick last returned
}

func (p *replayPeekSource) Next() (ticks.Tick, error) {
	if !p.primed {
		p.primed = true
		p.next, p.err = p.src.Next()
	}
	if p.err != nil {
		return ticks.Tick{}, p.err
	}
	t := p.next
	p.next, p.err = p.src.Next()
	p.last = t.Time
	return t, nil
}

// peek returns the recorded time of the tick after the last one returned.
func (p *replayPeekSource) peek() (time.Time, bool) {
	if !p.primed || p.err != nil {
		return time.Time{}, false
	}
	return p.next.Time, true
}

func (p *replayPeekSource) Close() error {
	if c, ok := p.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// publishRefusals counts publishes a server refused, per topic, with the first reason.
type publishRefusals struct {
	mu    sync.Mutex
	n     int
	by    map[string]int
	first map[string]string
}

func newPublishRefusals() *publishRefusals {
	return &publishRefusals{by: make(map[string]int), first: make(map[string]string)}
}

func (r *publishRefusals) add(topic, reason string) (firstForTopic bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	r.by[topic]++
	if _, ok := r.first[topic]; !ok {
		r.first[topic] = reason
		return true
	}
	return false
}

func (r *publishRefusals) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *publishRefusals) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for topic, n := range r.by {
		out = append(out, fmt.Sprintf("%s: %d (%s)", topic, n, r.first[topic]))
	}
	slices.Sort(out)
	return out
}

// replayHubPublisher publishes in process into an embedded server's hub.
type replayHubPublisher struct {
	hub     *feedserver.Hub
	refused *publishRefusals
}

func (h *replayHubPublisher) add(topic string, q *protocol.Quote, t int64) {
	if err := h.hub.Publish(topic, q, t, 0); err != nil {
		h.refused.add(topic, err.Error())
	}
}
func (h *replayHubPublisher) pending() int                      { return 0 }
func (h *replayHubPublisher) flush() error                      { return nil }
func (h *replayHubPublisher) stamp() int64                      { return time.Now().UnixNano() }
func (h *replayHubPublisher) sync(context.Context) error        { return nil }
func (h *replayHubPublisher) publishRefusals() *publishRefusals { return h.refused }

// replayNetPublisher publishes to a server over its WebSocket as a publisher
// client. A reader goroutine answers the server's pings, counts refusals
// (Error frames below 2000) and ends the replay on a fatal error or a dead
// link.
type replayNetPublisher struct {
	conn    *client.Conn
	log     *slog.Logger
	hb      time.Duration
	prices  []protocol.Price
	frames  []protocol.Frame
	refused *publishRefusals

	pongs   chan int64
	dead    chan struct{}
	deadErr error // set before dead is closed
	nonce   int64
}

func dialReplayPublisher(ctx context.Context, url, token string, tlsConf *tls.Config, log *slog.Logger) (*replayNetPublisher, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := client.Dialer{TLSConfig: tlsConf}
	conn, err := d.Dial(dctx, url, protocol.Hello{Client: "tickwire-replay", Token: token})
	if err != nil {
		return nil, err
	}
	hb := time.Duration(conn.Welcome.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = time.Second
	}
	p := &replayNetPublisher{
		conn: conn, log: log, hb: hb, refused: newPublishRefusals(),
		prices: make([]protocol.Price, 0, replayMaxBatch), frames: make([]protocol.Frame, 0, replayMaxBatch),
		pongs: make(chan int64, 4), dead: make(chan struct{}),
	}
	go p.read()
	return p, nil
}

func (p *replayNetPublisher) read() {
	var err error
	for err == nil {
		_ = p.conn.SetReadDeadline(time.Now().Add(3 * p.hb))
		err = p.conn.Read(func(f protocol.Frame) error {
			switch f := f.(type) {
			case *protocol.Ping:
				return p.conn.Send(&protocol.Pong{Nonce: f.Nonce})
			case *protocol.Pong:
				select {
				case p.pongs <- f.Nonce:
				default:
				}
			case *protocol.Error:
				if f.Code.Fatal() {
					return f
				}
				if p.refused.add(f.Topic, fmt.Sprintf("%d %s", f.Code, f.Reason)) {
					p.log.Warn("publish refused", "topic", f.Topic, "code", f.Code, "reason", f.Reason)
				}
			}
			return nil
		})
	}
	p.deadErr = fmt.Errorf("connection to server lost: %w", err)
	close(p.dead)
}

func (p *replayNetPublisher) add(topic string, q *protocol.Quote, t int64) {
	p.prices = append(p.prices, protocol.Price{Type: protocol.TypePublish, Topic: topic, Time: t, Quote: *q})
}

func (p *replayNetPublisher) pending() int { return len(p.prices) }

func (p *replayNetPublisher) flush() error {
	select {
	case <-p.dead:
		return p.deadErr
	default:
	}
	if len(p.prices) == 0 {
		return nil
	}
	p.frames = p.frames[:0]
	for i := range p.prices {
		p.frames = append(p.frames, &p.prices[i])
	}
	err := p.conn.Send(p.frames...)
	p.prices = p.prices[:0]
	return err
}

// stamp returns 0: the server stamps a value without a time on arrival.
func (p *replayNetPublisher) stamp() int64 { return 0 }

// sync sends a Ping and waits for its Pong: the server handles a
// connection's frames in order, so by then every publish was applied or
// refused (and the refusal received).
func (p *replayNetPublisher) sync(ctx context.Context) error {
	p.nonce++
	nonce := p.nonce
	if err := p.conn.Send(&protocol.Ping{Nonce: nonce}); err != nil {
		return err
	}
	timeout := time.NewTimer(max(5*time.Second, 3*p.hb))
	defer timeout.Stop()
	for {
		select {
		case n := <-p.pongs:
			if n == nonce {
				return nil
			}
		case <-p.dead:
			return p.deadErr
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return errors.New("server did not confirm the last publishes (no Pong in time)")
		}
	}
}

func (p *replayNetPublisher) publishRefusals() *publishRefusals { return p.refused }

func (p *replayNetPublisher) close() { _ = p.conn.Close() }

// replayDrainClients waits, at most timeout, until no client of srv has anything
// queued, so stopping the server does not cut off the last values.
func replayDrainClients(srv *feedserver.Server, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		busy := false
		for _, c := range srv.Clients() {
			if c.Pending > 0 || c.ControlBytes > 0 {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeDriftReport prints the replay's publish lateness and, measured now on
// the same schedule, that of a bare timer loop and a bare time.Sleep loop.
func writeDriftReport(w io.Writer, lateness, schedule []time.Duration, speed float64) {
	span := time.Duration(0)
	if len(schedule) > 0 {
		span = schedule[len(schedule)-1]
	}
	fmt.Fprintf(w, "pacing drift: %d publishes at speed %g over %s\n", len(lateness), speed, span.Round(time.Millisecond))
	fmt.Fprintf(w, "  measuring the baselines on the same schedule (%s each)...\n", span.Round(time.Millisecond))
	timer := baselineLateness(schedule, true)
	sleep := baselineLateness(schedule, false)
	rep, tim, slp := driftPercentiles(lateness), driftPercentiles(timer), driftPercentiles(sleep)
	fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", "lateness", "p50", "p90", "p99", "max")
	for _, row := range []struct {
		name string
		p    [4]time.Duration
	}{{"replay publish", rep}, {"bare timer", tim}, {"bare time.Sleep", slp}} {
		fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", row.name, fmtLateness(row.p[0]), fmtLateness(row.p[1]), fmtLateness(row.p[2]), fmtLateness(row.p[3]))
	}
	fmt.Fprintf(w, "  %-16s %10s %10s %10s %10s\n", "replay / timer", latenessRatio(rep[0], tim[0]), latenessRatio(rep[1], tim[1]), latenessRatio(rep[2], tim[2]), latenessRatio(rep[3], tim[3]))
}

// baselineLateness waits for each due offset of schedule in turn, with a
// reused timer (as ticks.Replay does) or with time.Sleep, and returns how late
// each wake-up was.
func baselineLateness(schedule []time.Duration, useTimer bool) []time.Duration {
	out := make([]time.Duration, 0, len(schedule))
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	start := time.Now()
	for _, off := range schedule {
		due := start.Add(off)
		if d := time.Until(due); d > 0 {
			if useTimer {
				t.Reset(d)
				<-t.C
			} else {
				time.Sleep(d)
			}
		}
		out = append(out, time.Since(due))
	}
	return out
}

// driftPercentiles returns p50, p90, p99 and max of ds (nearest rank).
func driftPercentiles(ds []time.Duration) [4]time.Duration {
	if len(ds) == 0 {
		return [4]time.Duration{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p int) time.Duration { return s[min(len(s)-1, (len(s)*p+99)/100-1)] }
	return [4]time.Duration{at(50), at(90), at(99), s[len(s)-1]}
}

func fmtLateness(d time.Duration) string {
	switch {
	case d < 10*time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	case d < 10*time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

func latenessRatio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}
