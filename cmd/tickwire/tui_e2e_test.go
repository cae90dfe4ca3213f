package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTraderUnderTmux drives `tickwire trader` in a real terminal against a
// real `tickwire server` process on loopback, the way a trader lives it:
//
//  1. both symbols tick; the status bar names the state, server and node;
//  2. one symbol's source stops (POST /sources/pause/NZDUSD): its row alone
//     is marked FEED-STALE (the server's --stale-after) and an alert says so;
//     resumed, it recovers with an alert;
//  3. paused again, the connection is cut (the server is killed): every row
//     is FROZEN, the status bar counts reconnect attempts down, an alert
//     says the link is down;
//  4. the server comes back on the same port: connected again, rows fresh,
//     alerts for the reconnect and the gap recovery.
func TestTraderUnderTmux(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	replay := writeTicks(t, dir, 10*time.Minute, 100*time.Millisecond)
	addr := freeAddr(t)
	url := "ws://" + addr + "/ws"
	srv := startServer(t, bin, dir, addr, replay)
	cfg := filepath.Join(dir, "trader.json")
	writeFile(t, cfg, fmt.Sprintf(`{
  "title": "e2e trader",
  "servers": [{"url": %q, "role": "primary"}],
  "watchlist": ["EURUSD", "NZDUSD"],
  "stale_after": "5s",
  "thresholds": {"NZDUSD": "2s"}
}`, url))
	traderLog := filepath.Join(dir, "trader.log")
	s := newTmux(t, 100, 30, bin+" trader --config "+cfg+" --log "+traderLog)
	w := &screenWaiter{t: t, s: s, logs: []string{traderLog, srv.log}}

	// 1. Live.
	w.until("both symbols priced and connected", 20*time.Second, func(sc *screen) bool {
		return sc.priced("EURUSD") && sc.priced("NZDUSD") && sc.mark("EURUSD") == "" && sc.mark("NZDUSD") == "" &&
			strings.Contains(sc.text, "● connected  "+url+"  node e2e (primary)  session new")
	})
	w.until("the title from the config", time.Second, func(sc *screen) bool { return strings.Contains(sc.text, "e2e trader") })

	// 2. One symbol's source stops, then resumes.
	staleMark, staleAlert := "FEED-STALE", `NZDUSD feed stale: the server says its source is silent`
	post(t, "http://"+addr+"/sources/pause/NZDUSD")
	w.until("NZDUSD alone marked "+staleMark+", with an alert", 10*time.Second, func(sc *screen) bool {
		return sc.mark("NZDUSD") == staleMark && sc.mark("EURUSD") == "" && sc.alert("WARN", staleAlert) &&
			strings.Contains(sc.text, "● connected")
	})
	post(t, "http://"+addr+"/sources/resume/NZDUSD")
	w.until("NZDUSD recovered", 10*time.Second, func(sc *screen) bool {
		return sc.mark("NZDUSD") == "" && sc.alert("info", "NZDUSD recovered after")
	})
	post(t, "http://"+addr+"/sources/pause/NZDUSD")
	w.until("NZDUSD stale again", 10*time.Second, func(sc *screen) bool { return sc.mark("NZDUSD") == staleMark })

	// 3. The connection is cut.
	srv.kill(t)
	cut := w.until("every row FROZEN, reconnecting with a countdown, a link-down alert", 15*time.Second, func(sc *screen) bool {
		return sc.mark("EURUSD") == "FROZEN" && sc.mark("NZDUSD") == "FROZEN" &&
			regexp.MustCompile(`○ reconnecting #([2-9]|\d\d+) in \d+\.\ds  → `+regexp.QuoteMeta(url)+`  down \d`).MatchString(sc.text) &&
			sc.alert("ERROR", "link down, prices FROZEN")
	})
	if !strings.Contains(cut.text, "connection refused") {
		t.Errorf("the status bar does not say why the retries fail:\n%s", cut.text)
	}

	// 4. The server comes back: a new process on the same port, every source live.
	startServer(t, bin, dir, addr, replay) // stopped by the test's cleanup
	w.until("connected again, rows fresh, reconnect and gap-recovery alerts", 20*time.Second, func(sc *screen) bool {
		return strings.Contains(sc.text, "● connected  "+url) && sc.priced("EURUSD") && sc.priced("NZDUSD") &&
			(sc.mark("EURUSD") == "" || sc.mark("EURUSD") == "gap") && (sc.mark("NZDUSD") == "" || sc.mark("NZDUSD") == "gap") &&
			sc.alert("info", "reconnected to "+regexp.QuoteMeta(url+" node e2e (primary) after")) &&
			sc.alert("info", `(EURUSD, )?NZDUSD gap-recovered after reconnect`) &&
			sc.alert("info", `EURUSD(, NZDUSD)? gap-recovered after reconnect`) &&
			sc.alert("info", "NZDUSD recovered after")
	})

	s.run("send-keys", "-t", s.name, "q")
	for end := time.Now().Add(5 * time.Second); s.alive(); {
		if time.Now().After(end) {
			t.Fatalf("trader still running 5s after q:\n%s", s.capture())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b, _ := os.ReadFile(traderLog); !strings.Contains(string(b), `"msg":"dashboard"`) {
		t.Errorf("the trader logs to its --log file; it holds:\n%s", b)
	}
}

// screen is one capture of the terminal.
type screen struct{ text string }

// cells returns a board row's cells: symbol, bid, ask, spread, Δ, age, state, ...
func (sc *screen) cells(sym string) []string {
	for _, l := range strings.Split(sc.text, "\n") {
		if !strings.HasPrefix(l, "│ "+sym+" ") {
			continue
		}
		parts := strings.Split(l, "│")
		var out []string
		for _, p := range parts[1 : len(parts)-1] {
			out = append(out, strings.TrimSpace(p))
		}
		return out
	}
	return nil
}

var priceRE = regexp.MustCompile(`^\d+\.\d+$`)

func (sc *screen) priced(sym string) bool {
	c := sc.cells(sym)
	return len(c) >= 7 && priceRE.MatchString(c[1]) && priceRE.MatchString(c[2])
}

// mark is a row's STATE cell, "?" if the row is not on screen.
func (sc *screen) mark(sym string) string {
	if c := sc.cells(sym); len(c) >= 7 {
		return c[6]
	}
	return "?"
}

// alert reports whether an alert line of the level starts with text, a
// regular expression.
func (sc *screen) alert(level, text string) bool {
	re := regexp.MustCompile(`(?m)^  \d\d:\d\d:\d\d ` + regexp.QuoteMeta(fmt.Sprintf("%-5s", level)) + ` ` + text)
	return re.MatchString(sc.text)
}

// screenWaiter polls the terminal until a condition holds.
type screenWaiter struct {
	t    *testing.T
	s    *tmuxSession
	logs []string
}

func (w *screenWaiter) until(what string, timeout time.Duration, cond func(*screen) bool) *screen {
	w.t.Helper()
	sc := &screen{}
	for end := time.Now().Add(timeout); ; {
		sc.text = w.s.capture()
		if cond(sc) {
			return sc
		}
		if time.Now().After(end) {
			var logs strings.Builder
			for _, l := range w.logs {
				b, _ := os.ReadFile(l)
				fmt.Fprintf(&logs, "--- %s (last 3000 bytes)\n%s\n", l, tail(b, 3000))
			}
			w.t.Fatalf("after %v, not yet: %s\n%s\n%s", timeout, what, sc.text, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// serverProc is a `tickwire server` child process.
type serverProc struct {
	cmd *exec.Cmd
	log string
}

// startServer starts `tickwire server` on addr replaying file in a loop, and
// waits until it answers /healthz.
func startServer(t *testing.T, bin, dir, addr, file string) *serverProc {
	t.Helper()
	log := filepath.Join(dir, "server.log")
	args := []string{"server", "--listen", addr, "--name", "e2e", "--replay", file, "--speed", "1", "--loop", "--log", log, "--stale-after", "1s"}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, log: log}
	t.Cleanup(func() { p.kill(t) })
	started := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(out)
		var first []string
		for sc.Scan() {
			if len(first) < 20 {
				first = append(first, sc.Text())
			}
			if strings.Contains(sc.Text(), "listening on") {
				started <- ""
			}
		}
		started <- strings.Join(first, "\n")
	}()
	select {
	case msg := <-started:
		if msg != "" {
			t.Fatalf("server did not start: %s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start in 10s")
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(end) {
			t.Fatalf("server on %s does not answer /healthz", addr)
		}
	}
}

// kill cuts the server off at once, as a crash or a pulled cable would.
func (p *serverProc) kill(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeTicks writes an OANDA-format file of EURUSD and NZDUSD quotes, one of
// each every step, for d.
func writeTicks(t *testing.T, dir string, d, step time.Duration) string {
	var b strings.Builder
	b.WriteString("ts_utc,symbol,bid,ask\n")
	start := time.Date(2014, 5, 8, 12, 0, 0, 0, time.UTC)
	for i := 0; time.Duration(i)*step < d; i++ {
		at := start.Add(time.Duration(i) * step)
		w := float64(i%40-20) / 100000
		fmt.Fprintf(&b, "%s,EURUSD,%.5f,%.5f\n", at.Format("2006-01-02T15:04:05.000Z"), 1.39225+w, 1.39238+w)
		fmt.Fprintf(&b, "%s,NZDUSD,%.5f,%.5f\n", at.Add(step/2).Format("2006-01-02T15:04:05.000Z"), 0.86478-w, 0.86502-w)
	}
	p := filepath.Join(dir, "ticks.csv")
	writeFile(t, p, b.String())
	return p
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}
