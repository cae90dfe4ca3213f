package fix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tickwire/fix"
)

// TestDataDirsArePrivate: the gateway creates its data directory, message
// store and file logs 0700 (quickfix would make them 0755 and its files in
// them readable by others: they hold every order), and refuses, with the
// fix named, a store or log directory others may enter or write to, a data
// directory others may write to, or any of them owned by another user.
func TestDataDirsArePrivate(t *testing.T) {
	dir := t.TempDir()
	data, logs := filepath.Join(dir, "data"), filepath.Join(dir, "logs")
	store := filepath.Join(data, "fixstore")
	text := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=0\nFileLogPath=" + logs + "\n" +
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=GW\nTargetCompID=CL\nTickwireAccounts=*\nTickwireOpenLogon=Y\n"
	newGateway := func() error {
		t.Helper()
		s, err := fix.ParseSettings(strings.NewReader(text), "")
		if err != nil {
			t.Fatal(err)
		}
		gw, err := fix.New(fix.Config{Settings: s, DataDir: data, Logger: testLogger(t)})
		if err != nil {
			return err
		}
		return gw.Stop()
	}
	if err := newGateway(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{data, store, logs} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: mode %v, %v; want 0700", d, fi.Mode().Perm(), err)
		}
		if entries, _ := os.ReadDir(d); len(entries) == 0 {
			t.Errorf("%s is empty: the gateway did not use it", d)
		}
	}

	const otherUID = 54321
	for _, tc := range []struct {
		name    string
		path    string
		mode    os.FileMode
		chown   bool
		wantFix string
	}{
		{"readable store", store, 0o755, false, "chmod 700 " + store},
		{"world-writable store", store, 0o777, false, "chmod 700 " + store},
		{"readable logs", logs, 0o750, false, "chmod 700 " + logs},
		{"world-writable data dir", data, 0o777, false, "chmod go-w " + data},
		{"store of another user", store, 0o700, true, "chown"},
		{"logs of another user", logs, 0o700, true, "chown"},
		{"data dir of another user", data, 0o700, true, "chown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown {
				if os.Geteuid() != 0 {
					t.Skip("giving a directory to another user needs root (CI runs as root)")
				}
				if err := os.Chown(tc.path, otherUID, otherUID); err != nil {
					t.Fatal(err)
				}
				defer os.Chown(tc.path, os.Geteuid(), os.Getegid())
			}
			if err := os.Chmod(tc.path, tc.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tc.path, 0o700)
			if err := newGateway(); err == nil || !strings.Contains(err.Error(), tc.wantFix) {
				t.Fatalf("New: %v; want a refusal saying %q", err, tc.wantFix)
			}
		})
	}
	if err := newGateway(); err != nil {
		t.Fatalf("after the fixes: %v", err)
	}
}
