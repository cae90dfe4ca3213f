// Command tickwire runs tickwire's feed server, trader dashboard and tools.
//
//	tickwire server   run a feed server
//	tickwire trader   run the trader dashboard against a server
//	tickwire demo     replay recorded ticks through a real server into the dashboard
//	tickwire replay   publish recorded ticks into a server at their recorded pace
//	tickwire record   write a server's topics to a tick file
//	tickwire fixclient send a FIX order flow to the gateway and check every response
//	tickwire soak     precise-recovery soak: random connection cuts, exact streams
//	tickwire bench    measure tickwire against baselines
//	tickwire token    key pairs, signed tokens and API keys
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"tickwire/internal/flagfile"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"server", "run a feed server", runServer},
		{"trader", "run the trader dashboard against a server", runTrader},
		{"demo", "replay recorded ticks through a real server into the dashboard", runDemo},
		{"replay", "publish recorded ticks into a server at their recorded pace", runReplay},
		{"record", "write a server's topics to a tick file", runRecord},
		{"fixclient", "send a FIX order flow to the gateway and check every response", runFixClient},
		{"soak", "cut client connections at random while publishing order events; check each got all, once, in order", runSoak},
		{"bench", "measure tickwire against baselines (pingpong, fanout, idle, ramp)", runBench},
		{"token", "key pairs, signed tokens and API keys for authentication", runToken},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: tickwire <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'tickwire <command> --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, context.Canceled):
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "tickwire %s: %v\n", c.name, err)
			return 2
		}
		fmt.Fprintf(stderr, "tickwire %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "tickwire: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// helpFiles holds each command's usage text, help/NAME.txt, printed above
// its flags.
//
//go:embed help
var helpFiles embed.FS

// helpText is help/NAME.txt.
func helpText(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // a build mistake: TestHelpTexts asks every command for --help
	}
	return string(b)
}

// setUsage makes fs's usage helpText(name), formatted with args if any,
// then its flags.
func setUsage(fs *flag.FlagSet, name string, args ...any) {
	fs.Usage = func() {
		if len(args) > 0 {
			fmt.Fprintf(fs.Output(), helpText(name), args...)
		} else {
			fmt.Fprint(fs.Output(), helpText(name))
		}
		fs.PrintDefaults()
	}
}

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ error }

// parseFlags is flagfile.Parse (flags from the command line, the
// environment, the --config file); its errors but --help are usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	return asUsage(flagfile.Parse(fs, args, stdout, stderr))
}

// parseFlagsAndArgs is parseFlags for commands that take positional
// arguments (flagfile.ParseArgs).
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	pos, err := flagfile.ParseArgs(fs, args, stdout, stderr)
	return pos, asUsage(err)
}

// asUsage makes err, unless nil or --help, a usageError.
func asUsage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}
