package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tickwire/client"
	"tickwire/internal/flagfile"
	"tickwire/protocol"
)

// testFlags is a command's flag set for the config tests.
type testFlags struct {
	fs                     *flag.FlagSet
	fromFile, fromEnv, arg *string
	dflt                   *string
	wait                   *time.Duration
	n                      *int
	on                     *bool
	list                   *string
}

func newTestFlags() *testFlags {
	fs := flag.NewFlagSet("cfgtest", flag.ContinueOnError)
	return &testFlags{
		fs:       fs,
		fromFile: fs.String("from-file", "default", ""),
		fromEnv:  fs.String("from-env", "default", ""),
		arg:      fs.String("arg", "default", ""),
		dflt:     fs.String("untouched", "default", ""),
		wait:     fs.Duration("wait", time.Second, ""),
		n:        fs.Int("n", 1, ""),
		on:       fs.Bool("on", false, ""),
		list:     fs.String("symbols", "", "comma-separated"),
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigPrecedence: file < env < flag, defaults for the rest; list values
// join with commas; typed values parse.
func TestConfigPrecedence(t *testing.T) {
	p := writeConfig(t, `# a comment
from-file: file
from-env: file
arg: file
wait: 2m
n: 42
on: true
symbols: [EURUSD, NZDUSD]
`)
	t.Setenv("TICKWIRE_FROM_ENV", "env")
	t.Setenv("TICKWIRE_ARG", "env")
	f := newTestFlags()
	var out, errb bytes.Buffer
	if err := parseFlags(f.fs, []string{"--config", p, "--arg", "flag"}, &out, &errb); err != nil {
		t.Fatalf("parseFlags: %v (%s)", err, errb.String())
	}
	got := map[string]any{"from-file": *f.fromFile, "from-env": *f.fromEnv, "arg": *f.arg, "untouched": *f.dflt,
		"wait": *f.wait, "n": *f.n, "on": *f.on, "symbols": *f.list}
	want := map[string]any{"from-file": "file", "from-env": "env", "arg": "flag", "untouched": "default",
		"wait": 2 * time.Minute, "n": 42, "on": true, "symbols": "EURUSD,NZDUSD"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestConfigFromEnv: TICKWIRE_CONFIG names the file; the environment alone
// sets flags; an empty variable is ignored.
func TestConfigFromEnv(t *testing.T) {
	p := writeConfig(t, "from-file: file\nn: 7\n")
	t.Setenv("TICKWIRE_CONFIG", p)
	t.Setenv("TICKWIRE_WAIT", "3s")
	t.Setenv("TICKWIRE_UNTOUCHED", "")
	f := newTestFlags()
	if err := parseFlags(f.fs, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if *f.fromFile != "file" || *f.n != 7 || *f.wait != 3*time.Second || *f.dflt != "default" {
		t.Errorf("from-file %q n %d wait %v untouched %q", *f.fromFile, *f.n, *f.wait, *f.dflt)
	}
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{"listen": "TICKWIRE_LISTEN", "log-level": "TICKWIRE_LOG_LEVEL",
		"max-connections": "TICKWIRE_MAX_CONNECTIONS", "fix-venue-latency": "TICKWIRE_FIX_VENUE_LATENCY"} {
		if got := flagfile.EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
	// The name is the one ff reads: a variable set that way reaches the flag.
	t.Setenv("TICKWIRE_MAX_CONNECTIONS", "5")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("max-connections", 1, "")
	if err := parseFlags(fs, nil, io.Discard, io.Discard); err != nil || *n != 5 {
		t.Fatalf("max-connections %d, err %v", *n, err)
	}
}

// TestConfigErrors: every bad file or variable is a usage error (exit 2)
// naming the file, the line and the key; nothing is half-applied silently.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		env        [2]string
		want       []string // substrings of the message; "FILE" is the path
	}{
		{name: "unknown key", body: "n: 2\nbogus: 1\n", want: []string{"FILE:2", `"bogus"`, "unknown key"}},
		{name: "bad int", body: "n: two\n", want: []string{"FILE:1", `"n"`, `invalid value "two"`, "(int)"}},
		{name: "bad duration", body: "\n\nwait: soon\n", want: []string{"FILE:3", `"wait"`, `"soon"`, "duration"}},
		{name: "bad bool", body: "on: yes\n", want: []string{"FILE:1", `"on"`, "true or false"}},
		{name: "bad yaml", body: "n: [1, 2\n", want: []string{"config FILE", "yaml:"}},
		{name: "not a mapping", body: "- n\n- 2\n", want: []string{"FILE:1", "mapping"}},
		{name: "nested", body: "wait:\n  a: 1\n", want: []string{"FILE:2", `"wait"`, "nested"}},
		{name: "no value", body: "from-file:\n", want: []string{"FILE:1", `"from-file"`, "no value"}},
		{name: "twice", body: "n: 1\nn: 2\n", want: []string{"FILE:2", `"n"`, "twice", "line 1"}},
		{name: "bad env", env: [2]string{"TICKWIRE_WAIT", "soon"}, want: []string{"TICKWIRE_WAIT", `"wait"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{}
			p := ""
			if tc.body != "" {
				p = writeConfig(t, tc.body)
				args = append(args, "--config", p)
			}
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			f := newTestFlags()
			err := parseFlags(f.fs, args, io.Discard, io.Discard)
			if !errors.As(err, new(usageError)) {
				t.Fatalf("err %v (%T), want a usageError", err, err)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "FILE", p); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope.yaml")
		err := parseFlags(newTestFlags().fs, []string{"--config", p}, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "--config") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("exit status", func(t *testing.T) {
		p := writeConfig(t, "listen: 127.0.0.1:0\nlisten-address: x\n")
		var out, errb bytes.Buffer
		if code := run([]string{"server", "--config", p}, &out, &errb); code != 2 ||
			!strings.Contains(errb.String(), p+":2") || !strings.Contains(errb.String(), `"listen-address"`) {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	})
}

// TestConfigHelp: every command's --help lists --config and explains the
// environment variables and the precedence.
func TestConfigHelp(t *testing.T) {
	for _, args := range [][]string{{"server"}, {"trader"}, {"demo"}, {"replay"}, {"record"}, {"fixclient"}, {"soak"}, {"bench", "pingpong"}} {
		var out, errb bytes.Buffer
		if code := run(append(args, "--help"), &out, &errb); code != 0 {
			t.Fatalf("%v --help: exit %d %s", args, code, errb.String())
		}
		h := out.String()
		for _, w := range []string{"-config FILE", "TICKWIRE_<FLAG>", "Precedence: command line, then\nenvironment, then config file"} {
			if !strings.Contains(h, w) {
				t.Errorf("%v --help does not mention %q:\n%s", args, w, h)
			}
		}
	}
}

// serverFlagNames returns the flags `tickwire server --help` lists.
func serverFlagNames(t *testing.T) []string {
	t.Helper()
	var out bytes.Buffer
	if code := run([]string{"server", "--help"}, &out, io.Discard); code != 0 {
		t.Fatalf("server --help: exit %d", code)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(out.String(), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("server --help lists %v", names)
	}
	return names
}

const exampleConfig = "../../configs/server.example.yaml"

// TestServerExampleConfig: the shipped example holds only server flags, and
// its values land in them.
func TestServerExampleConfig(t *testing.T) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	vals := make(map[string]*string)
	for _, n := range serverFlagNames(t) {
		vals[n] = fs.String(n, "<unset>", "")
	}
	if err := parseFlags(fs, []string{"--config", exampleConfig}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"listen": "127.0.0.1:8080", "name": "tickwire-1", "heartbeat": "1s", "max-connections": "10000",
		"stale-after": "10s", "log": "", "log-level": "info", "sync": "always", "linger": "30s", "retain": "0", "retain-age": "0s",
		"replay": "", "speed": "1", "loop": "true", "skip-bad": "false", "data": "<unset>", "fix-config": "<unset>"}
	for k, v := range want {
		if p := vals[k]; p == nil || *p != v {
			t.Errorf("%s = %v, want %q", k, p, v)
		}
	}
}

// startConfiguredServer runs bin server with args and extra environment
// variables, and returns the address it says it listens on.
func startConfiguredServer(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer // read only after exit
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "tickwire server listening on "); ok && !sent {
				addr <- a
				sent = true
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	select {
	case a := <-addr:
		return a
	case <-done:
		t.Fatalf("server exited: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not listen within 30s")
	}
	return ""
}

// TestServerConfigProcess: real `tickwire server --config FILE` processes.
// The file's listen address and name take effect; an environment variable
// beats the file (heartbeat) and a flag beats both (listen, with the example).
func TestServerConfigProcess(t *testing.T) {
	bin := buildBinary(t)
	addr := loopbackAddr(t)
	p := writeConfig(t, "listen: "+addr+"\nname: from-the-file\nheartbeat: 700ms\nlog-level: warn\n")
	welcome := func(url string) protocol.Welcome {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, url, protocol.Hello{Version: protocol.Version, Client: "config-test"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Welcome
	}

	got := startConfiguredServer(t, bin, []string{"TICKWIRE_HEARTBEAT=1500ms"}, "--config", p)
	if want := "ws://" + addr + "/ws"; got != want {
		t.Fatalf("listening on %s, want %s (the file's)", got, want)
	}
	w := welcome(got)
	if w.Server != "from-the-file" || w.HeartbeatMs != 1500 {
		t.Errorf("welcome: server %q heartbeat %dms, want from-the-file and 1500 (env over file)", w.Server, w.HeartbeatMs)
	}

	got = startConfiguredServer(t, bin, nil, "--config", exampleConfig, "--listen", "127.0.0.1:0", "--log-level", "warn")
	if strings.Contains(got, ":8080/") {
		t.Fatalf("listening on %s: the flag did not beat the file", got)
	}
	if w := welcome(got); w.Server != "tickwire-1" || w.HeartbeatMs != 1000 {
		t.Errorf("example: server %q heartbeat %dms, want tickwire-1 and 1000", w.Server, w.HeartbeatMs)
	}
}

// TestTraderConfigKeys: the trader's --config holds dashboard settings and
// flag values side by side, in YAML or JSON; unknown keys are still refused.
func TestTraderConfigKeys(t *testing.T) {
	p := writeConfig(t, `title: desk 3
servers:
  - url: ws://127.0.0.1:1/ws
    role: primary
watchlist: [EURUSD]
thresholds: {EURUSD: 2s}
colors: {up: 2, accent: "#00afff"}
paper: true
stale-after: 7s
`)
	fs := flag.NewFlagSet("trader", flag.ContinueOnError)
	var tf traderFlags
	tf.register(fs, "EURUSD,NZDUSD")
	if err := parseFlags(fs, []string{"--config", p}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !tf.paper || tf.staleAfter != 7*time.Second {
		t.Errorf("flags from the file: paper %v stale-after %v", tf.paper, tf.staleAfter)
	}
	fc, err := tf.fileConfig()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Title != "desk 3" || len(fc.Servers) != 1 || fc.Servers[0].Role != "primary" || fc.Colors["up"] != "2" ||
		time.Duration(fc.Thresholds["EURUSD"]) != 2*time.Second {
		t.Errorf("dashboard config: %+v", fc)
	}

	j := writeConfig(t, "{\n\t\"title\": \"json\",\n\t\"watchlist\": [\"NZDUSD\"],\n\t\"stale_after\": \"5s\"\n}\n")
	fs = flag.NewFlagSet("trader", flag.ContinueOnError)
	tf = traderFlags{}
	tf.register(fs, "EURUSD,NZDUSD")
	if err := parseFlags(fs, []string{"--config", j}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if fc, err := tf.fileConfig(); err != nil || fc.Title != "json" || fc.Watchlist[0] != "NZDUSD" {
		t.Fatalf("JSON config: %+v %v", fc, err)
	}

	bad := writeConfig(t, "title: x\nwatchlst: [EURUSD]\n")
	fs = flag.NewFlagSet("trader", flag.ContinueOnError)
	tf.register(fs, "")
	if err := parseFlags(fs, []string{"--config", bad}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `"watchlst"`) {
		t.Fatalf("misspelt key: %v", err)
	}
}
