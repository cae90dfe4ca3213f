package fix

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"tickwire/fix/spec"
)

// pathSettings are the settings whose relative values LoadSettings resolves
// against the settings file's directory.
var pathSettings = map[string]bool{
	config.DataDictionary:          true,
	config.AppDataDictionary:       true,
	config.TransportDataDictionary: true,
	config.FileStorePath:           true,
	config.FileLogPath:             true,
	config.SocketCertificateFile:   true,
	config.SocketPrivateKeyFile:    true,
	config.SocketCAFile:            true,
}

// LoadSettings reads a standard QuickFIX settings file ([DEFAULT] and
// [SESSION] sections of Key=Value lines). Relative paths in DataDictionary,
// AppDataDictionary, TransportDataDictionary, FileStorePath, FileLogPath and
// the TLS files (SocketCertificateFile, SocketPrivateKeyFile, SocketCAFile)
// are resolved against the directory of the file, so a configuration works
// from any working directory.
func LoadSettings(path string) (*quickfix.Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fix: settings: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("fix: settings: %w", err)
	}
	s, err := ParseSettings(bytes.NewReader(data), filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("fix: settings %s: %w", path, err)
	}
	return s, nil
}

// ParseSettings parses QuickFIX settings from r, resolving relative paths
// (see LoadSettings) against baseDir ("" leaves them as they are).
func ParseSettings(r io.Reader, baseDir string) (*quickfix.Settings, error) {
	var out bytes.Buffer
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, "="); ok && baseDir != "" {
			key := strings.TrimSpace(k)
			val := strings.TrimSpace(v)
			if pathSettings[key] && val != "" && !filepath.IsAbs(val) {
				line = key + "=" + filepath.Join(baseDir, val)
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return quickfix.ParseSettings(&out)
}

// prepareSettings checks acceptor settings against what the gateway needs
// and fills in its defaults, in place:
//
//   - every session is a static FIX.4.4 acceptor session (DynamicSessions
//     would create sessions the journal and the resend logic do not know,
//     and quickfix removes them on disconnect);
//   - ResetOnLogon, ResetOnLogout and ResetOnDisconnect are refused: they wipe
//     the message store, so sequence numbers would not continue across a
//     restart and a ResendRequest could not be answered;
//   - FileStorePath defaults to dataDir/fixstore (the gateway always uses the
//     durable FileStore);
//   - DataDictionary defaults to the embedded FIX44.xml, written to
//     dataDir/spec/FIX44.xml;
//   - SocketAcceptPort=0 picks a free port on SocketAcceptHost.
//
// It returns the acceptor's address.
func prepareSettings(s *quickfix.Settings, dataDir string) (string, error) {
	g := s.GlobalSettings()
	sessions := s.SessionSettings()
	if len(sessions) == 0 {
		return "", errors.New("fix: settings declare no [SESSION]")
	}
	if on, _ := g.BoolSetting(config.DynamicSessions); on {
		return "", errors.New("fix: DynamicSessions=Y is not supported: declare each counterparty in a [SESSION]")
	}
	needDict := false
	for id, ss := range sessions {
		if id.BeginString != quickfix.BeginStringFIX44 {
			return "", fmt.Errorf("fix: session %v: only FIX.4.4 is supported", id)
		}
		if ct, err := ss.Setting("ConnectionType"); err == nil && ct != "acceptor" {
			return "", fmt.Errorf("fix: session %v: ConnectionType=%s, the gateway is an acceptor", id, ct)
		}
		for _, k := range []string{config.ResetOnLogon, config.ResetOnLogout, config.ResetOnDisconnect} {
			if on, _ := ss.BoolSetting(k); on {
				return "", fmt.Errorf("fix: session %v: %s=Y wipes the message store: sequence numbers must continue across restarts, set %s=N", id, k, k)
			}
		}
		if !ss.HasSetting(config.DataDictionary) {
			needDict = true
		}
		if !ss.HasSetting(config.SocketAcceptPort) {
			return "", fmt.Errorf("fix: session %v: SocketAcceptPort is required", id)
		}
	}
	if !g.HasSetting(config.FileStorePath) {
		g.Set(config.FileStorePath, filepath.Join(dataDir, "fixstore"))
	}
	if needDict {
		path, err := spec.WriteFIX44(filepath.Join(dataDir, "spec"))
		if err != nil {
			return "", err
		}
		g.Set(config.DataDictionary, path)
	}
	host := ""
	if g.HasSetting(config.SocketAcceptHost) {
		host, _ = g.Setting(config.SocketAcceptHost)
	}
	port := 0
	if g.HasSetting(config.SocketAcceptPort) {
		p, err := g.IntSetting(config.SocketAcceptPort)
		if err != nil {
			return "", fmt.Errorf("fix: SocketAcceptPort: %w", err)
		}
		port = p
		if port == 0 {
			if port, err = freePort(host); err != nil {
				return "", err
			}
			g.Set(config.SocketAcceptPort, strconv.Itoa(port))
		}
	} else {
		for _, ss := range s.SessionSettings() {
			port, _ = ss.IntSetting(config.SocketAcceptPort)
			break
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// freePort asks the kernel for a free TCP port on host (127.0.0.1 when
// empty). The port is released before quickfix binds it: another process
// could take it in between, which is acceptable for tests and demos.
func freePort(host string) (int, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("fix: pick a port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port, nil
}

// Message store kinds (Config.MessageStore).
const (
	// StoreFile is quickfix's FileStore under FileStorePath: one node.
	StoreFile = "file"
	// StoreJournal keeps each session's store in the journal
	// (journalstore.go): any node holding the journal continues it.
	StoreJournal = "journal"
)

// The [DEFAULT] settings of the message store.
const (
	keyMessageStore     = "TickwireMessageStore"
	keyStoreMaxMessages = "TickwireStoreMaxMessages"
	keyStoreMaxBytes    = "TickwireStoreMaxBytes"
)

// storeSettings resolves the message store kind and retention: the
// Config's values, else the [DEFAULT] settings, else the defaults. The
// settings are global: a [SESSION] that sets one differently is refused,
// since all sessions share one store factory.
func storeSettings(kind string, ret StoreRetention, s *quickfix.Settings) (string, StoreRetention, error) {
	g := s.GlobalSettings()
	for id, ss := range s.SessionSettings() {
		for _, k := range []string{keyMessageStore, keyStoreMaxMessages, keyStoreMaxBytes} {
			if !ss.HasSetting(k) {
				continue
			}
			v, _ := ss.Setting(k)
			if gv, _ := g.Setting(k); !g.HasSetting(k) || gv != v {
				return "", ret, fmt.Errorf("fix: session %v: %s goes in [DEFAULT], for every session", id, k)
			}
		}
	}
	if kind == "" && g.HasSetting(keyMessageStore) {
		kind, _ = g.Setting(keyMessageStore)
	}
	switch kind {
	case "":
		kind = StoreFile
	case StoreFile, StoreJournal:
	default:
		return "", ret, fmt.Errorf("fix: message store %q: want %s or %s", kind, StoreFile, StoreJournal)
	}
	for _, v := range []struct {
		key string
		dst *int
	}{{keyStoreMaxMessages, &ret.MaxMessages}, {keyStoreMaxBytes, &ret.MaxBytes}} {
		if *v.dst > 0 || !g.HasSetting(v.key) {
			continue
		}
		n, err := g.IntSetting(v.key)
		if err != nil || n <= 0 || n > 1<<40 {
			return "", ret, fmt.Errorf("fix: %s: want a positive number", v.key)
		}
		*v.dst = n
	}
	return kind, ret.withDefaults(), nil
}
