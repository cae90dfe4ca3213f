package soak

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunReport: a small in-memory soak says what runs, then its seed and
// a result whose streams all matched.
func TestRunReport(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: takes a second or more")
	}
	var out bytes.Buffer
	o := Options{Events: 500, Cuts: 5, Clients: 1, HTTPClients: -1, Topics: 1, Batch: 10, Duration: 300 * time.Millisecond, Timeout: 30 * time.Second}
	if err := RunReport(context.Background(), o, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.HasPrefix(s, "tickwire soak: 500 events, >= 5 cuts, 1+0 clients, journal memory (sync always), ") || !strings.Contains(s, "\nseed ") {
		t.Errorf("output %q: want the header and the seed", s)
	}
}
