package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Chart is an SVG chart of a run and the file name it is written to.
type Chart struct{ File, SVG string }

// WriteCharts writes charts into dir (created if missing), naming each file
// written on progress.
func WriteCharts(dir string, charts []Chart, progress io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range charts {
		p := filepath.Join(dir, c.File)
		if err := os.WriteFile(p, []byte(c.SVG), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(progress, "wrote %s\n", p)
	}
	return nil
}

// WriteJSON writes the JSON summary of a run of benchmark name (`tickwire
// bench --json`; keys in docs/BENCHMARKS.md), dated now.
func WriteJSON(w io.Writer, name string, res any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"benchmark": name, "date": time.Now().UTC().Format(time.RFC3339), "result": res})
}

// ParseSizes parses a comma-separated list of positive sizes (pingpong's
// --payloads).
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// PrintTable prints a result (or slice of results) as an aligned table of its
// JSON fields.
func PrintTable(w io.Writer, res any) {
	b, _ := json.Marshal(res)
	var rows []map[string]any
	if json.Unmarshal(b, &rows) != nil {
		var one map[string]any
		if json.Unmarshal(b, &one) != nil {
			fmt.Fprintf(w, "%s\n", b)
			return
		}
		if steps, ok := one["steps"]; ok {
			sb, _ := json.Marshal(steps)
			_ = json.Unmarshal(sb, &rows)
			delete(one, "steps")
			hb, _ := json.Marshal(one)
			fmt.Fprintf(w, "%s\n", hb)
		} else {
			rows = []map[string]any{one}
		}
	}
	if len(rows) == 0 {
		return
	}
	var keys []string
	b, _ = json.Marshal(rows[0])
	dec := json.NewDecoder(strings.NewReader(string(b)))
	_, _ = dec.Token()
	for dec.More() {
		t, _ := dec.Token()
		keys = append(keys, t.(string))
		var skip any
		_ = dec.Decode(&skip)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(keys, "\t")+"\t")
	for _, r := range rows {
		for _, k := range keys {
			switch v := r[k].(type) {
			case float64:
				fmt.Fprintf(tw, "%.4g\t", v)
			default:
				fmt.Fprintf(tw, "%v\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// PingPongCharts draws the RTT percentiles of a ping-pong run by payload size.
func PingPongCharts(res []PingPongResult) []Chart {
	var x, o50, o99, e50, e99 []float64
	for _, r := range res {
		x = append(x, float64(r.Payload))
		o50, o99 = append(o50, float64(r.OursP50)), append(o99, float64(r.OursP99))
		e50, e99 = append(e50, float64(r.EchoP50)), append(e99, float64(r.EchoP99))
	}
	return []Chart{{"pingpong.svg", LineChart("Ping-pong RTT: tickwire vs raw WebSocket echo", "payload (bytes)", "RTT (µs)", []Series{
		{Name: "tickwire p50", X: x, Y: o50}, {Name: "tickwire p99", X: x, Y: o99, Dashed: true},
		{Name: "echo p50", X: x, Y: e50}, {Name: "echo p99", X: x, Y: e99, Dashed: true},
	})}}
}

// RampCharts draws a ramp's delivered rates, latency and fairness by clients.
func RampCharts(res RampResult) []Chart {
	var x, exp, cl, sv, p99, jain []float64
	for _, s := range res.Steps {
		x = append(x, float64(s.Clients))
		exp, cl, sv = append(exp, s.Expected), append(cl, s.ClientRate), append(sv, s.ServerRate)
		p99, jain = append(p99, float64(s.P99)/1000), append(jain, s.Jain*100)
	}
	style := res.Config.Style
	return []Chart{
		{"ramp-" + style + "-rate.svg", LineChart("Ramp ("+style+"): delivered msg/s", "clients", "msg/s", []Series{
			{Name: "expected", X: x, Y: exp, Dashed: true}, {Name: "client view", X: x, Y: cl}, {Name: "server view", X: x, Y: sv},
		})},
		{"ramp-" + style + "-latency.svg", LineChart("Ramp ("+style+"): latency p99 and fairness", "clients", "ms / Jain×100", []Series{
			{Name: "p99 latency (ms)", X: x, Y: p99}, {Name: "Jain index ×100", X: x, Y: jain, Dashed: true},
		})},
	}
}
