package flagfile

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseArgsFlagsAfterArgs(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	speed := fs.Float64("speed", 1, "")
	loop := fs.Bool("loop", false, "")
	files, err := ParseArgs(fs, []string{"a.csv", "--speed", "5", "b.csv", "--loop", "--", "--c.csv", "--help"}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(files, " "); got != "a.csv b.csv --c.csv --help" || *speed != 5 || !*loop {
		t.Errorf("files %q speed %v loop %v", got, *speed, *loop)
	}
}

// TestParseHelpAndErrors: --help goes to stdout and is flag.ErrHelp; a bad
// flag's message goes to stderr; arguments are an error for Parse.
func TestParseHelpAndErrors(t *testing.T) {
	for _, parse := range []func(*flag.FlagSet, []string, io.Writer, io.Writer) error{
		Parse,
		func(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
			_, err := ParseArgs(fs, args, stdout, stderr)
			return err
		},
	} {
		var stdout, stderr bytes.Buffer
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.Int("n", 1, "how many")
		if err := parse(fs, []string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("--help: %v, want flag.ErrHelp", err)
		}
		if !strings.Contains(stdout.String(), "how many") || !strings.Contains(stdout.String(), "TICKWIRE_N") || stderr.Len() != 0 {
			t.Errorf("--help: stdout %q, stderr %q", stdout.String(), stderr.String())
		}
		stdout.Reset()
		fs = flag.NewFlagSet("x", flag.ContinueOnError)
		fs.Int("n", 1, "how many")
		if err := parse(fs, []string{"--n", "x"}, &stdout, &stderr); err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("--n x: %v, want an error", err)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "invalid value") {
			t.Errorf("--n x: stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	if err := Parse(fs, []string{"extra"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unexpected arguments: [extra]") {
		t.Errorf("an argument: %v", err)
	}
}

// TestParseLayers: the command line wins over the environment, which wins
// over the --config file.
func TestParseLayers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("a: file\nb: file\nc: file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TICKWIRE_B", "env")
	t.Setenv("TICKWIRE_C", "env")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	a, b, c := fs.String("a", "", ""), fs.String("b", "", ""), fs.String("c", "", "")
	if err := Parse(fs, []string{"--config", file, "--c", "line"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if *a != "file" || *b != "env" || *c != "line" {
		t.Errorf("a %q b %q c %q, want file env line", *a, *b, *c)
	}
}
