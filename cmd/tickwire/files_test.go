package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerFilesArePrivate runs `tickwire server` with every file and
// directory it keeps (--data, --log, --tls-self-signed, a FIX gateway with
// file logs) and checks what it created is private; then starts it on
// ones others could read, change or own, and checks each is refused, exit
// status 1, with the fix named.
func TestServerFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	// fixConfig writes a FIX settings file for one session (quickfix
	// allows each SessionID once per process).
	fixConfig := func(name, sender string) string {
		cfg := at(name)
		if err := os.WriteFile(cfg, []byte("[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\n"+
			"FileLogPath="+at("fixlogs")+"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID="+sender+"\nTargetCompID=CLF\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := fixConfig("fix.cfg", "TWF")
	inProcessServer(t, "--listen", "127.0.0.1:0", "--data", at("data"), "--log", at("server.log"), "--log-level", "warn",
		"--tls-self-signed", at("tls"), "--fix-config", cfg, "--fix-data", at("fixdata"), "--insecure-open")
	for path, want := range map[string]os.FileMode{
		at("data"): 0o700, at("data/session.key"): 0o600, at("data/journal.db"): 0o600, at("server.log"): 0o600,
		at("tls"): 0o700, at("tls/key.pem"): 0o600, at("fixdata"): 0o700, at("fixdata/fixstore"): 0o700, at("fixlogs"): 0o700,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}

	// refused runs the server with args and wants it to stop at start with
	// an error (exit status 1) naming fix; a server that starts fails the
	// test at once.
	refused := func(t *testing.T, fix string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out, errb := &rrBuffer{}, &rrBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- runServer(ctx, append([]string{"--listen", "127.0.0.1:0", "--log-level", "warn"}, args...), out, errb)
		}()
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			select {
			case err := <-done:
				if err == nil || errors.As(err, new(usageError)) || !strings.Contains(err.Error(), fix) {
					t.Fatalf("server: %v; want an error (status 1) saying %q", err, fix)
				}
				return
			default:
			}
			if strings.Contains(out.String(), "listening on") || time.Now().After(end) {
				cancel()
				<-done
				t.Fatalf("the server started; want a refusal saying %q", fix)
			}
		}
	}
	mkdir := func(t *testing.T, mode os.FileMode) string {
		d := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	write := func(t *testing.T, path string, mode os.FileMode) {
		// A valid session secret, so only its mode is wrong.
		if err := os.WriteFile(path, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	chownOther := func(t *testing.T, path string) {
		if os.Geteuid() != 0 {
			t.Skip("giving a file to another user needs root (CI runs as root)")
		}
		if err := os.Chown(path, 54321, 54321); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("world-writable data dir", func(t *testing.T) {
		d := mkdir(t, 0o777)
		refused(t, "chmod go-w "+d, "--data", d)
	})
	t.Run("readable session key", func(t *testing.T) {
		d := mkdir(t, 0o700)
		key := filepath.Join(d, "session.key")
		write(t, key, 0o644)
		refused(t, "chmod 600 "+key, "--data", d)
	})
	t.Run("data dir of another user", func(t *testing.T) {
		d := mkdir(t, 0o700)
		chownOther(t, d)
		refused(t, "chown", "--data", d)
	})
	t.Run("planted self-signed pair", func(t *testing.T) {
		// The case: a 0666 key.pem in a 0777 directory.
		d := mkdir(t, 0o777)
		write(t, filepath.Join(d, "key.pem"), 0o666)
		refused(t, "chmod go-w "+d, "--tls-self-signed", d)
	})
	t.Run("world-writable log", func(t *testing.T) {
		log := filepath.Join(mkdir(t, 0o700), "server.log")
		write(t, log, 0o666)
		refused(t, "chmod go-w "+log, "--log", log)
	})
	t.Run("log of another user", func(t *testing.T) {
		log := filepath.Join(mkdir(t, 0o700), "server.log")
		write(t, log, 0o644)
		chownOther(t, log)
		refused(t, "chown", "--log", log)
	})
	t.Run("readable FIX store", func(t *testing.T) {
		d := mkdir(t, 0o700)
		store := filepath.Join(d, "fixstore")
		if err := os.Mkdir(store, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(store, 0o755); err != nil {
			t.Fatal(err)
		}
		refused(t, "chmod 700 "+store, "--fix-config", fixConfig("fix2.cfg", "TWF2"), "--fix-data", d, "--insecure-open")
	})
}
