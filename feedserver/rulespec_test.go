package feedserver

import (
	"errors"
	"strings"
	"testing"

	"tickwire/protocol"
)

// TestTopicRuleSpec: a configured rule's built-in ops and behaviours, each
// module loaded once however many fields it owns, and clear refusals.
func TestTopicRuleSpec(t *testing.T) {
	loads := map[string]int{}
	load := func(path, fn string) (Behaviour, error) {
		loads[path+":"+fn]++
		if strings.Contains(path, "missing") {
			return nil, errors.New("no such file")
		}
		return &goVWAP{}, nil
	}
	r, err := TopicRuleSpec{Pattern: "*.trades", Kind: "merge", Merge: map[string]string{
		"volume": "sum", "high": "max", "low": "min", "last": "last",
		"vwap": "wasm(behaviours/vwap.wasm, vwap)", "trades": " wasm( behaviours/vwap.wasm ,vwap ) ",
		"open": "wasm(behaviours/ohlc.wasm, ohlc)",
	}}.Rule(load)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != ConflatedMerge || r.Ops != protocol.OpsTrade || len(r.Behaviours) != 2 {
		t.Fatalf("rule %+v", r)
	}
	if r.Behaviours[0].Fields != 1<<protocol.Open || r.Behaviours[1].Fields != 1<<protocol.VWAP|1<<protocol.Trades {
		t.Errorf("fields %v %v", r.Behaviours[0].Fields, r.Behaviours[1].Fields)
	}
	if loads["behaviours/vwap.wasm:vwap"] != 1 || loads["behaviours/ohlc.wasm:ohlc"] != 1 {
		t.Errorf("loads %v", loads)
	}
	// "*": every field not listed.
	r, err = TopicRuleSpec{Pattern: "EUR*", Merge: map[string]string{"*": "wasm(m.wasm, mid)", "bid_size": "last"}}.Rule(load)
	if err != nil || r.Kind != ConflatedReplace || len(r.Behaviours) != 1 || r.Behaviours[0].Fields != protocol.AllFields&^(1<<protocol.BidSize) {
		t.Fatalf("whole-record rule %+v, %v", r, err)
	}
	for spec, want := range map[*TopicRuleSpec]string{
		{Kind: "merge"}:               "no pattern",
		{Pattern: "[", Kind: "merge"}: "bad pattern",
		{Pattern: "x", Kind: "fast"}:  "want replace, merge or sequenced",
		{Pattern: "x", Kind: "sequenced", Merge: map[string]string{"bid": "last"}}:               "no merge",
		{Pattern: "x", Kind: "merge", Merge: map[string]string{"colour": "sum"}}:                 `unknown field "colour"`,
		{Pattern: "x", Kind: "merge", Merge: map[string]string{"volume": "avg"}}:                 `unknown op "avg"`,
		{Pattern: "x", Merge: map[string]string{"volume": "sum"}}:                                "needs kind: merge",
		{Pattern: "x", Kind: "merge", Merge: map[string]string{"vwap": "wasm(a)"}}:               "is not wasm(FILE, FUNC)",
		{Pattern: "x", Kind: "merge", Merge: map[string]string{"*": "sum"}}:                      `"*" takes a behaviour`,
		{Pattern: "x", Kind: "merge", Merge: map[string]string{"vwap": "wasm(missing.wasm, f)"}}: "wasm(missing.wasm, f): no such file",
		{Pattern: "x", StaleAfter: -1}:                                                           "must not be negative",
	} {
		if _, err := spec.Rule(load); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *spec, err, want)
		}
	}
	rules, err := TopicRules([]TopicRuleSpec{{Pattern: "*.trades", Kind: "merge", Merge: map[string]string{"volume": "sum"}}}, load)
	if err != nil || len(rules) != len(DefaultTopicRules())+1 || ruleFor(rules, "BTC.trades", 0).Ops != protocol.Ops(0).With(protocol.Volume, protocol.OpSum) {
		t.Errorf("rules %+v, %v", rules, err)
	}
}
