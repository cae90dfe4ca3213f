package main

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/tickfeed"
	"tickwire/ticks"
)

const recordUsage = `Usage: tickwire record [flags] --out FILE

Subscribes to a server's topics and writes every value received to FILE in the
tickwire tick format (docs/ticks.md), gzipped if FILE ends in .gz ("-" writes
to stdout). It stops on Ctrl-C, after --duration or after --count ticks, and
flushes the file before exiting (and every second while running).

--topics is a comma-separated list of path.Match patterns ("*", "EUR*",
"*.trades"). A pattern without wildcards is subscribed at once, even before
the topic exists, so its first value is recorded. Wildcard patterns are
matched against the server's GET /topics, polled every --poll: a new topic is
recorded from its value current at subscription on. Sequenced topics (orders,
fills, alerts) are not ticks and are left out.

Mapping: a topic SYMBOL becomes quotes (bid, ask, bid/ask sizes; a field the
topic has never had is 0), a topic SYMBOL.trades becomes trades (last price and
last size; the aggressor is not on the wire, so it is recorded as unknown).
Ticks are written as they arrive: in the server's order within a topic, in
the order the server sent them across topics.

Time: each tick gets the value's source time from the server (the Time of
its Price frame), not the time it was received. 'tickwire replay' publishes
recorded times by default, so recording a replay reproduces its input: same
ticks, same order per topic, when no value was conflated.

Lost values: the server conflates (a slow recorder gets the latest value, not
each one) and values are skipped across reconnects. Both show as jumps in a
topic's sequence numbers; the summary counts them as "lost", and a warning
names the topic when it first happens. Stale marks from the server are not
values and are not written.

The recorder reconnects when the link drops. Exit status 0 when it stops as
asked, 1 if it could not write the file or never reached the server, 2 for
bad usage.

Flags:
`

// recordConfig is what the flags of 'tickwire record' select.
type recordConfig struct {
	server   string      // ws:// or wss:// URL
	token    string      // credential: in the Hello and as Bearer on GET /topics
	tls      *tls.Config // for wss:// (--ca); nil: system roots
	patterns []string
	out      string
	duration time.Duration
	count    int
	poll     time.Duration

	// onTick, if set, is called after each price event with the counts so
	// far (tests wait on it).
	onTick func(recordStats)
}

// recordStats counts what a recording did. Every version of a recorded topic
// the server published is in exactly one of Written, Lost, Before (or
// StaleMarks and Skipped).
type recordStats struct {
	Written    int    // ticks written
	Lost       uint64 // versions skipped after the first one received: conflated, or missed across reconnects
	Before     uint64 // versions before the first one received: published before the subscription, or conflated into the first
	Skipped    int    // values the tick format cannot carry
	StaleMarks int    // the server's stale marks (not values, not written)
	Topics     int    // topics that delivered something
}

func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg recordConfig
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.StringVar(&cfg.server, "server", "ws://127.0.0.1:8080/ws", "server WebSocket `URL`")
	topics := fs.String("topics", "*", "comma-separated path.Match `PATTERNS` of the topics to record")
	fs.StringVar(&cfg.out, "out", "", "write ticks to `FILE` (gzipped if it ends in .gz; - for stdout)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this long (0: until interrupted)")
	fs.IntVar(&cfg.count, "count", 0, "stop after writing this many ticks (0: no limit)")
	fs.DurationVar(&cfg.poll, "poll", time.Second, "how often to look for new topics matching a wildcard pattern")
	var conn connFlags
	conn.register(fs)
	var lf logFlags
	lf.register(fs, "")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), recordUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	u, err := serverWSURL(cfg.server)
	if err != nil {
		return usageError{fmt.Errorf("--server: %w", err)}
	}
	cfg.server = u
	if cfg.token, cfg.tls, err = conn.resolve(); err != nil {
		return err
	}
	if cfg.out == "" {
		return usageError{errors.New("--out FILE is required")}
	}
	for _, p := range strings.Split(*topics, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return usageError{fmt.Errorf("--topics: pattern %q: %w", p, err)}
		}
		if isLiteralPattern(p) {
			if err := protocol.ValidTopic(p); err != nil {
				return usageError{fmt.Errorf("--topics: %q: %w", p, err)}
			}
		}
		cfg.patterns = append(cfg.patterns, p)
	}
	if len(cfg.patterns) == 0 {
		return usageError{errors.New("--topics: no pattern")}
	}
	if cfg.poll <= 0 || cfg.duration < 0 || cfg.count < 0 {
		return usageError{errors.New("--poll must be > 0, --duration and --count >= 0")}
	}
	log, closeLog, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	summary := stdout
	if cfg.out == "-" {
		summary = stderr // stdout is the data
	}
	return recordMain(ctx, cfg, stdout, summary, log)
}

// isLiteralPattern reports whether pattern p has no path.Match metacharacters.
func isLiteralPattern(p string) bool { return !strings.ContainsAny(p, `*?[\`) }

// recordOutput is the tick file being written: ticks.Writer over an optional
// gzip stream over the file.
type recordOutput struct {
	tw   *ticks.Writer
	gz   *gzip.Writer
	file *os.File // nil for stdout
}

func openRecordOutput(name string, stdout io.Writer) (*recordOutput, error) {
	o := &recordOutput{}
	var w io.Writer = stdout
	if name != "-" {
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		o.file, w = f, f
	}
	if strings.HasSuffix(name, ".gz") {
		o.gz = gzip.NewWriter(w)
		w = o.gz
	}
	o.tw = ticks.NewWriter(w)
	return o, nil
}

// flush pushes everything written so far to the file (a gzip sync block
// included, so a reader sees it even if the recorder is killed).
func (o *recordOutput) flush() error {
	if err := o.tw.Flush(); err != nil {
		return err
	}
	if o.gz != nil {
		return o.gz.Flush()
	}
	return nil
}

func (o *recordOutput) close() error {
	err := o.tw.Flush()
	if o.gz != nil {
		err = errors.Join(err, o.gz.Close())
	}
	if o.file != nil {
		err = errors.Join(err, o.file.Close())
	}
	return err
}

// recorder turns price events into ticks.
type recorder struct {
	out *ticks.Writer
	log *slog.Logger

	seq    map[string]uint64 // last sequence number seen per topic
	warned map[string]bool   // topics already warned about losses
	st     recordStats
}

func newRecorder(out *ticks.Writer, log *slog.Logger) *recorder {
	return &recorder{out: out, log: log, seq: make(map[string]uint64), warned: make(map[string]bool)}
}

// handle writes ev as a tick when it is a new value. It returns an error only
// when the file cannot be written.
func (r *recorder) handle(ev *client.PriceEvent) error {
	prev, seen := r.seq[ev.Topic]
	r.seq[ev.Topic] = ev.Seq
	if !seen {
		r.st.Topics++
		r.st.Before += ev.Seq - 1
	} else {
		switch {
		case ev.Seq == prev:
			return nil // the same version again (a resubscription's snapshot)
		case ev.Seq > prev+1:
			r.st.Lost += ev.Seq - prev - 1
			if !r.warned[ev.Topic] {
				r.warned[ev.Topic] = true
				r.log.Warn("values lost: conflated or missed across a reconnect (counted in the summary)",
					"topic", ev.Topic, "after_seq", prev, "got_seq", ev.Seq)
			}
		case ev.Seq < prev:
			r.log.Warn("sequence went back: the server restarted", "topic", ev.Topic, "after_seq", prev, "got_seq", ev.Seq)
		}
		if ev.Stale() {
			// A stale mark is a new version of the last value, not a value.
			r.st.StaleMarks++
			return nil
		}
	}
	t, ok := tickfeed.ValueTick(ev.Topic, &ev.Quote, ev.Time)
	if !ok {
		r.st.Skipped++
		return nil
	}
	if err := r.out.Write(t); err != nil {
		if isTickRefusal(err) {
			r.st.Skipped++
			r.log.Warn("value not representable as a tick", "topic", ev.Topic, "err", err)
			return nil
		}
		return err
	}
	r.st.Written++
	return nil
}

// isTickRefusal reports whether a Writer error refused one tick (the Writer
// stays usable) rather than failing to write.
func isTickRefusal(err error) bool {
	for _, e := range []error{ticks.ErrBadNumber, ticks.ErrBadTime, ticks.ErrBadSymbol, ticks.ErrBadKind, ticks.ErrBadAggressor} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func recordMain(ctx context.Context, cfg recordConfig, stdout, summary io.Writer, log *slog.Logger) error {
	out, err := openRecordOutput(cfg.out, stdout)
	if err != nil {
		return err
	}
	var literal []string
	wildcard := false
	for _, p := range cfg.patterns {
		if isLiteralPattern(p) {
			literal = append(literal, p)
		} else {
			wildcard = true
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, cfg.duration)
		defer cancel()
	}
	cl := client.New(client.Options{
		URLs: []string{cfg.server}, Name: "tickwire-record", Topics: literal, Token: cfg.token,
		EventBuffer: 4096, Logger: log, TLS: cfg.tls,
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = cl.Run(runCtx)
	}()
	subs := &recordTopicSet{m: make(map[string]bool)}
	for _, t := range literal {
		subs.add(t)
	}
	if wildcard {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recordPollTopics(runCtx, serverHTTPBase(cfg.server), cfg.token, cfg.tls, cfg.patterns, cfg.poll, subs, cl, log)
		}()
	}

	rec := newRecorder(out.tw, log)
	flushEvery := time.NewTicker(time.Second)
	defer flushEvery.Stop()
	var (
		werr      error
		flushed   int  // ticks written at the last flush
		connected bool // the client connected at least once
	)
	events := cl.Events()
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			switch ev := ev.(type) {
			case client.PriceEvent:
				if werr != nil || (cfg.count > 0 && rec.st.Written >= cfg.count) {
					continue // stopping: drain until the client closes
				}
				if werr = rec.handle(&ev); werr != nil {
					cancel()
				} else if cfg.count > 0 && rec.st.Written >= cfg.count {
					cancel()
				}
				if cfg.onTick != nil {
					cfg.onTick(rec.st)
				}
			case client.StateEvent:
				switch ev.State {
				case client.Connected:
					connected = true
					log.Info("connected", "url", ev.URL, "server", ev.Server)
				case client.Reconnecting:
					log.Warn("link lost; reconnecting", "url", ev.URL, "attempt", ev.Attempt, "err", ev.Err)
				}
			case client.ErrorEvent:
				log.Warn("server error", "code", ev.Err.Code, "reason", ev.Err.Reason, "topic", ev.Err.Topic)
			}
		case <-flushEvery.C:
			if werr == nil && rec.st.Written > flushed {
				flushed = rec.st.Written
				if werr = out.flush(); werr != nil {
					cancel()
				}
			}
		}
	}
	wg.Wait()
	cerr := out.close()
	st := rec.st
	fmt.Fprintf(summary, "tickwire record: %d ticks from %d topics to %s; lost %d (conflated or missed across reconnects); "+
		"%d earlier values not recorded (published before subscribing, or conflated into the first); %d values not representable as ticks\n",
		st.Written, st.Topics, cfg.out, st.Lost, st.Before, st.Skipped)
	if werr != nil {
		return fmt.Errorf("write %s: %w", cfg.out, werr)
	}
	if cerr != nil {
		return fmt.Errorf("close %s: %w", cfg.out, cerr)
	}
	if !connected {
		return fmt.Errorf("never connected to %s", cfg.server)
	}
	return nil
}

// recordTopicSet is the set of topics subscribed to.
type recordTopicSet struct {
	mu sync.Mutex
	m  map[string]bool
}

// add reports whether t was new.
func (s *recordTopicSet) add(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[t] {
		return false
	}
	s.m[t] = true
	return true
}

// serverHTTPBase returns the server's HTTP base URL from its WebSocket URL.
func serverHTTPBase(ws string) string {
	u := ws
	if rest, ok := strings.CutPrefix(u, "wss://"); ok {
		u = "https://" + rest
	} else if rest, ok := strings.CutPrefix(u, "ws://"); ok {
		u = "http://" + rest
	}
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, "/ws")
}

// recordTopicListing is the part of GET /topics the recorder reads.
type recordTopicListing struct {
	Name string
	Kind string
}

// recordPollTopics subscribes cl to every topic of the server matching a pattern,
// now and every interval, until ctx is done.
func recordPollTopics(ctx context.Context, base, token string, tlsConf *tls.Config, patterns []string, every time.Duration, subs *recordTopicSet, cl *client.Client, log *slog.Logger) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	hc := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	defer hc.CloseIdleConnections()
	failing := false
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		list, err := recordFetchTopics(ctx, hc, base+"/topics", token)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			log.Warn("cannot list topics; retrying", "url", base+"/topics", "err", err)
		case err == nil:
			failing = false
			var add []string
			for _, tp := range list {
				if tp.Kind == "sequenced" || !matchAnyPattern(patterns, tp.Name) {
					continue
				}
				if subs.add(tp.Name) {
					add = append(add, tp.Name)
				}
			}
			if len(add) > 0 {
				log.Info("subscribing", "topics", add)
				if err := cl.Subscribe(add...); err != nil {
					log.Warn("subscribe", "err", err) // resent on the next connection
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func recordFetchTopics(ctx context.Context, hc *http.Client, url, token string) ([]recordTopicListing, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var list []recordTopicListing
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return list, nil
}

func matchAnyPattern(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
