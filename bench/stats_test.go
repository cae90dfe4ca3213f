package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * 10 * time.Microsecond) // 10 µs .. 10 ms
	}
	for q, want := range map[float64]time.Duration{0.5: 5 * time.Millisecond, 0.99: 9900 * time.Microsecond} {
		got := h.Quantile(q)
		if math.Abs(float64(got-want))/float64(want) > 0.02 {
			t.Errorf("q%.2f = %v, want %v ±2%%", q, got, want)
		}
	}
	h.Reset()
	if h.Count() != 0 || h.Quantile(0.5) != 0 {
		t.Fatal("reset left samples")
	}
}

func TestJain(t *testing.T) {
	if j := Jain([]float64{5, 5, 5, 5}); j != 1 {
		t.Errorf("equal shares: %v", j)
	}
	if j := Jain([]float64{1, 0, 0, 0}); j != 0.25 {
		t.Errorf("one takes all: %v", j)
	}
}

func TestLineChart(t *testing.T) {
	svg := LineChart("t<1>", "x", "y", []Series{{Name: "a", X: []float64{0, 1000}, Y: []float64{1, 2}}})
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "t&lt;1&gt;") || !strings.Contains(svg, "polyline") {
		t.Fatalf("bad svg: %s", svg)
	}
}
