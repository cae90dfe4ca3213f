package orderwire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"tickwire/protocol"
)

func TestDecodeRequest(t *testing.T) {
	ok := []struct {
		js    string
		check func(r *Request) bool
	}{
		{`{"Action":"new","ClOrdID":"AB-1","Account":"DEMO","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.39231","OrderQty":"100000","TimeInForce":"3","HandlInst":"3"}`,
			func(r *Request) bool {
				return r.Side == SideBuy && r.OrdType == OrdTypeLimit && r.Price.Decimal.Equal(decimal.RequireFromString("1.39231")) &&
					r.OrderQty.Decimal.IntPart() == 100000 && r.TimeInForce == TimeInForceIOC && r.HandlInst == HandlInstManual && r.ID() == "AB-1"
			}},
		{`{"Action":"new","ClOrdID":"AB-2","Account":"DEMO","Symbol":"EURUSD","Side":"2","OrdType":"1","OrderQty":5}`, // numbers accepted
			func(r *Request) bool { return !r.Price.Valid && r.OrderQty.Decimal.IntPart() == 5 }},
		{`{"Action":"cancel","ClOrdID":"AB-3","OrigClOrdID":"AB-1","Account":"DEMO"}`, nil},
		{`{"Action":"replace","ClOrdID":"AB-4","OrigClOrdID":"AB-1","Account":"DEMO","OrdType":"2","Price":"1.4","OrderQty":"10","Text":"stale ack"}`, nil},
		{`{"Action":"desk-fill","OrderID":"O7","LastQty":"10","LastPx":"1.1"}`, func(r *Request) bool { return r.ID() == "O7" && r.Action.Desk() }},
		{`{"Action":"desk-reject-cancel","OrderID":"O7","Reason":0,"Text":"no"}`, func(r *Request) bool { return r.Reason != nil && *r.Reason == 0 }},
		{`{"Action":"desk-bust","OrderID":"O7","ExecRefID":"E9"}`, nil},
	}
	for _, c := range ok {
		r, err := DecodeRequest([]byte(c.js))
		if err != nil {
			t.Errorf("%s: %v", c.js, err)
			continue
		}
		if c.check != nil && !c.check(r) {
			t.Errorf("%s: decoded %+v", c.js, r)
		}
		// Encode/decode round trip.
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeRequest(data); err != nil {
			t.Errorf("re-encoded %s: %v", data, err)
		}
	}

	bad := []struct{ js, want string }{
		{`[]`, "bad request: json: cannot unmarshal array"},
		{`{"Action":"new"} {"Action":"new"}`, "more than one JSON value"},
		{`{"Action":"sell"}`, `bad request: unknown Action "sell"`},
		{`{"Action":"new","ClOrdID":"has space","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1"}`, `bad request: new: ID "has space"`},
		{`{"Action":"new","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1"}`, "new: missing ClOrdID"},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1","OrderID":"O1"}`, "new C: new does not take OrderID"},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"0"}`, "new C: OrderQty must be more than 0"},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","Price":"1","OrderQty":"1"}`, "new C: a market order has no Price"},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"3","OrderQty":"1"}`, `new C: unsupported OrdType "3"`},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1","TimeInForce":"6"}`, `unsupported TimeInForce "6"`},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1","HandlInst":"4"}`, `unknown HandlInst "4"`},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"11","OrdType":"1","OrderQty":"1"}`, `new C: bad request: Side must be one character`},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S€","Side":"1","OrdType":"1","OrderQty":"1"}`, `Symbol "S€"`},
		{`{"Action":"cancel","ClOrdID":"C","Account":"A"}`, "cancel C: missing OrigClOrdID"},
		{`{"Action":"desk-reject","OrderID":"O1","Reason":100}`, "desk-reject O1: Reason 100"},
		{`{"Action":"desk-fill","OrderID":"O1","LastQty":"1","LastPx":"1","Symbol":"S"}`, "desk-fill O1: desk-fill does not take Symbol"},
		{`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1","Text":"` + strings.Repeat("x", MaxTextLen+1) + `"}`, "Text of 257 bytes"},
		{`{"Action":"new","ClOrdID":"C","Text":"` + strings.Repeat("x", MaxRequestBytes) + `"}`, "request of"},
	}
	for _, c := range bad {
		_, err := DecodeRequest([]byte(c.js))
		rf, ok := err.(*Refusal)
		if !ok || !strings.HasPrefix(rf.Error(), c.want) && !strings.Contains(rf.Error(), c.want) {
			t.Errorf("%.80s: got %v, want %q", c.js, err, c.want)
		}
	}
}

func TestRefusalRoundTrip(t *testing.T) {
	for _, rf := range []Refusal{
		{Action: ActionNew, ID: "AB-1", Text: "duplicate ClOrdID AB-1 in session TRADER:DEMO"},
		{Action: ActionDeskFill, ID: "20260102T150405-O7", Text: "order: overfill: 61 > 60"},
		{Action: ActionCancel, ID: "x:y", Text: ""},
		{Action: ActionNew, ID: "AB-2", Text: "fix: journal append: disk full", Unknown: true},
	} {
		got, ok := ParseRefusal(rf.Error())
		if !ok || *got != rf {
			t.Errorf("ParseRefusal(%q) = %+v, %v", rf.Error(), got, ok)
		}
	}
	for _, s := range []string{"bad request: not JSON", "sell X: no", "new has space: no", "server error", "new : x"} {
		if got, ok := ParseRefusal(s); ok {
			t.Errorf("ParseRefusal(%q) = %+v", s, got)
		}
	}
}

// TestRequestBounds: a decimal whose exponent makes it huge written out, and
// a Text with control characters or invalid UTF-8, are refused at decoding
// (issue 17 items 9 and 11); the decimals are refused at once, never
// written out.
func TestRequestBounds(t *testing.T) {
	newOrder := func(extra string) string {
		return `{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"2"` + extra + `}`
	}
	for _, c := range []struct{ js, want string }{
		{newOrder(`,"Price":"1","OrderQty":"1e2000000"`), "new C: OrderQty: more than 24 digits"},
		{newOrder(`,"Price":"1","OrderQty":"1e1000000000"`), "new C: OrderQty: more than 24 digits"},
		{newOrder(`,"Price":1e2000000,"OrderQty":"1"`), "new C: Price: more than 24 digits"},
		{newOrder(`,"Price":"0.0000000000000000000000001","OrderQty":"1"`), "new C: Price: more than 24 digits"},
		{newOrder(`,"Price":"1","OrderQty":"` + strings.Repeat("9", 25) + `"`), "new C: OrderQty: more than 24 digits"},
		{`{"Action":"desk-fill","OrderID":"O1","LastQty":"1e-30","LastPx":"1"}`, "desk-fill O1: LastQty: more than 24 digits"},
		{`{"Action":"desk-reject","OrderID":"O1","Text":"a\u0001b"}`, "desk-reject O1: Text: control characters"},
		{`{"Action":"desk-cancel","OrderID":"O1","Text":"\u001b]0;PWNED\u0007"}`, "desk-cancel O1: Text: control characters"},
		{`{"Action":"desk-cancel","OrderID":"O1","Text":"del\u007f"}`, "desk-cancel O1: Text: control characters"},
		{`{"Action":"desk-cancel","OrderID":"O1","Text":"c1\u009b2J"}`, "desk-cancel O1: Text: control characters"},
	} {
		_, err := DecodeRequest([]byte(c.js))
		if rf, ok := err.(*Refusal); !ok || !strings.HasPrefix(rf.Error(), c.want) {
			t.Errorf("%.90s: got %v, want %q", c.js, err, c.want)
		}
	}
	// A decoding error that quotes the payload is quoted itself: the
	// refusal's text stays printable (found by FuzzDecodeRequest).
	_, err := DecodeRequest([]byte("{\"Action\":\"desk-fill\",\"OrderID\":\"O1\",\"LastQty\":\"\xf4\",\"LastPx\":\"1\"}"))
	if rf, ok := err.(*Refusal); !ok || !PrintableText(rf.Error()) || !strings.Contains(rf.Error(), `\xf4`) {
		t.Errorf("a bad decimal with invalid UTF-8: %q, want a printable refusal quoting it", err)
	}
	// Invalid UTF-8 cannot come through JSON (it decodes to U+FFFD), but a
	// Request built in Go can carry it.
	r := &Request{Action: ActionDeskCancel, OrderID: "O1", Text: "\xffA"}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Errorf("Text \\xffA: %v", err)
	}
	for _, ok := range []string{
		newOrder(`,"Price":"1.39231","OrderQty":"100000"`),
		newOrder(`,"Price":"0.00000001","OrderQty":"123456789012345.123456789"`),
		newOrder(`,"Price":"1.5e3","OrderQty":"1e20","Text":"ok: € and ü are text"`),
	} {
		if _, err := DecodeRequest([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestAccountTopicAndSessions(t *testing.T) {
	for in, want := range map[string]string{
		"DEMO": "orders.DEMO", "": "orders.:", "a b/c€": "orders.a:20b/c:E2:82:AC",
		"a_b": "orders.a_b", "a:20b": "orders.a:3A20b", "unassigned": "orders.unassigned",
	} {
		if got := AccountTopic(in); got != want {
			t.Errorf("AccountTopic(%q) = %q, want %q", in, got, want)
		}
	}
	if a, ok := TraderAccount(TraderSession("DEMO")); !ok || a != "DEMO" {
		t.Errorf("TraderAccount(TraderSession) = %q %v", a, ok)
	}
	if _, ok := TraderAccount("FIX.4.4:TICKWIRE->DEMOCLIENT"); ok {
		t.Error("a FIX session is not a trader session")
	}
}

func TestCharJSON(t *testing.T) {
	type s struct {
		A Side
		B ExecType
		C OrdType `json:",omitempty"`
	}
	data, err := json.Marshal(s{A: 0x01, B: ExecTypeTrade})
	if err != nil || string(data) != `{"A":"0x01","B":"F"}` {
		t.Fatalf("%s %v", data, err)
	}
	var back s
	if err := json.Unmarshal(data, &back); err != nil || back.A != 0x01 || back.B != ExecTypeTrade {
		t.Fatalf("%+v %v", back, err)
	}
}

// TestAccountTopicOneToOne: distinct accounts never share a topic (an
// entitlement to one is never one to another's), and every topic is valid.
func TestAccountTopicOneToOne(t *testing.T) {
	alphabet := []byte("aZ09._-:/ \x00\xff_%")
	seen := map[string]string{}
	var walk func(prefix []byte, depth int)
	walk = func(prefix []byte, depth int) {
		acct := string(prefix)
		topic := AccountTopic(acct)
		if err := protocol.ValidTopic(topic); err != nil {
			t.Fatalf("AccountTopic(%q) = %q: %v", acct, topic, err)
		}
		if other, ok := seen[topic]; ok && other != acct {
			t.Fatalf("accounts %q and %q share %q", other, acct, topic)
		}
		seen[topic] = acct
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(append(prefix, c), depth-1)
		}
	}
	walk(nil, 3) // every account of up to 3 bytes over the alphabet
}
