package fix

import (
	"fmt"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
	"github.com/shopspring/decimal"

	"tickwire/orderwire"
)

// reader reads body fields, keeping the first error. The data dictionary
// has already checked types and enumerations. The reader bounds what it
// lets through before it reaches the engine, the journal and the order
// topics, with a session Reject naming the tag: a field longer than
// maxFieldLen, text that is not printable (orderwire.PrintableText: an
// invalid UTF-8 ClOrdID would not survive the journal's JSON, a control
// character would end up in the Text of a report), a decimal of more than
// orderwire.MaxDecimalDigits digits. What makes no business sense (a zero
// quantity) is the order book's to reject.
type reader struct {
	m   *quickfix.Message
	err quickfix.MessageRejectError
}

// SessionRejectReasons of the reader's refusals (FIX 4.4 tag 373).
const (
	rejectValueIncorrect = 5 // out of range: too long, too many digits
	rejectDataFormat     = 6 // incorrect data format: not printable text
)

// maxFieldLen is the longest value of a string field the router reads: the
// bounds of a trader's request (orderwire), so a FIX order and a trader's
// share them.
func maxFieldLen(t quickfix.Tag) int {
	if t == tag.Symbol {
		return orderwire.MaxSymbolLen
	}
	return orderwire.MaxIDLen // IDs, Account, one-character and decimal fields
}

func (r *reader) str(t quickfix.Tag) string {
	if !r.m.Body.Has(t) {
		return ""
	}
	v, err := r.m.Body.GetString(t)
	switch {
	case err != nil:
		r.keep(err)
	case len(v) > maxFieldLen(t):
		r.reject(t, rejectValueIncorrect, "value of %d bytes: max %d", len(v), maxFieldLen(t))
	case !orderwire.PrintableText(v):
		r.reject(t, rejectDataFormat, "control characters or invalid UTF-8")
	default:
		return v
	}
	return ""
}

// char returns a one-character field, 0 when absent. A longer value maps
// to 0x7f, which no enumeration of the book accepts (so it is rejected with
// a reason rather than truncated into a valid value).
func (r *reader) char(t quickfix.Tag) byte {
	v := r.str(t)
	switch len(v) {
	case 0:
		return 0
	case 1:
		return v[0]
	}
	return 0x7f
}

func (r *reader) dec(t quickfix.Tag) decimal.Decimal {
	d := r.nullDec(t)
	return d.Decimal
}

func (r *reader) nullDec(t quickfix.Tag) decimal.NullDecimal {
	if !r.m.Body.Has(t) {
		return decimal.NullDecimal{}
	}
	s := r.str(t)
	if r.err != nil {
		return decimal.NullDecimal{} // the message is rejected already: parse nothing more
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		r.keep(quickfix.IncorrectDataFormatForValue(t))
		return decimal.NullDecimal{}
	}
	if err := orderwire.CheckDecimal(d); err != nil {
		r.reject(t, rejectValueIncorrect, "%v", err)
		return decimal.NullDecimal{}
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}
}

func (r *reader) possResend() bool {
	if !r.m.Header.Has(tag.PossResend) {
		return false
	}
	v, err := r.m.Header.GetBool(tag.PossResend)
	r.keep(err)
	return v
}

// reject keeps a session Reject of tag t whose Text says why.
func (r *reader) reject(t quickfix.Tag, reason int, format string, args ...any) {
	r.keep(quickfix.NewMessageRejectError(fmt.Sprintf("tag %d: ", t)+fmt.Sprintf(format, args...), reason, &t))
}

func (r *reader) keep(err quickfix.MessageRejectError) {
	if err != nil && r.err == nil {
		r.err = err
	}
}
