// Package orderwire is the payload of order traffic over tickwire's own
// protocol (docs/protocol.md, "Orders over the feed protocol"):
//
//   - the requests a trader publishes, as PublishEvent frames on
//     RequestTopic, to enter, cancel and replace orders and to work desk
//     (HandlInst=3) orders: Request, JSON;
//   - the refusals the server answers them with: an Error frame, code 1004,
//     topic RequestTopic, whose reason is a Refusal's text;
//   - the order events the gateway publishes on AccountTopic(account):
//     OrderEvent, JSON (ExecutionReports and OrderCancelRejects).
//
// Both sides import it: the gateway (fix) and the traders (the dashboard's
// order service, tools, tests). It imports nothing of tickwire's, so a
// trader needs neither fix/ nor feedserver/.
package orderwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// RequestTopic is the topic traders publish their requests to. The server
// hands what is published there to the gateway; nothing is stored on it and
// subscribing to it yields nothing.
const RequestTopic = "requests.orders"

// TraderSessionPrefix starts the gateway's internal session of an account's
// trader requests: "TRADER:" + account. It plays the part a FIX session
// plays for a counterparty: ClOrdIDs are unique within it, and the order
// events of its orders carry it as Session. FIX sessions are named
// "FIX.4.4:SENDER->TARGET", so the two never collide.
const TraderSessionPrefix = "TRADER:"

// AccountTopicPrefix starts every account's order topic (AccountTopic):
// the gateway's own, where only it publishes.
const AccountTopicPrefix = "orders."

// TraderSession returns the internal session of account's trader requests.
func TraderSession(account string) string { return TraderSessionPrefix + account }

// TraderAccount returns the account of a trader session, and false for any
// other session (a FIX one).
func TraderAccount(session string) (string, bool) {
	return strings.CutPrefix(session, TraderSessionPrefix)
}

// AccountTopic returns the topic of account's order events: "orders." and
// the account, where each byte a topic name may not hold, and ':' (the
// escape), is written ':' and two hex digits; an empty account is
// "orders.:". The mapping is one-to-one, so an entitlement to one account's
// topic is never one to another's: "a b" is "orders.a:20b", which no
// account but "a b" produces.
func AccountTopic(account string) string {
	if account == "" {
		return AccountTopicPrefix + ":" // no account yields a lone ':'
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(AccountTopicPrefix)+len(account))
	b = append(b, AccountTopicPrefix...)
	for i := 0; i < len(account); i++ {
		c := account[i]
		if topicByte(c) && c != ':' {
			b = append(b, c)
			continue
		}
		b = append(b, ':', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// topicByte reports whether c may appear in a topic name (protocol.ValidTopic).
func topicByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._-:/", c) >= 0
}

// Action says what a Request asks for.
type Action string

// Actions. new, cancel and replace are the trader's (the buy side's) FIX D,
// F and G in the account's trader session; the desk actions are the sell
// side's work on an order named by its OrderID (fix.Desk).
const (
	ActionNew     Action = "new"
	ActionCancel  Action = "cancel"
	ActionReplace Action = "replace"

	ActionDeskAccept        Action = "desk-accept"         // acknowledge a new desk order (ExecType 0)
	ActionDeskReject        Action = "desk-reject"         // reject it (ExecType 8); Reason is an OrdRejReason
	ActionDeskFill          Action = "desk-fill"           // execute LastQty at LastPx (ExecType F)
	ActionDeskAcceptCancel  Action = "desk-accept-cancel"  // accept the pending cancel (ExecType 4)
	ActionDeskRejectCancel  Action = "desk-reject-cancel"  // reject it (9); Reason is a CxlRejReason
	ActionDeskAcceptReplace Action = "desk-accept-replace" // accept the pending replace (ExecType 5)
	ActionDeskRejectReplace Action = "desk-reject-replace" // reject it (9); Reason is a CxlRejReason
	ActionDeskDoneForDay    Action = "desk-done-for-day"   // end the order's day (ExecType 3); any order
	ActionDeskCancel        Action = "desk-cancel"         // cancel on the sell side's initiative (ExecType 4); any order
	ActionDeskBust          Action = "desk-bust"           // cancel execution ExecRefID (ExecType H)
	ActionDeskCorrect       Action = "desk-correct"        // correct execution ExecRefID to LastQty at LastPx (ExecType G)
)

// Desk reports whether a is a desk action (naming the order by OrderID).
func (a Action) Desk() bool {
	return strings.HasPrefix(string(a), "desk-") && fieldRules[a].required != 0
}

// Request is one trader request, the JSON payload of a PublishEvent on
// RequestTopic. Field names are FIX's; a field a request's action does not
// take must be absent, and unknown fields are refused.
type Request struct {
	Action Action `json:"Action"`

	// new, cancel, replace.
	ClOrdID     string  `json:"ClOrdID,omitempty"`     // this request's ID: unique per account, for ever
	OrigClOrdID string  `json:"OrigClOrdID,omitempty"` // cancel, replace: the order's last accepted ClOrdID
	Account     string  `json:"Account,omitempty"`     // the account; its trader session is TraderSession(Account)
	Symbol      string  `json:"Symbol,omitempty"`      // new: required; cancel, replace: checked against the order
	Side        Side    `json:"Side,omitempty"`        // new: required; cancel, replace: checked against the order
	OrdType     OrdType `json:"OrdType,omitempty"`     // new, replace
	// Price: limit orders only (a market order has none). Decimals are
	// strings ("1.39231"); JSON numbers are accepted.
	Price       decimal.NullDecimal `json:"Price,omitzero"`
	OrderQty    decimal.NullDecimal `json:"OrderQty,omitzero"`     // new, replace
	TimeInForce TimeInForce         `json:"TimeInForce,omitempty"` // new, replace; absent is Day (a replace carries the whole order, as in FIX)
	HandlInst   HandlInst           `json:"HandlInst,omitempty"`   // new: absent or 1/2 auto venue, 3 the desk; replace: absent keeps the order's

	// Desk actions.
	OrderID   string              `json:"OrderID,omitempty"`   // the order, as the gateway named it
	LastQty   decimal.NullDecimal `json:"LastQty,omitzero"`    // desk-fill, desk-correct
	LastPx    decimal.NullDecimal `json:"LastPx,omitzero"`     // desk-fill, desk-correct
	ExecRefID string              `json:"ExecRefID,omitempty"` // desk-bust, desk-correct: the execution (its ExecID or venue exec id)
	// Reason: desk-reject an OrdRejReason (default 0, broker option);
	// desk-reject-cancel and desk-reject-replace a CxlRejReason (default 2,
	// broker option).
	Reason *int `json:"Reason,omitempty"`

	// Text: the text of desk rejects, cancels, busts and corrections;
	// on other actions it is only logged by the server (e.g. the trader's
	// acknowledgement of a stale price).
	Text string `json:"Text,omitempty"`
}

// ID returns what names the request in a Refusal: the ClOrdID of new,
// cancel and replace, the OrderID of desk actions.
func (r *Request) ID() string {
	if r.Action.Desk() {
		return r.OrderID
	}
	return r.ClOrdID
}

// Limits of request fields.
const (
	MaxRequestBytes = 4096 // the JSON payload
	MaxIDLen        = 64   // ClOrdID, OrigClOrdID, OrderID, ExecRefID, Account
	MaxSymbolLen    = 32
	MaxTextLen      = 256
	// MaxDecimalDigits bounds a decimal (a price or a quantity) written out
	// in full: its digits before and after the point together. The
	// exponent of "1e2000000" is cheap to parse and costs megabytes
	// wherever the decimal is written (journal, report); "1e1000000000"
	// costs hours.
	MaxDecimalDigits = 24
)

// CheckDecimal refuses a decimal of more than MaxDecimalDigits digits
// written out in full, without writing it out.
func CheckDecimal(d decimal.Decimal) error {
	exp := int(d.Exponent())
	whole := max(d.NumDigits()+exp, 1) // digits before the point ("0" at least)
	frac := max(-exp, 0)
	if whole+frac > MaxDecimalDigits {
		return fmt.Errorf("more than %d digits", MaxDecimalDigits)
	}
	return nil
}

// PrintableText reports whether s is valid UTF-8 without control
// characters: no C0 control (below 0x20, SOH included), no DEL (0x7f), no
// C1 control (U+0080 to U+009F). Text from outside must be so before it
// reaches a FIX field, the journal or a terminal: an SOH splits a FIX
// field, invalid UTF-8 does not survive the journal's JSON, an ESC drives
// a terminal.
func PrintableText(s string) bool {
	for len(s) > 0 {
		c, n := utf8.DecodeRuneInString(s)
		if c < 0x20 || c >= 0x7f && c <= 0x9f || c == utf8.RuneError && n == 1 {
			return false
		}
		s = s[n:]
	}
	return true
}

// DecodeRequest decodes and validates a request. Every error is a *Refusal.
func DecodeRequest(data []byte) (*Request, error) {
	if len(data) > MaxRequestBytes {
		return nil, &Refusal{Text: fmt.Sprintf("request of %d bytes: max %d", len(data), MaxRequestBytes)}
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&r)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		// Name the request if its envelope can be read, so the trader can
		// tell which one was refused.
		var id struct {
			Action           Action
			ClOrdID, OrderID string
		}
		_ = json.Unmarshal(data, &id)
		// The decoder's error may quote the payload (a decimal's text,
		// invalid UTF-8 and all): the refusal's text must stay printable.
		text := err.Error()
		if !PrintableText(text) {
			text = strconv.Quote(text)
		}
		rf := &Refusal{Text: "bad request: " + text}
		if fieldRules[id.Action].required != 0 {
			rf.Action = id.Action
			rf.ID = id.ClOrdID
			if id.Action.Desk() {
				rf.ID = id.OrderID
			}
			if !validID(rf.ID) {
				rf.Action, rf.ID = "", ""
			}
		}
		return nil, rf
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Encode returns the request's JSON payload.
func (r *Request) Encode() ([]byte, error) { return json.Marshal(r) }

// fields of a Request, as bits.
type fieldSet uint32

const (
	fClOrdID fieldSet = 1 << iota
	fOrigClOrdID
	fAccount
	fSymbol
	fSide
	fOrdType
	fPrice
	fOrderQty
	fTimeInForce
	fHandlInst
	fOrderID
	fLastQty
	fLastPx
	fExecRefID
	fReason
	fText
)

var fieldNames = []string{"ClOrdID", "OrigClOrdID", "Account", "Symbol", "Side", "OrdType", "Price", "OrderQty",
	"TimeInForce", "HandlInst", "OrderID", "LastQty", "LastPx", "ExecRefID", "Reason", "Text"}

// fieldRules: per action, the fields it requires and the others it takes.
var fieldRules = map[Action]struct{ required, optional fieldSet }{
	ActionNew:               {fClOrdID | fAccount | fSymbol | fSide | fOrdType | fOrderQty, fPrice | fTimeInForce | fHandlInst | fText},
	ActionCancel:            {fClOrdID | fOrigClOrdID | fAccount, fSymbol | fSide | fText},
	ActionReplace:           {fClOrdID | fOrigClOrdID | fAccount | fOrdType | fOrderQty, fSymbol | fSide | fPrice | fTimeInForce | fHandlInst | fText},
	ActionDeskAccept:        {fOrderID, fText},
	ActionDeskReject:        {fOrderID, fReason | fText},
	ActionDeskFill:          {fOrderID | fLastQty | fLastPx, fText},
	ActionDeskAcceptCancel:  {fOrderID, fText},
	ActionDeskRejectCancel:  {fOrderID, fReason | fText},
	ActionDeskAcceptReplace: {fOrderID, fText},
	ActionDeskRejectReplace: {fOrderID, fReason | fText},
	ActionDeskDoneForDay:    {fOrderID, fText},
	ActionDeskCancel:        {fOrderID, fText},
	ActionDeskBust:          {fOrderID | fExecRefID, fText},
	ActionDeskCorrect:       {fOrderID | fExecRefID | fLastQty | fLastPx, fText},
}

func (r *Request) present() fieldSet {
	var s fieldSet
	set := func(f fieldSet, ok bool) {
		if ok {
			s |= f
		}
	}
	set(fClOrdID, r.ClOrdID != "")
	set(fOrigClOrdID, r.OrigClOrdID != "")
	set(fAccount, r.Account != "")
	set(fSymbol, r.Symbol != "")
	set(fSide, r.Side != 0)
	set(fOrdType, r.OrdType != 0)
	set(fPrice, r.Price.Valid)
	set(fOrderQty, r.OrderQty.Valid)
	set(fTimeInForce, r.TimeInForce != 0)
	set(fHandlInst, r.HandlInst != 0)
	set(fOrderID, r.OrderID != "")
	set(fLastQty, r.LastQty.Valid)
	set(fLastPx, r.LastPx.Valid)
	set(fExecRefID, r.ExecRefID != "")
	set(fReason, r.Reason != nil)
	set(fText, r.Text != "")
	return s
}

func (s fieldSet) names() string {
	var out []string
	for i, n := range fieldNames {
		if s&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// Validate checks the request: its action, the fields the action requires
// and takes, and every value. The error is a *Refusal.
func (r *Request) Validate() error {
	rule, ok := fieldRules[r.Action]
	if !ok {
		return &Refusal{Text: fmt.Sprintf("bad request: unknown Action %q", r.Action)}
	}
	if id := r.ID(); id != "" && !validID(id) {
		return &Refusal{Text: fmt.Sprintf("bad request: %s: %s", r.Action, idError(id))}
	}
	refuse := func(format string, args ...any) error { return r.Refuse(fmt.Errorf(format, args...)) }
	have := r.present()
	if missing := rule.required &^ have; missing != 0 {
		return refuse("missing %s", missing.names())
	}
	if extra := have &^ (rule.required | rule.optional); extra != 0 {
		return refuse("%s does not take %s", r.Action, extra.names())
	}
	for _, f := range []struct{ name, v string }{{"OrigClOrdID", r.OrigClOrdID}, {"ExecRefID", r.ExecRefID}} {
		if f.v != "" && !validID(f.v) {
			return refuse("%s: %s", f.name, idError(f.v))
		}
	}
	if r.Account != "" && !validAccount(r.Account) {
		return refuse("Account %q: 1 to %d bytes of A-Z a-z 0-9 . _ - : /", r.Account, MaxIDLen)
	}
	if r.Symbol != "" && !validSymbol(r.Symbol) {
		return refuse("Symbol %q: 1 to %d bytes of A-Z a-z 0-9 . _ - : /", r.Symbol, MaxSymbolLen)
	}
	if len(r.Text) > MaxTextLen {
		return refuse("Text of %d bytes: max %d", len(r.Text), MaxTextLen)
	}
	if !PrintableText(r.Text) {
		return refuse("Text: control characters or invalid UTF-8")
	}
	switch {
	case have&fSide != 0 && !r.Side.Valid():
		return refuse("unknown Side %q", charText(byte(r.Side)))
	case have&fOrdType != 0 && !r.OrdType.Valid():
		return refuse("unsupported OrdType %q (1 market, 2 limit)", charText(byte(r.OrdType)))
	case !r.TimeInForce.Valid():
		return refuse("unsupported TimeInForce %q (0 Day, 1 GTC, 3 IOC, 4 FOK)", charText(byte(r.TimeInForce)))
	case !r.HandlInst.Valid():
		return refuse("unknown HandlInst %q (1, 2 auto venue, 3 desk)", charText(byte(r.HandlInst)))
	}
	for _, d := range []struct {
		name string
		v    decimal.NullDecimal
	}{{"OrderQty", r.OrderQty}, {"Price", r.Price}, {"LastQty", r.LastQty}, {"LastPx", r.LastPx}} {
		if !d.v.Valid {
			continue
		}
		if err := CheckDecimal(d.v.Decimal); err != nil {
			return refuse("%s: %v", d.name, err) // not the value: written out, it is what costs
		}
		if d.v.Decimal.Sign() <= 0 {
			return refuse("%s must be more than 0, got %s", d.name, d.v.Decimal)
		}
	}
	if have&fOrdType != 0 {
		switch {
		case r.OrdType == OrdTypeLimit && !r.Price.Valid:
			return refuse("a limit order needs a Price")
		case r.OrdType == OrdTypeMarket && r.Price.Valid:
			return refuse("a market order has no Price")
		}
	}
	if r.Reason != nil && (*r.Reason < 0 || *r.Reason > 99) {
		return refuse("Reason %d: want 0 to 99", *r.Reason)
	}
	return nil
}

func validID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func idError(s string) string {
	return fmt.Sprintf("ID %q: 1 to %d bytes of printable ASCII, no spaces", s, MaxIDLen)
}

func validAccount(s string) bool { return topicBytes(s, MaxIDLen) }
func validSymbol(s string) bool  { return topicBytes(s, MaxSymbolLen) }

func topicBytes(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !topicByte(s[i]) {
			return false
		}
	}
	return true
}

// Refusal is why a request was refused. Nothing of it was applied: no
// order, no event, and its ClOrdID is not consumed (a request refused for a
// duplicate ClOrdID consumes nothing either: the ClOrdID was already used).
//
// The one exception is a Refusal with Unknown set: the gateway failed
// while committing the request (e.g. its journal failed), so it may or may
// not have been applied. Do not resubmit it as a new order: its order
// events, or a status request once the gateway is back, tell.
//
// The server sends it back as the reason of an Error frame (code 1004,
// topic RequestTopic), in the form Error returns:
//
//	ACTION ID: TEXT      e.g. "new AB12-7: duplicate ClOrdID AB12-7 in session TRADER:DEMO"
//	ACTION ID: outcome unknown: TEXT   Unknown set
//	TEXT                 when the request cannot be named (e.g. not JSON)
//
// ParseRefusal reads the first two forms back.
type Refusal struct {
	Action  Action // "" when the request could not be named
	ID      string // the request's ID(): a ClOrdID, or the OrderID of a desk action
	Text    string
	Unknown bool // the request may have been applied (see above)
}

// unknownPrefix starts the text of a Refusal with Unknown set.
const unknownPrefix = "outcome unknown: "

// Error returns the refusal's text, as sent in the Error frame.
func (r *Refusal) Error() string {
	text := r.Text
	if r.Unknown {
		text = unknownPrefix + text
	}
	if r.Action == "" || r.ID == "" {
		return text
	}
	return string(r.Action) + " " + r.ID + ": " + text
}

// Refuse returns a Refusal of r for err (err itself if it is one already).
func (r *Request) Refuse(err error) *Refusal {
	var rf *Refusal
	if errors.As(err, &rf) {
		return rf
	}
	out := &Refusal{Action: r.Action, ID: r.ID(), Text: err.Error()}
	if !validID(out.ID) {
		out.Action, out.ID = "", ""
		out.Text = string(r.Action) + ": " + out.Text
	}
	return out
}

// ParseRefusal parses an Error frame's reason written by Refusal.Error. It
// reports false for a reason that does not name a request.
func ParseRefusal(reason string) (*Refusal, bool) {
	action, rest, ok := strings.Cut(reason, " ")
	if !ok {
		return nil, false
	}
	id, text, ok := strings.Cut(rest, ": ")
	if !ok || !validID(id) || fieldRules[Action(action)].required == 0 {
		return nil, false
	}
	text, unknown := strings.CutPrefix(text, unknownPrefix)
	return &Refusal{Action: Action(action), ID: id, Text: text, Unknown: unknown}, true
}
