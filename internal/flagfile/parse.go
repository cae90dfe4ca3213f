package flagfile

import (
	"flag"
	"fmt"
	"io"
	"slices"
)

// Parse parses a command's args into fs, then applies the environment and
// the --config file (Prepare, Apply). fs must use ContinueOnError; its
// output goes to stderr, or to stdout when --help is asked for, which
// returns flag.ErrHelp. Every other error is the user's: a bad flag, an
// argument (the command takes none), a bad variable or file.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	Prepare(fs)
	helpTo(fs, args, stdout, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return Apply(fs)
}

// ParseArgs is Parse for a command that takes positional arguments, which
// it returns: flags may come before, between or after them ("--" ends the
// flags).
func ParseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	Prepare(fs)
	flags := args
	if i := slices.Index(args, "--"); i >= 0 {
		flags = args[:i] // a "--help" after it is an argument
	}
	helpTo(fs, flags, stdout, stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), Apply(fs)
		}
		if len(rest) == 0 {
			return pos, Apply(fs)
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// helpTo sets fs's output: stdout when args ask for --help, else stderr
// (where a bad flag's message goes).
func helpTo(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) {
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
		}
	}
}
