package bench

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRampConfigCheck(t *testing.T) {
	c := RampConfig{Style: "conflated", Step: 1, Rate: 1, MaxClients: 1}
	if err := c.Check(); err != nil || c.P99Limit != 250*time.Millisecond {
		t.Errorf("conflated: %v, p99 limit %v, want the 250ms default", err, c.P99Limit)
	}
	c = RampConfig{Style: "message", Step: 1, Rate: 1, MaxClients: 1, P99Limit: time.Second}
	if err := c.Check(); err != nil || c.P99Limit != time.Second {
		t.Errorf("message with --p99: %v, p99 limit %v", err, c.P99Limit)
	}
	c = RampConfig{Style: "message", Step: 1, Rate: 1, MaxClients: 1, Baseline: BaselineRaw}
	if err := c.Check(); err != nil {
		t.Errorf("message with --baseline raw: %v", err)
	}
	for _, bad := range []RampConfig{
		{Style: "x", Step: 1, Rate: 1, MaxClients: 1},
		{Style: "message", Rate: 1, MaxClients: 1},
		{Style: "message", Step: 1, Rate: 1, MaxClients: 1, Baseline: "echo"},
		{Style: "conflated", Step: 1, Rate: 1, MaxClients: 1, Baseline: BaselineRaw},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestServersCheck(t *testing.T) {
	for _, ok := range []time.Duration{0, time.Millisecond, 50 * time.Millisecond} {
		if err := (Servers{Coalesce: ok}).Check(); err != nil {
			t.Errorf("--coalesce-window %v: %v", ok, err)
		}
	}
	for _, bad := range []time.Duration{-time.Millisecond, 51 * time.Millisecond} {
		if err := (Servers{Coalesce: bad}).Check(); err == nil {
			t.Errorf("--coalesce-window %v accepted", bad)
		}
	}
}

func TestParseSizes(t *testing.T) {
	if got, err := ParseSizes("125, 500,1000"); err != nil || !slices.Equal(got, []int{125, 500, 1000}) {
		t.Errorf("ParseSizes: %v, %v", got, err)
	}
	for _, bad := range []string{"", "1,,2", "0", "-5", "x"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b strings.Builder
	if err := WriteJSON(&b, "idle", map[string]int{"clients": 3}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Benchmark string
		Date      time.Time
		Result    map[string]int
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil || got.Benchmark != "idle" || got.Date.IsZero() || got.Result["clients"] != 3 {
		t.Errorf("WriteJSON wrote %s (%v)", b.String(), err)
	}
}
