package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// RampConfig configures the seed's throughput test.
type RampConfig struct {
	Style      string        // "message" (sequenced: every event) or "conflated"
	Step       int           // clients added per step
	Interval   time.Duration // measuring time per step, after the step's clients connected
	MaxClients int
	Rate       int // messages per second each client should receive
	Payload    int // bytes of event data (message style; conflated values are quotes)
	P99Limit   time.Duration
	PastSat    int // steps to run past saturation, to show what happens there
	// MaxRate (conflated style): each client asks for at most this many
	// updates per second (Subscribe.MinIntervalMs), as a dashboard would;
	// the server conflates to meet it. 0: as many as the server can send.
	MaxRate int
	// Merge (conflated style, `--behaviour`): publish trades to the
	// built-in ("builtin") or WASM ("wasm") merge topic instead of quotes
	// to a replace topic.
	Merge string `json:",omitempty"`
	// Baseline (message style, `--baseline raw`): after the ramp on the
	// feed server, run the same steps against the raw one-write-per-message
	// server (rawmsg.go) and give each step its CPU per delivery and the
	// ratio to ours.
	Baseline string `json:",omitempty"`
}

// BaselineRaw is RampConfig.Baseline's one value.
const BaselineRaw = "raw"

// Check checks c (as `tickwire bench ramp` takes it) and fills in the
// default p99 limit.
func (c *RampConfig) Check() error {
	if c.Style != "message" && c.Style != "conflated" {
		return fmt.Errorf("--style %q: message or conflated", c.Style)
	}
	if c.P99Limit == 0 {
		// The seed's targets: messages p99 < 50 ms; conflated data age p99 < 250 ms.
		c.P99Limit = 50 * time.Millisecond
		if c.Style == "conflated" {
			c.P99Limit = 250 * time.Millisecond
		}
	}
	if c.Step <= 0 || c.Rate <= 0 || c.MaxClients <= 0 {
		return fmt.Errorf("--step, --rate and --max must be positive")
	}
	switch c.Baseline {
	case "":
	case BaselineRaw:
		if c.Style != "message" {
			return fmt.Errorf("--baseline raw: the raw server delivers every message: use --style message")
		}
	default:
		return fmt.Errorf("--baseline %q: raw or nothing", c.Baseline)
	}
	return nil
}

// RampStep is one step's measurement.
type RampStep struct {
	Clients      int     `json:"clients"`
	Failed       int     `json:"failed_connects"`
	Expected     float64 `json:"expected_msgs_per_sec"`
	ClientRate   float64 `json:"client_msgs_per_sec"`
	ServerRate   float64 `json:"server_frames_per_sec"`
	P50          Micros  `json:"latency_p50_us"`
	P99          Micros  `json:"latency_p99_us"`
	AgeP99       Micros  `json:"data_age_p99_us"`
	Jain         float64 `json:"jain"`
	ServerRSSKiB int64   `json:"server_rss_kib"`
	ServerCPU    float64 `json:"server_cpu_percent"`
	// CPUPerDelivery: the server's CPU time per frame it wrote, µs.
	CPUPerDelivery float64 `json:"server_cpu_us_per_delivery"`
	// Writes: the server's write system calls per second (/proc/PID/io).
	Writes float64 `json:"server_writes_per_sec"`
	// GenCPU: the load generator's (this process's: the clients and the
	// publisher) CPU, % of a core, and per message its clients received,
	// µs: on one box the two share the cores.
	GenCPU            float64 `json:"generator_cpu_percent"`
	GenCPUPerDelivery float64 `json:"generator_cpu_us_per_delivery"`
	// Offers: versions and events offered to client queues (pushed), and
	// versions rate-limited clients pulled on their tick, per second.
	Offers    float64 `json:"offers_per_sec"`
	Pulls     float64 `json:"pulls_per_sec"`
	Saturated bool    `json:"saturated"`
	// With --baseline raw, the same step on the raw one-write-per-message
	// server: its delivered rate, p99, CPU and CPU per delivery, and
	// CPURatio, ours over its CPU per delivery.
	RawClientRate     float64 `json:"raw_client_msgs_per_sec,omitempty"`
	RawP99            Micros  `json:"raw_latency_p99_us,omitempty"`
	RawServerCPU      float64 `json:"raw_server_cpu_percent,omitempty"`
	RawCPUPerDelivery float64 `json:"raw_cpu_us_per_delivery,omitempty"`
	RawWrites         float64 `json:"raw_server_writes_per_sec,omitempty"`
	CPURatio          float64 `json:"cpu_ratio,omitempty"`
}

// RampResult is the whole ramp.
type RampResult struct {
	Config         RampConfig `json:"config"`
	Steps          []RampStep `json:"steps"`
	SaturationAt   int        `json:"saturation_clients"` // first saturated step's clients; 0 if none
	MaxGoodClients int        `json:"max_good_clients"`   // last step before saturation
}

// baselineConfig is the configuration of the baseline's ramp after ours:
// the same steps, as many as ours ran, whether or not it saturates.
func baselineConfig(cfg RampConfig, ours RampResult) RampConfig {
	cfg.MaxClients = min(cfg.MaxClients, cfg.Step*len(ours.Steps))
	cfg.PastSat = len(ours.Steps)
	return cfg
}

// withBaseline gives each step of ours the same step of the baseline's
// ramp (by index: both ran the same steps) and the CPU ratio.
func withBaseline(ours, raw RampResult) RampResult {
	for i := range min(len(ours.Steps), len(raw.Steps)) {
		o, r := &ours.Steps[i], raw.Steps[i]
		o.RawClientRate, o.RawP99, o.RawServerCPU, o.RawCPUPerDelivery, o.RawWrites = r.ClientRate, r.P99, r.ServerCPU, r.CPUPerDelivery, r.Writes
		if r.CPUPerDelivery > 0 {
			o.CPURatio = o.CPUPerDelivery / r.CPUPerDelivery
		}
	}
	return ours
}

type rampClient struct {
	conn  *websocket.Conn
	count atomic.Uint64
}

// Ramp adds clients in steps until saturation (p99 over the limit, delivery
// under 90% of expected, or fairness under 0.95) and runs PastSat steps more.
func Ramp(ctx context.Context, feed *Child, cfg RampConfig) (RampResult, error) {
	res := RampResult{Config: cfg}
	topic := "bench.seq.ramp"
	if cfg.Style == "conflated" {
		topic = "bench.ramp"
	}
	if cfg.Merge != "" {
		topic = "bench." + cfg.Merge + ".ramp"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lat Hist
	var clients []*rampClient
	var wg sync.WaitGroup
	defer func() {
		cancel()
		for _, c := range clients {
			_ = c.conn.Close()
		}
		wg.Wait()
	}()

	// Publisher: Rate messages per second, each stamped with its send time.
	pub, _, err := websocket.DefaultDialer.DialContext(ctx, feed.URL(), nil)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	if err := sendFrames(pub, &protocol.Hello{Version: protocol.Version, Client: "bench-ramp-pub"}); err != nil {
		return res, err
	}
	// The publisher's socket has two writers, the pong replies and the
	// publishes: gorilla allows one at a time.
	var pubMu sync.Mutex
	send := func(f protocol.Frame) error {
		pubMu.Lock()
		defer pubMu.Unlock()
		return sendFrames(pub, f)
	}
	go func() { // drain replies and answer pings
		_ = readFrames(pub, false, func(f protocol.Frame, _ time.Time) error {
			if p, ok := f.(*protocol.Ping); ok {
				_ = send(&protocol.Pong{Nonce: p.Nonce})
			}
			return nil
		})
	}()
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
		defer tick.Stop()
		data := make([]byte, cfg.Payload)
		var i float64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now().UnixNano()
			var f protocol.Frame
			switch {
			case cfg.Merge != "":
				i++
				f = &protocol.Price{Type: protocol.TypePublish, Topic: topic, Time: now, Quote: *benchTrade(uint64(i))}
			case cfg.Style == "conflated":
				i++
				var q protocol.Quote
				q.Put(protocol.Bid, i)
				q.Put(protocol.Ask, i+1)
				f = &protocol.Price{Type: protocol.TypePublish, Topic: topic, Time: now, Quote: q}
			default:
				f = &protocol.Event{Type: protocol.TypePublishEvent, Topic: topic, Time: now, Data: data}
			}
			if send(f) != nil {
				return
			}
		}
	}()

	var minInterval uint32 // ms
	perClient := cfg.Rate
	if cfg.Style == "conflated" && cfg.MaxRate > 0 {
		minInterval = uint32(1000 / cfg.MaxRate)
		perClient = min(cfg.Rate, cfg.MaxRate)
	}
	saturatedSteps := 0
	for len(clients) < cfg.MaxClients && saturatedSteps <= cfg.PastSat {
		failed := 0
		var mu sync.Mutex
		var dw sync.WaitGroup
		sem := make(chan struct{}, 32)
		for range min(cfg.Step, cfg.MaxClients-len(clients)) {
			dw.Add(1)
			sem <- struct{}{}
			go func() {
				defer dw.Done()
				defer func() { <-sem }()
				c, err := dialRamp(ctx, feed, topic, minInterval)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					return
				}
				rc := &rampClient{conn: c}
				clients = append(clients, rc)
				wg.Add(1)
				go rc.read(&wg, &lat)
			}()
		}
		dw.Wait()
		time.Sleep(500 * time.Millisecond) // let the new clients settle
		startCounts := make([]uint64, len(clients))
		for i, c := range clients {
			startCounts[i] = c.count.Load()
		}
		lat.Reset()
		p0, _ := ReadProc(feed.Pid)
		g0, _ := ReadProc(os.Getpid())
		s0, _ := serverStats(feed)
		t0 := time.Now()
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(cfg.Interval):
		}
		el := time.Since(t0)
		p1, _ := ReadProc(feed.Pid)
		g1, _ := ReadProc(os.Getpid())
		s1, _ := serverStats(feed)
		per := make([]float64, len(clients))
		var total float64
		for i, c := range clients {
			per[i] = float64(c.count.Load()-startCounts[i]) / el.Seconds()
			total += per[i]
		}
		st := RampStep{
			Clients: len(clients), Failed: failed, Expected: float64(len(clients) * perClient),
			ClientRate: total, ServerRate: float64(s1.SentFrames-s0.SentFrames) / el.Seconds(),
			Offers: float64(s1.Enqueued-s0.Enqueued) / el.Seconds(), Pulls: float64(s1.Pulled-s0.Pulled) / el.Seconds(),
			P50: US(lat.Quantile(0.5)), P99: US(lat.Quantile(0.99)), AgeP99: US(lat.Quantile(0.99)),
			Jain: Jain(per), ServerRSSKiB: p1.RSSKiB, ServerCPU: CPUPercent(p0, p1),
			Writes: float64(p1.Writes-p0.Writes) / el.Seconds(), GenCPU: CPUPercent(g0, g1),
		}
		if st.ServerRate > 0 {
			st.CPUPerDelivery = st.ServerCPU / 100 / st.ServerRate * 1e6
		}
		if st.ClientRate > 0 {
			st.GenCPUPerDelivery = st.GenCPU / 100 / st.ClientRate * 1e6
		}
		st.Saturated = failed > 0 || st.P99 > US(cfg.P99Limit) || st.Jain < 0.95 ||
			(cfg.Style != "conflated" && st.ClientRate < 0.9*st.Expected)
		if st.Saturated {
			saturatedSteps++
			if res.SaturationAt == 0 {
				res.SaturationAt = st.Clients
			}
		} else if res.SaturationAt == 0 {
			res.MaxGoodClients = st.Clients
		}
		res.Steps = append(res.Steps, st)
	}
	return res, nil
}

func dialRamp(ctx context.Context, feed *Child, topic string, minIntervalMs uint32) (*websocket.Conn, error) {
	d := websocket.Dialer{ReadBufferSize: 4 << 10, WriteBufferSize: 512, HandshakeTimeout: 10 * time.Second}
	c, _, err := d.DialContext(ctx, feed.URL(), nil)
	if err != nil {
		return nil, err
	}
	if err := sendFrames(c, &protocol.Hello{Version: protocol.Version, Client: "bench-ramp"}, &protocol.Subscribe{Topics: []string{topic}, MinIntervalMs: minIntervalMs}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (rc *rampClient) read(wg *sync.WaitGroup, lat *Hist) {
	defer wg.Done()
	_ = readFrames(rc.conn, false, func(f protocol.Frame, at time.Time) error {
		now := at.UnixNano()
		switch f := f.(type) {
		case *protocol.Event:
			rc.count.Add(1)
			lat.Record(time.Duration(now - f.Time))
		case *protocol.Price:
			if f.Seq > 0 && f.Quote.Set != 0 {
				rc.count.Add(1)
				lat.Record(time.Duration(now - f.Time))
			}
		case *protocol.Ping:
			_ = sendFrames(rc.conn, &protocol.Pong{Nonce: f.Nonce})
		}
		return nil
	})
}

// feedStats are the counters of the feed server's /stats the ramp reads.
type feedStats struct{ SentFrames, Enqueued, Pulled uint64 }

func serverStats(feed *Child) (feedStats, error) {
	var st feedStats
	resp, err := http.Get("http://" + feed.Addr + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode /stats: %w", err)
	}
	return st, nil
}
