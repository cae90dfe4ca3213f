package fixclient

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResultReport(t *testing.T) {
	var b strings.Builder
	ok := Result{Orders: 10, Cancels: 2, Replaces: 1, Reports: 25, Fills: 8, Rejects: 1, Elapsed: 2 * time.Second}
	if err := ok.Report(&b, nil); err != nil {
		t.Errorf("clean flow: %v", err)
	}
	if want := "orders 10, cancels 2, replaces 1, reports 25 (fills 8, rejects 1) in 2s; 5 orders/s\nall responses matched the expected order state\n"; b.String() != want {
		t.Errorf("clean flow printed %q, want %q", b.String(), want)
	}
	b.Reset()
	bad := Result{Orders: 1, Mismatches: []string{"order 1: fill after cancel", "order 2: no answer"}}
	if err := bad.Report(&b, nil); err == nil || err.Error() != "2 mismatches" {
		t.Errorf("mismatches: %v", err)
	}
	if !strings.Contains(b.String(), "MISMATCH order 1: fill after cancel\nMISMATCH order 2: no answer\n") || strings.Contains(b.String(), "all responses") {
		t.Errorf("mismatches printed %q", b.String())
	}
	b.Reset()
	flowErr := errors.New("logged out")
	if err := bad.Report(&b, flowErr); err != flowErr {
		t.Errorf("flow error: %v, want the flow's", err)
	}
}
