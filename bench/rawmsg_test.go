package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/protocol"
)

// startRawMsg serves the rawmsg mode in this process, as `bench serve`
// does, and returns it as a Child of this process.
func startRawMsg(t *testing.T) *Child {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeChild(ctx, ModeRawMsg, "127.0.0.1:0", "", 0, 0, 0, Behaviour{}, pw) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeChild: %v", err)
		}
	})
	line := make([]byte, 64)
	n, err := pr.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(line[:n])), "listening ")
	if !ok {
		t.Fatalf("child said %q", line[:n])
	}
	return &Child{Mode: ModeRawMsg, Addr: addr, Pid: os.Getpid()}
}

// TestRawMsgOneMessagePerEvent: the raw baseline delivers every published
// event, in order, each in a WebSocket message of its own, even when the
// publisher sends them all in one message, and counts what it wrote.
func TestRawMsgOneMessagePerEvent(t *testing.T) {
	child := startRawMsg(t)
	sub, _, err := websocket.DefaultDialer.Dial(child.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sendFrames(sub, &protocol.Hello{Version: protocol.Version}, &protocol.Subscribe{Topics: []string{"t"}}); err != nil {
		t.Fatal(err)
	}
	pub, _, err := websocket.DefaultDialer.Dial(child.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// The subscription is in place once the server has the subscriber
	// counted: a publish before that reaches no one.
	const n = 50
	var frames []protocol.Frame
	for i := range n {
		frames = append(frames, &protocol.Event{Type: protocol.TypePublishEvent, Topic: "t", Time: int64(i), Data: []byte{byte(i)}})
	}
	deadline := time.Now().Add(5 * time.Second)
	for st, _ := serverStats(child); ; st, _ = serverStats(child) {
		// Probe: one publish; once it is delivered, the subscription holds.
		if err := sendFrames(pub, &protocol.Event{Type: protocol.TypePublishEvent, Topic: "t", Data: []byte("probe")}); err != nil {
			t.Fatal(err)
		}
		if st.SentFrames > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := sendFrames(pub, frames...); err != nil {
		t.Fatal(err)
	}
	dec := protocol.NewDecoder()
	var got [][]byte
	var seqs []uint64
	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < n {
		_, msg, err := sub.ReadMessage()
		if err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		dec.Reset(msg)
		f, err := dec.Next()
		if err != nil {
			t.Fatal(err)
		}
		if dec.More() {
			t.Fatalf("a message holds more than one frame: %x", msg)
		}
		ev, ok := f.(*protocol.Event)
		if !ok || ev.Type != protocol.TypeEvent {
			t.Fatalf("got %#v", f)
		}
		if bytes.Equal(ev.Data, []byte("probe")) {
			continue
		}
		got = append(got, ev.Data)
		seqs = append(seqs, ev.Seq)
	}
	for i := range n {
		if !bytes.Equal(got[i], []byte{byte(i)}) {
			t.Fatalf("event %d: %x, want %x", i, got[i], i)
		}
	}
	if !slices.IsSorted(seqs) || seqs[n-1]-seqs[0] != n-1 {
		t.Errorf("seqs %v: not contiguous", seqs)
	}
	st, err := serverStats(child)
	if err != nil || st.SentFrames < n || st.Enqueued < st.SentFrames {
		t.Errorf("stats %+v, %v: want at least %d sent, as many offered", st, err, n)
	}
}

// TestRampRawBaseline runs a small ramp against the raw baseline (in this
// process) and checks the fields the comparison takes from it.
func TestRampRawBaseline(t *testing.T) {
	child := startRawMsg(t)
	cfg := RampConfig{Style: "message", Step: 5, MaxClients: 10, Rate: 50, Payload: 16, Interval: 300 * time.Millisecond, P99Limit: 10 * time.Second, Baseline: BaselineRaw}
	res, err := Ramp(context.Background(), child, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 2 || res.Steps[1].Clients != 10 {
		t.Fatalf("steps %+v", res.Steps)
	}
	for _, st := range res.Steps {
		if st.ClientRate <= 0 || st.ServerRate <= 0 || st.Writes <= 0 {
			t.Errorf("step %+v: want deliveries, frames and writes", st)
		}
	}
}

func TestBaselineConfig(t *testing.T) {
	cfg := RampConfig{Style: "message", Step: 250, MaxClients: 20000, PastSat: 2}
	ours := RampResult{Steps: make([]RampStep, 3)}
	got := baselineConfig(cfg, ours)
	if got.MaxClients != 750 || got.PastSat != 3 || got.Step != 250 {
		t.Errorf("baselineConfig: %+v, want 3 steps of 250 whatever saturates", got)
	}
	// Ours stopped at --max: so does the baseline.
	cfg.MaxClients = 600
	if got := baselineConfig(cfg, ours); got.MaxClients != 600 {
		t.Errorf("baselineConfig: max %d, want 600", got.MaxClients)
	}
}

func TestWithBaseline(t *testing.T) {
	ours := RampResult{Steps: []RampStep{{Clients: 1, CPUPerDelivery: 13}, {Clients: 2, CPUPerDelivery: 9}, {Clients: 3, CPUPerDelivery: 8}}}
	raw := RampResult{Steps: []RampStep{{Clients: 1, CPUPerDelivery: 10, P99: 7, ServerCPU: 50, ClientRate: 100, Writes: 90}, {Clients: 2}}}
	res := withBaseline(ours, raw)
	s := res.Steps
	if s[0].CPURatio != 1.3 || s[0].RawCPUPerDelivery != 10 || s[0].RawP99 != 7 || s[0].RawServerCPU != 50 || s[0].RawClientRate != 100 || s[0].RawWrites != 90 {
		t.Errorf("step 0: %+v", s[0])
	}
	if s[1].CPURatio != 0 || s[2].RawCPUPerDelivery != 0 {
		t.Errorf("no raw CPU or no raw step: no ratio: %+v", s[1:])
	}
}

func TestSyscw(t *testing.T) {
	if n := syscw("rchar: 1\nsyscr: 3\nsyscw: 12345\nread_bytes: 0\n"); n != 12345 {
		t.Errorf("syscw = %d", n)
	}
	p0, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "w")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 10 {
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	p1, _ := ReadProc(os.Getpid())
	if p1.Writes-p0.Writes < 10 {
		t.Errorf("10 writes counted as %d", p1.Writes-p0.Writes)
	}
}
