package feedserver

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"tickwire/protocol"
)

// TopicRuleSpec is a topic rule as an operator writes it in the server's
// configuration file (the "topics:" list, docs/behaviours.md):
//
//   - pattern: "*.trades"
//     kind: merge
//     merge: {volume: sum, high: max, low: min, vwap: "wasm(behaviours/vwap.wasm, vwap)"}
//
// Merge maps a field to a built-in op (last, sum, max, min) or to a
// behaviour, wasm(FILE, FUNC); the key "*" gives a behaviour every field
// not listed otherwise (a whole-record merge).
type TopicRuleSpec struct {
	Pattern    string            `yaml:"pattern"`
	Kind       string            `yaml:"kind"` // replace (default), merge or sequenced
	Merge      map[string]string `yaml:"merge"`
	StaleAfter time.Duration     `yaml:"stale_after"`
	Window     int               `yaml:"window"`
}

// BehaviourLoader loads the behaviour named by wasm(path, fn).
type BehaviourLoader func(path, fn string) (Behaviour, error)

// Rule checks the spec and returns its TopicRule, loading each behaviour it
// names with load (once per distinct FILE and FUNC).
func (sp TopicRuleSpec) Rule(load BehaviourLoader) (TopicRule, error) {
	r := TopicRule{Pattern: sp.Pattern, StaleAfter: sp.StaleAfter, Window: sp.Window}
	fail := func(format string, args ...any) (TopicRule, error) {
		return TopicRule{}, fmt.Errorf("topic rule %q: %s", sp.Pattern, fmt.Sprintf(format, args...))
	}
	if sp.Pattern == "" {
		return fail("no pattern")
	}
	if _, err := path.Match(sp.Pattern, ""); err != nil {
		return fail("bad pattern: %v", err)
	}
	switch sp.Kind {
	case "", "replace":
		r.Kind = ConflatedReplace
	case "merge":
		r.Kind = ConflatedMerge
	case "sequenced":
		r.Kind = Sequenced
		if len(sp.Merge) > 0 {
			return fail("a sequenced topic has no merge")
		}
	default:
		return fail("kind %q: want replace, merge or sequenced", sp.Kind)
	}
	if sp.StaleAfter < 0 || sp.Window < 0 {
		return fail("stale_after and window must not be negative")
	}
	type ref struct{ path, fn string }
	owned := make(map[ref]protocol.Mask)
	var order []ref
	var listed protocol.Mask
	var whole *ref
	keys := make([]string, 0, len(sp.Merge))
	for k := range sp.Merge {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.TrimSpace(sp.Merge[k])
		var f protocol.Field
		if k != "*" {
			var ok bool
			if f, ok = protocol.FieldByName(k); !ok {
				return fail("merge: unknown field %q", k)
			}
			listed |= 1 << f
		}
		if p, fn, ok := parseWasm(v); ok {
			rf := ref{p, fn}
			if _, seen := owned[rf]; !seen {
				order = append(order, rf)
			}
			if k == "*" {
				whole = &rf
				owned[rf] |= 0
			} else {
				owned[rf] |= 1 << f
			}
			continue
		} else if strings.HasPrefix(v, "wasm") {
			return fail("merge: %s: %q is not wasm(FILE, FUNC)", k, v)
		}
		if k == "*" {
			return fail(`merge: "*" takes a behaviour, wasm(FILE, FUNC), not %q`, v)
		}
		op, ok := parseOp(v)
		if !ok {
			return fail("merge: %s: unknown op %q (want last, sum, max, min or wasm(FILE, FUNC))", k, v)
		}
		if op != protocol.OpLast && r.Kind != ConflatedMerge {
			return fail("merge: %s: %s needs kind: merge", k, v)
		}
		r.Ops = r.Ops.With(f, op)
	}
	if whole != nil {
		owned[*whole] |= protocol.AllFields &^ listed
	}
	for _, rf := range order {
		b, err := load(rf.path, rf.fn)
		if err != nil {
			return fail("wasm(%s, %s): %v", rf.path, rf.fn, err)
		}
		r.Behaviours = append(r.Behaviours, BehaviourRule{Fields: owned[rf], Behaviour: b})
	}
	return r, nil
}

// parseOp parses a built-in op's name.
func parseOp(s string) (protocol.Op, bool) {
	for op := protocol.OpLast; op <= protocol.OpMin; op++ {
		if op.String() == s {
			return op, true
		}
	}
	return 0, false
}

// parseWasm parses "wasm(FILE, FUNC)".
func parseWasm(s string) (file, fn string, ok bool) {
	inner, found := strings.CutPrefix(s, "wasm(")
	if !found || !strings.HasSuffix(inner, ")") {
		return "", "", false
	}
	file, fn, found = strings.Cut(strings.TrimSuffix(inner, ")"), ",")
	file, fn = strings.TrimSpace(file), strings.TrimSpace(fn)
	if !found || file == "" || fn == "" || strings.ContainsAny(fn, ",()") {
		return "", "", false
	}
	return file, fn, true
}

// TopicRules returns the rules of specs, in order, then DefaultTopicRules():
// the first match wins, so a spec overrides a default of the same pattern.
func TopicRules(specs []TopicRuleSpec, load BehaviourLoader) ([]TopicRule, error) {
	var rules []TopicRule
	for _, sp := range specs {
		r, err := sp.Rule(load)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return append(rules, DefaultTopicRules()...), nil
}
