// Package secfile keeps what the servers trust on disk out of other local
// users' hands. It refuses a secret file (a key, the session secret) that
// others could read or change, a file others could change (a certificate
// clients trust), and a directory others could write to (they could swap
// the files in it), as well as any of them owned by another user; and it
// creates directories private. Each refusal names the command that fixes
// it.
package secfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Kind is what a path is trusted for, which decides who else may touch it.
type Kind uint8

const (
	// Private is a secret file: no one else may read or write it.
	Private Kind = iota
	// Public is a file others may read but not change (a certificate).
	Public
	// Dir is a directory others may list but not write to.
	Dir
	// PrivateDir is a directory no one else may enter: for files created
	// by code that makes them readable by others (quickfix's stores and
	// logs), the directory is what keeps them private.
	PrivateDir
)

// DirMode is the mode of the directories MkdirAll creates.
const DirMode fs.FileMode = 0o700

// OpenAppend opens the file at path for appending (a log), creating it
// private: a log names accounts, orders and clients. It refuses a regular
// file others could change or another user owns (say, one planted under
// /tmp); a device or a pipe (/dev/stderr) is taken as it is.
func OpenAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() {
		err = Check(path, fi, Public)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// Check refuses path if fi (its stat) shows it is not of kind, others may
// read or write it beyond what kind allows, or another user owns it.
func Check(path string, fi fs.FileInfo, kind Kind) error {
	mode := fi.Mode()
	dir := kind == Dir || kind == PrivateDir
	switch {
	case dir && !mode.IsDir():
		return fmt.Errorf("%s: not a directory", path)
	case !dir && !mode.IsRegular():
		return fmt.Errorf("%s: not a regular file", path)
	}
	perm := mode.Perm()
	switch {
	case (kind == Private || kind == PrivateDir) && perm&0o077 != 0:
		what, fix := "change", "chmod 600"
		if perm&0o044 != 0 {
			what = "read"
		}
		if dir {
			fix = "chmod 700"
		}
		return fmt.Errorf("%s: mode %04o lets other users %s it; %s %s", path, perm, what, fix, path)
	case perm&0o022 != 0:
		return fmt.Errorf("%s: mode %04o lets other users change it; chmod go-w %s", path, perm, path)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s: owned by uid %d, not by this user (uid %d), who could change it; chown %d %s, or use another path",
			path, uid, os.Geteuid(), os.Geteuid(), path)
	}
	return nil
}

// CheckPath is Check on path's stat (following symbolic links). An error
// for a missing path wraps fs.ErrNotExist.
func CheckPath(path string, kind Kind) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return Check(path, fi, kind)
}

// ReadPrivate reads the secret file at path, refused before anything is
// read if it is not Private (Check on the open file). An error for a
// missing file wraps fs.ErrNotExist.
func ReadPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Check(path, fi, Private); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// MkdirAll creates dir (and missing parents) with DirMode, and refuses it
// if it is not of kind (Dir or PrivateDir): others may write to it (or,
// for PrivateDir, enter it) or another user owns it.
func MkdirAll(dir string, kind Kind) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return CheckPath(dir, kind)
}
