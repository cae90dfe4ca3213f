package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildBinary builds the tickwire command into a temporary directory. Every
// test that runs the real binary (processes killed or stopped, tmux,
// hostile clients) starts here, so -short (make check) skips them here:
// each pays a build and a process's start-up and shutdown.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binary: slow; make test runs it")
	}
	bin := filepath.Join(t.TempDir(), "tickwire")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tmuxSession runs a command in a detached tmux session of the given size on a
// private tmux server, and cleans both up when the test ends.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func newTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux not found: run the tests with 'make test', which installs it")
	}
	// The socket name must be unique across test processes running at once:
	// t.TempDir's own name is only a counter (001); its parent's is random.
	dir := t.TempDir()
	socket := fmt.Sprintf("tickwire-test-%d-%s-%s", os.Getpid(), filepath.Base(filepath.Dir(dir)), filepath.Base(dir))
	s := &tmuxSession{t: t, socket: socket, name: "e2e"}
	s.run("new-session", "-d", "-s", s.name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) capture() string {
	return s.run("capture-pane", "-p", "-t", s.name)
}

func (s *tmuxSession) alive() bool {
	return exec.Command("tmux", "-L", s.socket, "has-session", "-t", s.name).Run() == nil
}

// rowRE matches a board row: symbol, numeric bid and ask, spread, change, age.
var rowRE = regexp.MustCompile(`(?m)^│\s*([A-Z]{6})\s*│\s*(\d+\.\d+)\s*│\s*(\d+\.\d+)\s*│\s*(\d+\.\d+)\s*│\s*[▲▼ ]\s*│\s*(\d[\dhms.]*)\s*│`)

// TestDemoUnderTmux runs `tickwire demo` in an 80x24 terminal and reads the
// screen as a trader would: two symbols with numeric prices, ages that count,
// a status line naming the state and the server, and q quitting cleanly.
func TestDemoUnderTmux(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	cmd := bin + " demo --log " + filepath.Join(dir, "demo.log") + "; echo $? > " + exitFile
	s := newTmux(t, 80, 24, cmd)

	var screen string
	rows := map[string][]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(rows) < 2 {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "demo.log"))
			t.Fatalf("no two priced symbols on screen after 20s:\n%s\nlog:\n%s", screen, log)
		}
		time.Sleep(200 * time.Millisecond)
		screen = s.capture()
		for _, m := range rowRE.FindAllStringSubmatch(screen, -1) {
			rows[m[1]] = m[2:]
		}
	}
	// The demo runs over TLS: the status line says so.
	if !strings.Contains(screen, "connected") || !regexp.MustCompile(`wss://127\.0\.0\.1:\d+/ws  TLS 1\.\d`).MatchString(screen) {
		t.Errorf("status line lacks state, server address or TLS:\n%s", screen)
	}
	for _, line := range strings.Split(strings.TrimRight(screen, "\n"), "\n") {
		if w := len([]rune(line)); w > 80 {
			t.Errorf("line wider than 80 cells (%d): %q", w, line)
		}
	}

	// Ages count: over a few reads a symbol's age string must change.
	ages := map[string]bool{}
	for range 6 {
		time.Sleep(400 * time.Millisecond)
		for _, m := range rowRE.FindAllStringSubmatch(s.capture(), -1) {
			if m[1] == "EURUSD" {
				ages[m[5]] = true
			}
		}
	}
	if len(ages) < 2 {
		t.Errorf("EURUSD age did not change across reads: %v", ages)
	}

	s.run("send-keys", "-t", s.name, "q")
	for end := time.Now().Add(5 * time.Second); s.alive(); {
		if time.Now().After(end) {
			t.Fatalf("demo still running 5s after q:\n%s", s.capture())
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, err := os.ReadFile(exitFile)
	if err != nil || strings.TrimSpace(string(code)) != "0" {
		t.Fatalf("demo exit status %q (%v)", code, err)
	}
}
