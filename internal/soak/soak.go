// Package soak checks precise recovery end to end: a publisher emits order
// events into a real feed server (journal-backed, over real loopback
// sockets) while every client's TCP connection is cut at random by a
// cutproxy, and each client's received stream must equal the published one
// exactly: nothing lost, nothing duplicated, in order. The CI test and
// `tickwire soak` both run it.
package soak

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tickwire/client"
	"tickwire/feedserver"
	"tickwire/internal/cutproxy"
	"tickwire/recovery"
)

// Options configures a soak run. Zero fields take the defaults in comments.
type Options struct {
	Events      int           // events to publish in all. Default 20,000.
	Cuts        int           // connection cuts, at least. Default 200.
	Clients     int           // clients over WebSocket. Default 3.
	HTTPClients int           // clients over HTTP streaming. Default 1.
	Topics      int           // sequenced topics, published to in parallel. Default 2.
	Batch       int           // events per PublishEvents call (one journal append). Default 50.
	Duration    time.Duration // how long publishing should take (it is paced). Default 8s.
	// JournalDir holds the bbolt journal (journal.db). Default: an in-memory journal.
	JournalDir string
	Sync       recovery.SyncPolicy // the bbolt journal's fsync policy. Default SyncAlways.
	Heartbeat  time.Duration       // the server's. Default 250ms.
	Timeout    time.Duration       // for the whole run. Default 2m.
	Seed       uint64              // of the cut schedule. Default: random.
	Logger     *slog.Logger        // server and client logs. Default: discarded.
	Progress   io.Writer           // a line every few seconds, if set

	// Authenticator, if set, turns the server's authentication on; every
	// client presents Token (which must entitle it to the soak's topics,
	// orders.soak0...): resumes then go through the subject check too.
	Authenticator feedserver.Authenticator
	Token         string
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Events, 20000)
	def(&o.Cuts, 200)
	if o.Clients < 0 {
		o.Clients = 0
	} else if o.Clients == 0 {
		o.Clients = 3
	}
	if o.HTTPClients < 0 {
		o.HTTPClients = 0
	} else if o.HTTPClients == 0 {
		o.HTTPClients = 1
	}
	def(&o.Topics, 2)
	def(&o.Batch, 50)
	if o.Duration <= 0 {
		o.Duration = 8 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// ClientResult is what one client received.
type ClientResult struct {
	Name       string
	Transport  string
	Received   int // events delivered to the application
	Lost       int // published, never delivered
	Duplicates int // delivered more than once
	Misordered int // delivered out of sequence
	Cuts       int // its connections cut
	client.Stats
}

// Result of a soak run.
type Result struct {
	Options       Options
	Published     int
	Cuts          int // cut events that broke at least one connection
	CutsReset     int
	CutsBlackhole int
	PublishTime   time.Duration
	Elapsed       time.Duration // start to last client caught up
	Clients       []ClientResult
	Problems      []string // empty when every stream matched
}

// OK reports whether every client's stream equals the published one.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// String summarises the result in a few lines.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "published %d events on %d topics in %v; %d cuts (%d reset, %d blackhole); all caught up after %v\n",
		r.Published, r.Options.Topics, r.PublishTime.Round(time.Millisecond), r.Cuts, r.CutsReset, r.CutsBlackhole, r.Elapsed.Round(time.Millisecond))
	for _, c := range r.Clients {
		fmt.Fprintf(&b, "  %-6s %-9s received %d, lost %d, duplicated %d, out of order %d; cut %d, connects %d (resumed %d), dropped duplicates %d, gaps %d, history lost %d\n",
			c.Name, c.Transport, c.Received, c.Lost, c.Duplicates, c.Misordered, c.Cuts, c.Connects, c.Resumes, c.Stats.Duplicates, c.Gaps, c.HistoryLost)
	}
	if r.OK() {
		b.WriteString("OK: every client received every event exactly once, in order\n")
	} else {
		for _, p := range r.Problems {
			b.WriteString("FAIL: " + p + "\n")
		}
	}
	return b.String()
}

type rec struct {
	seq  uint64
	data uint64
}

// soakClient is one client under test with its own cutting proxy.
type soakClient struct {
	name  string
	proxy *cutproxy.Proxy
	cl    *client.Client
	cuts  int

	mu   sync.Mutex
	got  map[string][]rec
	errs []string
}

// Run runs a soak test.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	res := &Result{Options: opts}

	var j recovery.Journal
	if opts.JournalDir != "" {
		bj, err := recovery.OpenBolt(filepath.Join(opts.JournalDir, "journal.db"), recovery.BoltOptions{Sync: opts.Sync})
		if err != nil {
			return nil, err
		}
		defer bj.Close()
		j = bj
	} else {
		j = recovery.NewMem()
		defer j.Close()
	}
	srv := feedserver.New(feedserver.Config{
		Name: "soak", Heartbeat: opts.Heartbeat, Journal: j, Logger: opts.Logger,
		WriteTimeout: 2 * time.Second, HandshakeTimeout: 2 * time.Second, Authenticator: opts.Authenticator,
		MaxPreHelloPerAddr: -1, // every client reconnects from 127.0.0.1, all at once after a cut
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stopServer := context.WithCancel(context.Background())
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(sctx, ln) }()
	defer func() {
		stopServer()
		<-serveDone
	}()

	topics := make([]string, opts.Topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("orders.soak%d", i)
	}
	var clients []*soakClient
	defer func() {
		for _, c := range clients {
			_ = c.proxy.Close()
		}
	}()
	cctx, stopClients := context.WithCancel(ctx)
	var cwg sync.WaitGroup
	defer func() {
		stopClients()
		cwg.Wait()
	}()
	for i := range opts.Clients + opts.HTTPClients {
		p, err := cutproxy.Start(ln.Addr().String())
		if err != nil {
			return nil, err
		}
		p.HoldBlackholed = 3 * time.Second
		sc := &soakClient{name: fmt.Sprintf("ws%d", i), proxy: p, got: make(map[string][]rec)}
		transport := client.TransportWebSocket
		if i >= opts.Clients {
			sc.name, transport = fmt.Sprintf("http%d", i-opts.Clients), client.TransportHTTP
		}
		sc.cl = client.New(client.Options{
			URLs: []string{"ws://" + p.Addr() + "/ws"}, Name: "soak-" + sc.name, Topics: topics, Transport: transport,
			MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, EventBuffer: 4096,
			TelemetryEvery: -1, Logger: opts.Logger, Token: opts.Token,
		})
		clients = append(clients, sc)
		cwg.Add(2)
		go func() {
			defer cwg.Done()
			_ = sc.cl.Run(cctx)
		}()
		go func() {
			defer cwg.Done()
			sc.consume()
		}()
	}

	// Wait for every client to be subscribed before publishing: a client
	// that starts later would just replay from the journal, which is fine,
	// but the cuts should hit live streams.
	if err := waitFor(ctx, func() bool {
		n := 0
		for _, c := range srv.Conns() {
			if c.Subscriptions == len(topics) {
				n++
			}
		}
		return n == len(clients)
	}); err != nil {
		return nil, fmt.Errorf("clients did not subscribe: %w", err)
	}

	start := time.Now()
	published := make([][]rec, len(topics))
	var pubErr atomic.Pointer[error]
	var pwg sync.WaitGroup
	var pubDone atomic.Bool
	perTopic := opts.Events / len(topics)
	res.Published = perTopic * len(topics)
	for ti, topic := range topics {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			published[ti] = publish(ctx, srv.Hub(), topic, ti, perTopic, opts.Batch, start, opts.Duration, &pubErr)
		}()
	}
	go func() {
		pwg.Wait()
		pubDone.Store(true)
	}()

	// The cutter: random clients, random modes, at random intervals, until
	// publishing is done and enough cuts were made.
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	interval := opts.Duration / time.Duration(opts.Cuts)
	lastReport := time.Now()
	for !pubDone.Load() || res.Cuts < opts.Cuts {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("soak: %w after %d cuts (published: %v)", ctx.Err(), res.Cuts, pubDone.Load())
		}
		time.Sleep(time.Duration(rng.Int64N(int64(2*interval) + 1)))
		sc := clients[rng.IntN(len(clients))]
		mode := cutproxy.Mode(rng.IntN(2))
		if sc.proxy.Cut(mode) > 0 {
			res.Cuts++
			sc.cuts++
			if mode == cutproxy.Blackhole {
				res.CutsBlackhole++
			} else {
				res.CutsReset++
			}
		}
		if opts.Progress != nil && time.Since(lastReport) > 2*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(opts.Progress, "soak: %v: %d cuts, %s\n", time.Since(start).Round(time.Second), res.Cuts, progress(clients, topics))
		}
	}
	pwg.Wait()
	res.PublishTime = time.Since(start)
	if p := pubErr.Load(); p != nil {
		return nil, fmt.Errorf("publish: %w", *p)
	}

	// Every client catches up with everything.
	err = waitFor(ctx, func() bool {
		for _, sc := range clients {
			sc.mu.Lock()
			for ti, t := range topics {
				if len(sc.got[t]) < len(published[ti]) {
					sc.mu.Unlock()
					return false
				}
			}
			sc.mu.Unlock()
		}
		return true
	})
	res.Elapsed = time.Since(start)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("clients did not catch up within %v: %s", opts.Timeout, progress(clients, topics)))
	}
	stopClients()
	cwg.Wait()
	for _, sc := range clients {
		cr := ClientResult{Name: sc.name, Cuts: sc.cuts, Stats: sc.cl.Stats(), Transport: client.TransportWebSocket}
		if strings.HasPrefix(sc.name, "http") {
			cr.Transport = client.TransportHTTP
		}
		sc.mu.Lock()
		res.Problems = append(res.Problems, sc.errs...)
		for ti, t := range topics {
			compare(&cr, t, published[ti], sc.got[t], &res.Problems)
		}
		sc.mu.Unlock()
		res.Clients = append(res.Clients, cr)
	}
	return res, nil
}

// publish emits n events to topic in batches, paced to take about d, and
// returns them with the sequence numbers the journal gave them.
func publish(ctx context.Context, h *feedserver.Hub, topic string, ti, n, batch int, start time.Time, d time.Duration, errp *atomic.Pointer[error]) []rec {
	out := make([]rec, 0, n)
	evs := make([]feedserver.EventIn, 0, batch)
	for i := 0; i < n && ctx.Err() == nil; {
		evs = evs[:0]
		first := i
		for ; i < n && len(evs) < batch; i++ {
			data := make([]byte, 16)
			binary.BigEndian.PutUint64(data, uint64(ti)<<48|uint64(i))
			copy(data[8:], "order ev")
			evs = append(evs, feedserver.EventIn{Data: data, Time: time.Now().UnixNano()})
		}
		_, last, err := h.PublishEvents(topic, evs...)
		if err != nil {
			errp.Store(&err)
			return out
		}
		for k := range evs {
			out = append(out, rec{seq: last - uint64(len(evs)-1-k), data: uint64(ti)<<48 | uint64(first+k)})
		}
		// Pace: event i is due at start + d*i/n.
		if due := start.Add(time.Duration(int64(d) * int64(i) / int64(n))); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
	}
	return out
}

func (sc *soakClient) consume() {
	for ev := range sc.cl.Events() {
		e, ok := ev.(client.SequencedEvent)
		if !ok {
			continue
		}
		sc.mu.Lock()
		switch {
		case e.HistoryLost:
			sc.errs = append(sc.errs, fmt.Sprintf("%s: history lost on %s at %d", sc.name, e.Topic, e.Seq))
		case len(e.Data) != 16:
			sc.errs = append(sc.errs, fmt.Sprintf("%s: event %d of %s has %d bytes", sc.name, e.Seq, e.Topic, len(e.Data)))
		default:
			sc.got[e.Topic] = append(sc.got[e.Topic], rec{seq: e.Seq, data: binary.BigEndian.Uint64(e.Data)})
		}
		sc.mu.Unlock()
	}
}

// compare checks got against want and records the differences.
func compare(cr *ClientResult, topic string, want, got []rec, problems *[]string) {
	cr.Received += len(got)
	seen := make(map[uint64]int, len(got))
	for i, r := range got {
		seen[r.data]++
		if i > 0 && r.seq != got[i-1].seq+1 {
			cr.Misordered++
		}
	}
	for _, n := range seen {
		if n > 1 {
			cr.Duplicates += n - 1
		}
	}
	for _, r := range want {
		if seen[r.data] == 0 {
			cr.Lost++
		}
	}
	if len(got) != len(want) {
		*problems = append(*problems, fmt.Sprintf("%s %s: received %d events, published %d", cr.Name, topic, len(got), len(want)))
		return
	}
	for i := range want {
		if got[i] != want[i] {
			*problems = append(*problems, fmt.Sprintf("%s %s: event %d is seq %d data %x, published seq %d data %x", cr.Name, topic, i, got[i].seq, got[i].data, want[i].seq, want[i].data))
			return
		}
	}
	if cr.Lost+cr.Duplicates+cr.Misordered > 0 {
		*problems = append(*problems, fmt.Sprintf("%s %s: %d lost, %d duplicated, %d out of order", cr.Name, topic, cr.Lost, cr.Duplicates, cr.Misordered))
	}
}

func progress(clients []*soakClient, topics []string) string {
	var parts []string
	for _, sc := range clients {
		sc.mu.Lock()
		n := 0
		for _, t := range topics {
			n += len(sc.got[t])
		}
		errs := len(sc.errs)
		sc.mu.Unlock()
		st := sc.cl.Stats()
		parts = append(parts, fmt.Sprintf("%s %d (conn %d/res %d/dup %d/gap %d/lost %d/err %d)", sc.name, n, st.Connects, st.Resumes, st.Duplicates, st.Gaps, st.HistoryLost, errs))
	}
	return "received: " + strings.Join(parts, ", ")
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

var _ = errors.New
