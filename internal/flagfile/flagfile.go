// Package flagfile layers a command's flag values: the command line, then
// the environment (TICKWIRE_<FLAG>), then a YAML config file (--config FILE,
// keys are the long flag names), then the defaults. ff does the layering;
// the file parser is ours (yaml.v3) so that its errors name the file, the
// line and the key (docs/operations.md, "Configuration").
package flagfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"gopkg.in/yaml.v3"
)

const (
	envPrefix  = "TICKWIRE"
	configFlag = "config"
)

// Keyer is implemented by the Value of a command's own --config flag whose
// file holds more than flag values (the trader's dashboard settings):
// ConfigKeys lists those other keys, which the flag layer leaves to the
// command (ReadKeys).
type Keyer interface {
	ConfigKeys() []string
}

// EnvName returns the environment variable that sets flag name.
func EnvName(name string) string {
	return envPrefix + "_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// Prepare adds --config to fs unless the command has its own, and appends
// to fs's usage a note on the config file and the environment.
func Prepare(fs *flag.FlagSet) {
	if fs.Lookup(configFlag) == nil {
		fs.String(configFlag, "", "read flag values from `FILE` (YAML; keys are the flag names, e.g. \"log-level: debug\")")
	}
	usage := fs.Usage
	fs.Usage = func() {
		if usage != nil {
			usage()
		} else {
			fmt.Fprintf(fs.Output(), "Usage: tickwire %s [flags]\n\nFlags:\n", fs.Name())
			fs.PrintDefaults()
		}
		fmt.Fprint(fs.Output(), configHelp(fs))
	}
}

// configHelp is the note at the end of every command's --help.
func configHelp(fs *flag.FlagSet) string {
	example := "log-level"
	if fs.Lookup(example) == nil {
		fs.VisitAll(func(f *flag.Flag) {
			if example == "log-level" && f.Name != configFlag {
				example = f.Name
			}
		})
	}
	return fmt.Sprintf(`
Every flag can also be set in the --config file (YAML, keys are the flag names
without dashes in front: "%s: ...") or in the environment as %s_<FLAG>
(upper case, '-' becomes '_': %s=...). Precedence: command line, then
environment, then config file, then the defaults shown above.
`, example, envPrefix, EnvName(example))
}

// Apply sets the flags not given on the command line from the environment,
// then those still unset from the --config file. Call it after fs has parsed
// the command line. Every error is the user's: a bad file (*Error, or the
// file's path), a bad variable (ff names it and the flag).
func Apply(fs *flag.FlagSet) error {
	var extra []string
	if f := fs.Lookup(configFlag); f != nil {
		if k, ok := f.Value.(Keyer); ok {
			extra = k.ConfigKeys()
		}
	}
	parser := func(r io.Reader, set func(name, value string) error) error {
		path := fs.Lookup(configFlag).Value.String() // final now: the environment may have set it
		return parseConfigFile(path, r, fs.Lookup, extra, set)
	}
	// ff parses the (already parsed) command line again as empty: fs keeps
	// what it set, and ff reads fs.Visit for what was given.
	err := ff.Parse(fs, []string{},
		ff.WithEnvVarPrefix(envPrefix),
		ff.WithConfigFileFlag(configFlag),
		ff.WithConfigFileParser(parser))
	var ce *Error
	var pe *iofs.PathError
	if err != nil && !errors.As(err, &ce) && errors.As(err, &pe) {
		return fmt.Errorf("--%s: %w", configFlag, err)
	}
	return err
}

// Error is a bad config file: its path, the line (0 if unknown) and
// the key concerned (empty for a syntax error).
type Error struct {
	Path string
	Line int
	Key  string
	Err  error
}

func (e *Error) Error() string {
	where := "config " + e.Path
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", where, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %v", where, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// parseConfigFile reads a YAML mapping of flag names to values from r and
// calls set for each. A value is a scalar or a list of scalars (joined with
// commas, as the list flags take them). Keys in extra are skipped (the
// command reads them); any other key that is not a flag is an error, as is a
// key given twice, a nested section or a key without a value.
func parseConfigFile(path string, r io.Reader, lookup func(string) *flag.Flag, extra []string, set func(name, value string) error) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return &Error{Path: path, Err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return &Error{Path: path, Err: err} // yaml's text has the line
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return &Error{Path: path, Line: root.Line, Err: errors.New("want a mapping of flag names to values")}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if first, dup := seen[key]; dup {
			return &Error{Path: path, Line: k.Line, Key: key, Err: fmt.Errorf("given twice (first at line %d)", first)}
		}
		seen[key] = k.Line
		if slices.Contains(extra, key) {
			continue
		}
		f := lookup(key)
		if k.Kind != yaml.ScalarNode || f == nil {
			return &Error{Path: path, Line: k.Line, Key: key, Err: errors.New("unknown key: not a flag of this command (see --help)")}
		}
		val, err := configValue(v)
		if err != nil {
			return &Error{Path: path, Line: v.Line, Key: key, Err: err}
		}
		if err := set(key, val); err != nil {
			// ff wraps the flag's own error in its words; ours has the place.
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
			}
			return &Error{Path: path, Line: v.Line, Key: key, Err: fmt.Errorf("invalid value %q%s: %w", val, flagKind(f), err)}
		}
	}
	return nil
}

// configValue turns a YAML value into a flag's text.
func configValue(v *yaml.Node) (string, error) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New(`no value (write "" for an empty one)`)
		}
		return v.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return "", fmt.Errorf("line %d: a list may hold only values", item.Line)
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("nested sections are not supported: write the flag's name as the key")
}

// ReadKeys decodes the keys of a YAML config file that are in keys into a
// map, for commands whose --config also holds settings that are not flags
// (Keyer). Apply has already checked the file.
func ReadKeys(b []byte, keys []string) (map[string]yaml.Node, error) {
	var m map[string]yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for k := range m {
		if !slices.Contains(keys, k) {
			delete(m, k)
		}
	}
	return m, nil
}

// flagKind names what a flag takes (" (duration)"), for errors.
func flagKind(f *flag.Flag) string {
	if kind, _ := flag.UnquoteUsage(f); kind != "" {
		return " (" + kind + ")"
	}
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		return " (true or false)"
	}
	return ""
}
