package bench

import (
	"strings"
	"syscall"
	"testing"
)

func TestCheckClientFDs(t *testing.T) {
	RaiseFDLimit()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	room := int(r.Cur) - fdReserve
	if err := CheckClientFDs(room); err != nil {
		t.Errorf("%d clients, limit %d: %v", room, r.Cur, err)
	}
	err := CheckClientFDs(room + 1)
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d clients, limit %d: got %v, want the limit named", room+1, r.Cur, err)
	}
}
