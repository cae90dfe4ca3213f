package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerTopicsConfig: the server's config file holds topic rules under
// "topics:" beside flag values; a bad rule, a misspelt key or a module that
// does not load stops the server with a usage error naming the file.
func TestServerTopicsConfig(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "vwap.wasm")
	if err := os.WriteFile(notWasm, []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(yaml string) (behaviourFlags, error) {
		path := filepath.Join(dir, "server.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("server", flag.ContinueOnError)
		var f serverFlags
		f.register(fs)
		return f.beh, parseFlags(fs, []string{"--config", path}, io.Discard, io.Discard)
	}
	// Rules without behaviours: merged before the defaults, no module runtime.
	b, err := parse("name: n1\ntopics:\n  - pattern: \"*.trades\"\n    kind: merge\n    merge: {volume: sum}\n")
	if err != nil {
		t.Fatal(err)
	}
	rules, behs, err := b.rules(context.Background())
	if err != nil || len(rules) < 2 || rules[0].Pattern != "*.trades" || behs.Any() {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	for yaml, want := range map[string]string{
		"topics:\n  - pattern: x\n    kindd: merge\n":                                   "field kindd not found",
		"topics:\n  - pattern: x\n    merge: {colour: sum}\n":                           `unknown field "colour"`,
		"topics:\n  - pattern: x\n    merge: {vwap: \"wasm(" + notWasm + ", vwap)\"}\n": "invalid",
		"topics: {pattern: x}\n":                                                        "cannot unmarshal",
	} {
		b, err := parse(yaml)
		if err == nil {
			_, _, err = b.rules(context.Background())
		}
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "server.yaml") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error naming the file and %q", yaml, err, want)
		}
	}
}
