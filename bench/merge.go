package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"tickwire/behaviour"
	"tickwire/feedserver"
	"tickwire/node"
	"tickwire/protocol"
)

// Behaviour names the WebAssembly behaviour (docs/behaviours.md) that
// `tickwire bench fanout|ramp --behaviour FILE[:FUNC]` measures: the
// server under test then runs a merge topic by that module beside the same
// topic merged by the built-in trade ops (volume sum, high max, low min),
// and the run compares the two. As a flag.Value it parses FILE[:FUNC]; FUNC
// defaults to FILE's base name without ".wasm" (vwap.wasm: vwap).
type Behaviour struct {
	File, Func string
	Budget     time.Duration // the CPU budget per call (Config.CallBudget)
}

// String implements flag.Value.
func (b *Behaviour) String() string {
	if b == nil || b.File == "" {
		return ""
	}
	return b.File + ":" + b.Func
}

// Set implements flag.Value.
func (b *Behaviour) Set(s string) error {
	file, fn := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.ContainsRune(s[i+1:], '/') {
		file, fn = s[:i], s[i+1:]
	}
	if fn == "" {
		fn = strings.TrimSuffix(filepath.Base(file), ".wasm")
	}
	if file == "" || strings.ContainsAny(fn, ",() ") {
		return fmt.Errorf("behaviour %q: want FILE[:FUNC]", s)
	}
	b.File, b.Func = file, fn
	return nil
}

// On reports whether a behaviour was named.
func (b Behaviour) On() bool { return b.File != "" }

// args are the child's flags for b.
func (b Behaviour) args() []string {
	if !b.On() {
		return nil
	}
	return []string{"--behaviour", b.String(), "--behaviour-budget", b.Budget.String()}
}

// The merge variants: a topic named bench.VARIANT.* merges by the built-in
// trade ops or by the behaviour.
const (
	mergeBuiltin = "builtin"
	mergeWASM    = "wasm"
)

// mergeRules are the feed child's topic rules for b, before the bench's
// and the default rules, and the behaviours to close after the server.
func mergeRules(ctx context.Context, b Behaviour) ([]feedserver.TopicRule, *node.Behaviours, error) {
	specs := []feedserver.TopicRuleSpec{
		{Pattern: "bench." + mergeWASM + ".*", Kind: "merge", Merge: map[string]string{"*": "wasm(" + b.File + ", " + b.Func + ")"}},
		{Pattern: "bench." + mergeBuiltin + ".*", Kind: "merge", Merge: map[string]string{"volume": "sum", "high": "max", "low": "min"}},
	}
	return node.TopicRules(ctx, specs, behaviour.Config{CallBudget: b.Budget})
}

// benchTrade is the i-th trade the merge benchmarks publish.
func benchTrade(i uint64) *protocol.Quote {
	var q protocol.Quote
	q.Put(protocol.Last, 100+float64(i%50))
	q.Put(protocol.LastSize, 1)
	q.Put(protocol.Volume, 1)
	return &q
}

// FanoutMergeResult is one merge variant of `bench fanout --behaviour`:
// trades published to a merge topic as fast as the slowest client keeps
// within 1024 values of the latest, delivered conflated.
type FanoutMergeResult struct {
	Merge     string  `json:"merge"` // builtin, or the behaviour FILE:FUNC
	Clients   int     `json:"clients"`
	Runs      int     `json:"runs"`
	Seconds   float64 `json:"seconds"` // per run
	Delivered float64 `json:"delivered_per_sec"`
	Published float64 `json:"published_per_sec"`
	Jain      float64 `json:"jain"`
	// The WASM row's rates over the built-in row's, measured alternately
	// in the same run on the same server.
	DeliveredVsBuiltin float64 `json:"delivered_vs_builtin"`
	PublishedVsBuiltin float64 `json:"published_vs_builtin"`
}

// fanoutMerge is `bench fanout --behaviour`: on one feed server, the
// built-in and the WASM merge topic alternately (builtin, wasm, wasm,
// builtin: a drift of the machine's load falls on both alike), each run a
// fresh topic and n fresh clients.
func fanoutMerge(ctx context.Context, s Servers, n int, d time.Duration) ([]FanoutMergeResult, error) {
	RaiseFDLimit()
	feed, err := s.feed(ctx)
	if err != nil {
		return nil, err
	}
	defer feed.Stop()
	rows := map[string]*FanoutMergeResult{
		mergeBuiltin: {Merge: mergeBuiltin, Clients: n, Seconds: d.Seconds()},
		mergeWASM:    {Merge: s.Behaviour.String(), Clients: n, Seconds: d.Seconds()},
	}
	for i, v := range []string{mergeBuiltin, mergeWASM, mergeWASM, mergeBuiltin} {
		t := fanTarget{topic: fmt.Sprintf("bench.%s.fanout%d", v, i), merge: true}
		c, err := fanRun(ctx, feed, n, 0, d, t)
		if err != nil {
			return nil, fmt.Errorf("%s merge fan-out: %w", v, err)
		}
		r := rows[v]
		r.Runs++
		r.Delivered += c.delivered
		r.Published += c.published
		r.Jain += c.jain
	}
	for _, r := range rows {
		r.Delivered /= float64(r.Runs)
		r.Published /= float64(r.Runs)
		r.Jain /= float64(r.Runs)
	}
	b, w := rows[mergeBuiltin], rows[mergeWASM]
	b.DeliveredVsBuiltin, b.PublishedVsBuiltin = 1, 1
	w.DeliveredVsBuiltin = w.Delivered / max(b.Delivered, 1)
	w.PublishedVsBuiltin = w.Published / max(b.Published, 1)
	return []FanoutMergeResult{*b, *w}, nil
}

// RampMergeStep is one step of `bench ramp --style conflated --behaviour`:
// the built-in merge topic's ramp and the WASM one's side by side.
type RampMergeStep struct {
	Clients        int     `json:"clients"`
	BuiltinRate    float64 `json:"builtin_client_msgs_per_sec"`
	WASMRate       float64 `json:"wasm_client_msgs_per_sec"`
	BuiltinP99     Micros  `json:"builtin_p99_us"`
	WASMP99        Micros  `json:"wasm_p99_us"`
	P99Ratio       float64 `json:"p99_wasm_vs_builtin"`
	BuiltinCPU     float64 `json:"builtin_server_cpu_percent"`
	WASMCPU        float64 `json:"wasm_server_cpu_percent"`
	BuiltinCPUPer  float64 `json:"builtin_cpu_us_per_delivery"`
	WASMCPUPer     float64 `json:"wasm_cpu_us_per_delivery"`
	CPUPerRatio    float64 `json:"cpu_per_delivery_wasm_vs_builtin"`
	BuiltinSatured bool    `json:"builtin_saturated"`
	WASMSaturated  bool    `json:"wasm_saturated"`
}

// RampMergeResult is `bench ramp --style conflated --behaviour`.
type RampMergeResult struct {
	Config            RampConfig      `json:"config"`
	Behaviour         string          `json:"behaviour"`
	BuiltinSaturation int             `json:"builtin_saturation_clients"`
	WASMSaturation    int             `json:"wasm_saturation_clients"`
	Steps             []RampMergeStep `json:"steps"`
}

// rampMerge is `bench ramp --style conflated --behaviour`: the ramp on the
// built-in merge topic, then on the WASM one, each on a fresh feed server
// (a ramp's clients accumulate: the two cannot interleave step by step).
func rampMerge(ctx context.Context, s Servers, cfg RampConfig) (RampMergeResult, error) {
	if cfg.Style != "conflated" {
		return RampMergeResult{}, fmt.Errorf("--behaviour: merge topics are conflated: use --style conflated")
	}
	res := RampMergeResult{Config: cfg, Behaviour: s.Behaviour.String()}
	var runs [2]RampResult
	for i, v := range []string{mergeBuiltin, mergeWASM} {
		feed, err := s.feed(ctx)
		if err != nil {
			return res, err
		}
		c := cfg
		c.Merge = v
		runs[i], err = Ramp(ctx, feed, c)
		feed.Stop()
		if err != nil {
			return res, fmt.Errorf("%s merge ramp: %w", v, err)
		}
	}
	res.BuiltinSaturation, res.WASMSaturation = runs[0].SaturationAt, runs[1].SaturationAt
	for i := range max(len(runs[0].Steps), len(runs[1].Steps)) {
		var st RampMergeStep
		if i < len(runs[0].Steps) {
			b := runs[0].Steps[i]
			st.Clients, st.BuiltinRate, st.BuiltinP99, st.BuiltinCPU, st.BuiltinCPUPer, st.BuiltinSatured = b.Clients, b.ClientRate, b.P99, b.ServerCPU, b.CPUPerDelivery, b.Saturated
		}
		if i < len(runs[1].Steps) {
			w := runs[1].Steps[i]
			st.Clients, st.WASMRate, st.WASMP99, st.WASMCPU, st.WASMCPUPer, st.WASMSaturated = w.Clients, w.ClientRate, w.P99, w.ServerCPU, w.CPUPerDelivery, w.Saturated
		}
		if st.BuiltinP99 > 0 {
			st.P99Ratio = float64(st.WASMP99) / float64(st.BuiltinP99)
		}
		if st.BuiltinCPUPer > 0 {
			st.CPUPerRatio = st.WASMCPUPer / st.BuiltinCPUPer
		}
		res.Steps = append(res.Steps, st)
	}
	return res, nil
}
