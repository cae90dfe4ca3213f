package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tickwire/auth"
	"tickwire/bench"
	"tickwire/client"
	"tickwire/protocol"
)

const (
	// hostileConns pre-auth connections are open at once, then each sends
	// one hostile first message. Thousands, as issue 17 asks, yet the
	// attacker process (this test binary, with -race) opens them in about
	// a second on 2 shared cores; it and the server hold one socket per
	// connection each, far under the open-file limit the test checks.
	hostileConns = 2400
	// hostileRSSMiB bounds the server's RSS under this attack (docs/limits.md):
	// about 15 MiB at rest, 10 KiB per open connection (24 MiB here) and the
	// buffer of each message being read (up to the 64 KiB --max-message: half
	// the messages are that large), of which the server holds a few hundred
	// at once; measured 39-50 MiB. The code before issue 17 reached 572 MiB
	// without the 4 GiB messages, and died of them.
	hostileRSSMiB = 128
	// pricePeriod paces the authenticated subscriber's prices (50 a
	// second): their inter-arrival times are measured, quiet and under
	// attack. At 10 ms, scheduling jitter alone on 2 shared cores came
	// close to the period and failed the 2x bound 1 run in 20.
	pricePeriod = 20 * time.Millisecond
	// minSamples is the least number of inter-arrival times per phase.
	minSamples = 200
	// attackSpread is the time over which the open connections send their
	// messages, in turn (600 a second): a flood of hostile input, not one
	// instant's burst of 80 MB, a bandwidth flood that only a connection
	// budget stops.
	attackSpread = 4 * time.Second
)

// hostile is a first message a client without a credential sends, and the
// Error code the server must answer it with.
type hostile struct {
	name string
	msg  []byte // a binary message; or, for raw, bytes for the socket itself
	raw  bool
	code protocol.ErrorCode
}

// nestedArrays returns n nested one-element arrays around a nil.
func nestedArrays(n int) []byte {
	return append(bytes.Repeat([]byte{0x91}, n), 0xc0)
}

func hostileMessages() []hostile {
	// A client frame header declaring 1 GiB (masked with the zero key), and
	// just over --max-message of it.
	oversized := binary.BigEndian.AppendUint64([]byte{0x82, 0x80 | 127}, 1<<30)
	oversized = append(oversized, make([]byte, 4+64<<10+16)...)
	return []hostile{
		// Issue 17's 12 bytes: a PublishEvent whose data declares 4 GiB.
		{name: "PublishEvent declaring 4 GiB", msg: []byte{0x96, 0x0d, 0xa1, 0x74, 0xa0, 0x00, 0x00, 0xc6, 0xff, 0xff, 0xff, 0xff}, code: protocol.CodeHelloRequired},
		// A Hello whose client name declares 4 GiB.
		{name: "Hello declaring 4 GiB", msg: []byte{0x95, 0x01, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff}, code: protocol.CodeBadFrame},
		// 65,000 nested arrays in a Ping, and in a Hello's trailing element.
		{name: "Ping of 65,000 nested arrays", msg: append([]byte{0x93, 0x07, 0x05}, nestedArrays(65000)...), code: protocol.CodeHelloRequired},
		{name: "Hello of 65,000 nested arrays", msg: append([]byte{0x96, 0x01, 0x01, 0xa0, 0xa0, 0xa0}, nestedArrays(65000)...), code: protocol.CodeBadFrame},
		{name: "frame over --max-message", msg: oversized, raw: true, code: protocol.CodeTooLarge},
		{name: "garbage", msg: []byte("\xc1\xde\xad\xbe\xef not msgpack"), code: protocol.CodeBadFrame},
	}
}

// attackReport is what the attacker process found, as JSON.
type attackReport struct {
	OpenedIn, Took time.Duration
	RefusedAtDial  int            // upgrades refused (a connection budget may)
	Wrong          map[string]int // "kind: what it got" for each unexpected answer
}

// Environment of the attacker process: the server's URL, and the file for
// its report.
const (
	attackerURLEnv    = "TICKWIRE_TEST_ATTACK_URL"
	attackerReportEnv = "TICKWIRE_TEST_ATTACK_REPORT"
)

// attack opens hostileConns connections, never authenticating; once all
// are open, each sends its hostile message in turn, over attackSpread, and
// reads until its first Error (or the end of the connection).
func attack(url string) attackReport {
	kinds := hostileMessages()
	type outcome struct {
		kind    int
		dialErr error
		code    protocol.ErrorCode // first Error received; 0 for none
		end     error
	}
	start := time.Now()
	outcomes := make(chan outcome, hostileConns)
	var opened, attackers sync.WaitGroup
	fire := make(chan struct{})
	slots := make(chan struct{}, 64) // dials in flight
	opened.Add(hostileConns)
	var fired time.Time // set before fire closes
	for i := range hostileConns {
		attackers.Go(func() {
			o := outcome{kind: i % len(kinds)}
			h := kinds[o.kind]
			slots <- struct{}{}
			ws, _, err := websocket.DefaultDialer.Dial(url, nil)
			<-slots
			opened.Done()
			if err != nil {
				o.dialErr = err
				outcomes <- o
				return
			}
			defer ws.Close()
			<-fire
			<-time.After(time.Until(fired.Add(attackSpread * time.Duration(i) / hostileConns)))
			if h.raw {
				_, err = ws.NetConn().Write(h.msg)
			} else {
				err = ws.WriteMessage(websocket.BinaryMessage, h.msg)
			}
			_ = err // a write the server cut short still gets its answer read
			_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
			dec := protocol.NewDecoder()
			for o.code == 0 && o.end == nil {
				var msg []byte
				if _, msg, o.end = ws.ReadMessage(); o.end != nil {
					break
				}
				dec.Reset(msg)
				for dec.More() {
					f, err := dec.Next()
					if err != nil {
						o.end = err
						break
					}
					if e, ok := f.(*protocol.Error); ok && o.code == 0 {
						o.code = e.Code
					}
				}
			}
			outcomes <- o
		})
	}
	opened.Wait()
	r := attackReport{OpenedIn: time.Since(start), Wrong: map[string]int{}}
	fired = time.Now()
	close(fire)
	attackers.Wait()
	r.Took = time.Since(start)
	close(outcomes)
	for o := range outcomes {
		h := kinds[o.kind]
		switch {
		case o.dialErr != nil:
			r.RefusedAtDial++
		case o.code != h.code:
			r.Wrong[fmt.Sprintf("%s: Error %d (want %d), end %v", h.name, o.code, h.code, o.end)]++
		}
	}
	return r
}

// TestHostileClients: a `tickwire server` process with authentication on
// gets hostileConns connections that never authenticate, open at once, then
// each sending a hostile first message over attackSpread (issue 17: declared lengths of
// 4 GiB, 65,000 nested arrays, a frame over the size limit, garbage). Each
// is refused with the Error its message deserves, while an authenticated
// subscriber keeps receiving a publisher's prices: the p99 of their
// inter-arrival times stays under twice its value measured before the
// attack (the larger of its values before and after: other processes on
// the machine come and go; the attack is repeated up to three times for
// the same reason), and the server's RSS stays under
// hostileRSSMiB. The attackers run
// in a process of their own (this test binary again), so that their work
// does not delay the subscriber's reads in this one: what is measured is
// the server.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile clients against the real binary: slow; make test runs it")
	}
	if url := os.Getenv(attackerURLEnv); url != "" {
		b, err := json.Marshal(attack(url))
		if err == nil {
			err = os.WriteFile(os.Getenv(attackerReportEnv), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max < hostileConns+512 {
		t.Fatalf("open-file limit %d (%v): the test needs %d", lim.Max, err, hostileConns+512)
	}
	bin := buildBinary(t)
	privFile, pubFile, err := auth.WriteKeyPair(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := auth.LoadPrivateKey(privFile)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(o auth.MintOptions) string {
		o.TTL = time.Hour
		tok, err := auth.Mint(priv, o)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	addr := loopbackAddr(t)
	// The handshake timeout outlasts the opening of all connections, so
	// every one is still waiting for its Hello when the messages go. The
	// pre-Hello budget is lifted (its defaults would refuse all but 64 of
	// these at the upgrade, TestPreHelloBudget): every hostile message must
	// reach the decoder, the worst case.
	srv := startServerProcess(t, bin, "--listen", addr, "--auth-pubkey", pubFile, "--handshake-timeout", "60s",
		"--max-pre-hello", "0", "--max-pre-hello-per-addr", "0", "--log-level", "error")
	pid := srv.cmd.Process.Pid
	url := "ws://" + addr + "/ws"
	dial := func(tok string, extra ...protocol.Frame) *client.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, url, protocol.Hello{Client: "hostile-test", Token: tok}, extra...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	pub := dial(mint(auth.MintOptions{Subject: "feed", Roles: []string{auth.RolePublisher}, Topics: []string{"EURUSD"}}))
	sub := dial(mint(auth.MintOptions{Subject: "ann", Roles: []string{auth.RoleTrader}, Topics: []string{"EURUSD"}}),
		&protocol.Subscribe{Topics: []string{"EURUSD"}})

	// The subscriber records inter-arrival times into the current phase's
	// histogram; the server's RSS is sampled all along.
	const (
		before = iota
		attacked
		after
	)
	var (
		hists  [3]bench.Hist
		phase  atomic.Int32
		maxRSS [3]atomic.Int64 // KiB
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		_ = pub.Close()
		_ = sub.Close()
		wg.Wait()
	}()
	subErr := make(chan error, 1)
	wg.Go(func() {
		var last time.Time
		for {
			err := sub.Read(func(f protocol.Frame) error {
				switch f := f.(type) {
				case *protocol.Price:
					now := time.Now()
					if !last.IsZero() {
						hists[phase.Load()].Record(now.Sub(last))
					}
					last = now
				case *protocol.Ping:
					return sub.Send(&protocol.Pong{Nonce: f.Nonce})
				case *protocol.Error:
					return f
				}
				return nil
			})
			if err != nil {
				subErr <- err
				return
			}
		}
	})
	wg.Go(func() {
		tick := time.NewTicker(pricePeriod)
		defer tick.Stop()
		var q protocol.Quote
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			q.Put(protocol.Bid, 1+float64(i%1000)/1e4)
			if err := pub.Send(&protocol.Price{Type: protocol.TypePublish, Topic: "EURUSD", Time: time.Now().UnixNano(), Quote: q}); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p, err := bench.ReadProc(pid)
			if err != nil {
				continue // exited: the test reports it
			}
			m := &maxRSS[phase.Load()]
			m.Store(max(m.Load(), p.RSSKiB))
		}
	})
	waitSamples := func(what string) {
		t.Helper()
		h := &hists[phase.Load()]
		deadline := time.Now().Add(30 * time.Second)
		for h.Count() < minSamples {
			select {
			case err := <-subErr:
				t.Fatalf("%s: the subscriber stopped: %v", what, err)
			case <-srv.done:
				t.Fatalf("%s: the server exited: %s", what, srv.stderr.String())
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d prices within 30s", what, h.Count())
			}
		}
	}
	waitSamples("before the attack")

	// The attack, up to three times: the machine is shared, and another
	// process's burst during the attack's few seconds can double a p99 of
	// a few hundred samples by itself; a server that the attack slows fails
	// every attempt. Everything else must hold in each.
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			hists[attacked].Reset()
			maxRSS[attacked].Store(0)
		}
		phase.Store(attacked)
		r := runAttacker(t, url)
		waitSamples("under attack")
		hists[after].Reset()
		phase.Store(after)
		waitSamples("after the attack")

		// Every hostile message was refused with the Error it deserves, and
		// every one was sent: with the pre-Hello budget lifted, a refused
		// upgrade would mean the attack never reached the decoder.
		for w, n := range r.Wrong {
			t.Errorf("%d× %s", n, w)
		}
		if r.RefusedAtDial > 0 {
			t.Errorf("%d of %d hostile connections were not opened: their messages were never sent", r.RefusedAtDial, hostileConns)
		}
		select {
		case <-srv.done:
			t.Fatalf("the server exited: %s", srv.stderr.String())
		default:
		}

		q99 := max(hists[before].Quantile(0.99), hists[after].Quantile(0.99))
		a99 := hists[attacked].Quantile(0.99)
		rss := maxRSS[attacked].Load()
		t.Logf("attempt %d: %d hostile connections: opened in %s, all answered in %s (%d refused at the upgrade)", attempt, hostileConns, r.OpenedIn.Round(time.Millisecond), r.Took.Round(time.Millisecond), r.RefusedAtDial)
		t.Logf("price inter-arrival p99: before %s, under attack %s (%d samples), after %s",
			hists[before].Quantile(0.99), a99, hists[attacked].Count(), hists[after].Quantile(0.99))
		t.Logf("server RSS max: before %d MiB, under attack %d MiB (bound %d MiB), after %d MiB",
			maxRSS[before].Load()>>10, rss>>10, hostileRSSMiB, maxRSS[after].Load()>>10)
		if rss > hostileRSSMiB<<10 {
			t.Errorf("server RSS reached %d MiB under attack (bound %d MiB)", rss>>10, hostileRSSMiB)
		}
		if t.Failed() || a99 <= 2*q99 {
			return
		}
		if attempt == 3 {
			t.Fatalf("price inter-arrival p99 %s under attack, over twice its quiet %s, in %d attempts", a99, q99, attempt)
		}
	}
}

// runAttacker runs the attack from a process of its own and returns its
// report. At the lowest priority: a real attacker's work is done on its own
// machines, not on the server's cores.
func runAttacker(t *testing.T, url string) attackReport {
	t.Helper()
	report := filepath.Join(t.TempDir(), "attack.json")
	cmd := exec.Command("nice", "-n", "19", os.Args[0], "-test.run=^TestHostileClients$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), attackerURLEnv+"="+url, attackerReportEnv+"="+report)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("attacker: %v\n%s", err, out)
	}
	var r attackReport
	if b, err := os.ReadFile(report); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
