package demo

import "testing"

func TestTitle(t *testing.T) {
	for _, c := range []struct {
		files string
		speed float64
		want  string
	}{
		{"embedded", 1, "tickwire demo · real OANDA ticks, 2014-05-08, replayed ×1"},
		{"a.csv,b.csv", 2.5, "tickwire demo · replay of a.csv,b.csv ×2.5"},
	} {
		if got := Title(c.files, c.speed); got != c.want {
			t.Errorf("Title(%q, %v) = %q, want %q", c.files, c.speed, got, c.want)
		}
	}
}
