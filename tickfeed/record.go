package tickfeed

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"tickwire/client"
	"tickwire/protocol"
	"tickwire/ticks"
)

// RecordOptions configures Record.
type RecordOptions struct {
	URL   string      // the server's WebSocket URL (ws:// or wss://)
	Token string      // credential: in the Hello and as Bearer on GET /topics
	TLS   *tls.Config // for wss:// and https:// (nil: the system roots)
	// Patterns are path.Match patterns of the topics to record. A literal
	// one is subscribed at once, even before the topic exists; wildcard
	// ones are matched against the server's GET /topics every Poll.
	Patterns []string
	Poll     time.Duration // default 1s
	Count    int           // stop after writing this many ticks (0: no limit)
	Duration time.Duration // RecordFile stops after this long (0: when ctx ends)
	Logger   *slog.Logger  // default slog.Default()
	// OnTick, if set, is called after each price event with the counts so
	// far.
	OnTick func(RecordStats)
}

// RecordStats counts what a recording did. Every version of a recorded topic
// the server published is in exactly one of Written, Lost, Before (or
// StaleMarks and Skipped).
type RecordStats struct {
	Written    int    // ticks written
	Lost       uint64 // versions skipped after the first one received: conflated, or missed across reconnects
	Before     uint64 // versions before the first one received: published before the subscription, or conflated into the first
	Skipped    int    // values the tick format cannot carry
	StaleMarks int    // the server's stale marks (not values, not written)
	Topics     int    // topics that delivered something
	Connected  bool   // the client reached the server at least once
}

// recordEventBuffer is the client's event buffer: a burst the recorder has
// not written yet waits there (beyond it the server conflates).
const recordEventBuffer = 4096

// IsLiteralPattern reports whether pattern p has no path.Match metacharacters.
func IsLiteralPattern(p string) bool { return !strings.ContainsAny(p, `*?[\`) }

// ParsePatterns splits a comma-separated list of topic patterns (empty
// items ignored) and checks each: a valid path.Match pattern, and a valid
// topic name if it has no wildcards (it is subscribed as given).
func ParsePatterns(list string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		if IsLiteralPattern(p) {
			if err := protocol.ValidTopic(p); err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// RecordFile is `tickwire record`: Record into the tick file at path ("-":
// stdout), closed at the end, then the summary line to summary. It fails if
// the file cannot be written or the server was never reached.
func RecordFile(ctx context.Context, path string, stdout, summary io.Writer, opt RecordOptions) error {
	if opt.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Duration)
		defer cancel()
	}
	var out *ticks.Writer
	if path == "-" {
		out = ticks.NewWriter(stdout)
	} else {
		var err error
		if out, err = ticks.Create(path); err != nil {
			return err
		}
	}
	st, werr := Record(ctx, out, opt)
	cerr := out.Close()
	fmt.Fprintf(summary, "tickwire record: %d ticks from %d topics to %s; lost %d (conflated or missed across reconnects); "+
		"%d earlier values not recorded (published before subscribing, or conflated into the first); %d values not representable as ticks\n",
		st.Written, st.Topics, path, st.Lost, st.Before, st.Skipped)
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("close %s: %w", path, cerr)
	}
	if !st.Connected {
		return fmt.Errorf("never connected to %s", opt.URL)
	}
	return nil
}

// Record subscribes to the topics of the server that match opt.Patterns and
// writes each new value to out as a tick (ValueTick; sequenced topics are not
// ticks and are left out), flushing out every second, until ctx is done or
// opt.Count ticks are written. It reconnects when the link drops. It returns
// an error only when out cannot be written; out is the caller's to close.
func Record(ctx context.Context, out *ticks.Writer, opt RecordOptions) (RecordStats, error) {
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	log := opt.Logger
	var literal []string
	wildcard := false
	for _, p := range opt.Patterns {
		if IsLiteralPattern(p) {
			literal = append(literal, p)
		} else {
			wildcard = true
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := client.New(client.Options{
		URLs: []string{opt.URL}, Name: "tickwire-record", Topics: literal, Token: opt.Token,
		EventBuffer: recordEventBuffer, Logger: log, TLS: opt.TLS,
	})
	var wg sync.WaitGroup
	wg.Go(func() { _ = cl.Run(ctx) })
	if wildcard {
		subs := make(map[string]bool)
		for _, t := range literal {
			subs[t] = true
		}
		wg.Go(func() { pollTopics(ctx, cl, opt, subs) })
	}

	rec := recorder{out: out, log: log, seq: make(map[string]uint64), warned: make(map[string]bool)}
	flushEvery := time.NewTicker(time.Second)
	defer flushEvery.Stop()
	var (
		werr    error
		flushed int // ticks written at the last flush
	)
	stopping := func() bool { return werr != nil || (opt.Count > 0 && rec.st.Written >= opt.Count) }
	for events := cl.Events(); events != nil; {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			switch ev := ev.(type) {
			case client.PriceEvent:
				if stopping() {
					continue // drain until the client closes
				}
				werr = rec.handle(&ev)
				if stopping() {
					cancel()
				}
				if opt.OnTick != nil {
					opt.OnTick(rec.st)
				}
			case client.StateEvent:
				switch ev.State {
				case client.Connected:
					rec.st.Connected = true
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
				if werr = out.Flush(); werr != nil {
					cancel()
				}
			}
		}
	}
	wg.Wait()
	return rec.st, werr
}

// recorder turns price events into ticks.
type recorder struct {
	out *ticks.Writer
	log *slog.Logger

	seq    map[string]uint64 // last sequence number seen per topic
	warned map[string]bool   // topics already warned about losses
	st     RecordStats
}

// handle writes ev as a tick when it is a new value. It returns an error only
// when the file cannot be written.
func (r *recorder) handle(ev *client.PriceEvent) error {
	prev, seen := r.seq[ev.Topic]
	r.seq[ev.Topic] = ev.Seq
	if !seen {
		r.st.Topics++
		r.st.Before += ev.Seq - 1
		r.log.Info("first value", "topic", ev.Topic, "seq", ev.Seq, "age", ev.Age.Round(time.Millisecond).String(), "stale", ev.Stale())
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
	t, ok := ValueTick(ev.Topic, &ev.Quote, ev.Time)
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

// ServerURL checks a server's WebSocket URL (the --server of `tickwire
// replay` and `record`), adding the /ws path when it has none.
func ServerURL(s string) (string, error) {
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

// HTTPBase returns a server's HTTP base URL from its WebSocket URL:
// ws://HOST/ws is http://HOST (wss: https).
func HTTPBase(ws string) string {
	u := ws
	if rest, ok := strings.CutPrefix(u, "wss://"); ok {
		u = "https://" + rest
	} else if rest, ok := strings.CutPrefix(u, "ws://"); ok {
		u = "http://" + rest
	}
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, "/ws")
}

// topicListing is the part of GET /topics the recorder reads.
type topicListing struct {
	Name string
	Kind string
}

// maxTopicListing bounds the GET /topics answer read.
const maxTopicListing = 64 << 20

// listingTimeout bounds one GET /topics.
const listingTimeout = 5 * time.Second

// pollTopics subscribes cl to every topic of the server matching a pattern,
// now and every opt.Poll, until ctx is done. subs holds the topics already
// subscribed to.
func pollTopics(ctx context.Context, cl *client.Client, opt RecordOptions, subs map[string]bool) {
	log := opt.Logger
	url := HTTPBase(opt.URL) + "/topics"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = opt.TLS
	hc := &http.Client{Timeout: listingTimeout, Transport: tr}
	defer hc.CloseIdleConnections()
	failing := false
	t := time.NewTicker(opt.Poll)
	defer t.Stop()
	for {
		list, err := fetchTopics(ctx, hc, url, opt.Token)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			log.Warn("cannot list topics; retrying", "url", url, "err", err)
		case err == nil:
			failing = false
			var add []string
			for _, tp := range list {
				if tp.Kind == "sequenced" || subs[tp.Name] || !matchAny(opt.Patterns, tp.Name) {
					continue
				}
				subs[tp.Name] = true
				add = append(add, tp.Name)
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

func fetchTopics(ctx context.Context, hc *http.Client, url, token string) ([]topicListing, error) {
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
	var list []topicListing
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTopicListing)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return list, nil
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
