// Package spec is the part of FIX 4.4 that the gateway (tickwire/fix) and
// its counterparty (tickwire/fix/fixclient) share: the data dictionary
// quickfix validates messages against, and the Password field both keep
// out of their logs. It imports nothing of tickwire, so a tool that tests
// the gateway does not import the gateway to speak its dialect.
package spec

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// fix44 is the QuickFIX FIX44.xml (see README.md). A string, so that no
// caller can change the embedded copy.
//
//go:embed FIX44.xml
var fix44 string

// WriteFIX44 writes the FIX 4.4 data dictionary to dir/FIX44.xml, unless
// an identical copy is there, and returns its path. quickfix reads its
// dictionary from a file; the file is replaced whole (a temporary file
// renamed over it), so a session starting at the same time never reads a
// partial one.
func WriteFIX44(dir string) (string, error) {
	path := filepath.Join(dir, "FIX44.xml")
	if cur, err := os.ReadFile(path); err == nil && string(cur) == fix44 {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fix data dictionary: %w", err)
	}
	f, err := os.CreateTemp(dir, "FIX44.xml.*.tmp")
	if err != nil {
		return "", fmt.Errorf("fix data dictionary: %w", err)
	}
	_, err = f.WriteString(fix44)
	if err == nil {
		err = f.Chmod(0o644) // public data, like the file quickfix ships
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("fix data dictionary: %w", err)
	}
	return path, nil
}

// passwordField starts a Password (554) field in a FIX message.
var passwordField = []byte("\x01554=")

// RedactPassword returns the FIX message msg, or a log line quoting one,
// with the values of its Password (554) fields replaced by "***": a copy if
// there is one, msg itself otherwise (no allocation per message).
func RedactPassword(msg []byte) []byte {
	i := bytes.Index(msg, passwordField)
	if i < 0 {
		return msg
	}
	out := make([]byte, 0, len(msg))
	for i >= 0 {
		i += len(passwordField)
		out = append(out, msg[:i]...)
		out = append(out, "***"...)
		msg = msg[i:]
		if j := bytes.IndexByte(msg, 1); j >= 0 {
			msg = msg[j:]
		} else {
			msg = nil
		}
		i = bytes.Index(msg, passwordField)
	}
	return append(out, msg...)
}
