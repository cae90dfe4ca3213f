package orderwire

import (
	"fmt"
	"strconv"
)

// The FIX enumerations below carry their FIX 4.4 wire value, exactly as the
// gateway's order state machine (fix/order) does: a char field is a byte
// holding the character ('F' for ExecType Trade), an int field the integer.
// In JSON a char is a one-character string ("F"; "" when absent; "0xNN" for
// a byte that is not printable ASCII), an int a number.

// Side is FIX tag 54.
type Side byte

// Sides.
const (
	SideBuy             Side = '1'
	SideSell            Side = '2'
	SideBuyMinus        Side = '3'
	SideSellPlus        Side = '4'
	SideSellShort       Side = '5'
	SideSellShortExempt Side = '6'
)

// Valid reports whether s is a side the gateway accepts.
func (s Side) Valid() bool { return s >= SideBuy && s <= SideSellShortExempt }

// OrdType is FIX tag 40.
type OrdType byte

// Order types the gateway accepts.
const (
	OrdTypeMarket OrdType = '1'
	OrdTypeLimit  OrdType = '2'
)

// Valid reports whether t is an order type the gateway accepts.
func (t OrdType) Valid() bool { return t == OrdTypeMarket || t == OrdTypeLimit }

// TimeInForce is FIX tag 59; absent (0) means Day.
type TimeInForce byte

// Times in force the gateway accepts.
const (
	TimeInForceDay TimeInForce = '0'
	TimeInForceGTC TimeInForce = '1'
	TimeInForceIOC TimeInForce = '3'
	TimeInForceFOK TimeInForce = '4'
)

// Valid reports whether t is absent or a time in force the gateway accepts.
func (t TimeInForce) Valid() bool {
	switch t {
	case 0, TimeInForceDay, TimeInForceGTC, TimeInForceIOC, TimeInForceFOK:
		return true
	}
	return false
}

// HandlInst is FIX tag 21; absent (0) sends the order to the auto venue.
type HandlInst byte

// HandlInst values. Manual (3) orders wait at the desk for a trader.
const (
	HandlInstAutomatedPrivate HandlInst = '1'
	HandlInstAutomatedPublic  HandlInst = '2'
	HandlInstManual           HandlInst = '3'
)

// Valid reports whether h is absent or a known value.
func (h HandlInst) Valid() bool { return h == 0 || (h >= '1' && h <= '3') }

// ExecType is FIX tag 150.
type ExecType byte

// ExecType values the gateway sends.
const (
	ExecTypeNew            ExecType = '0'
	ExecTypeDoneForDay     ExecType = '3'
	ExecTypeCanceled       ExecType = '4'
	ExecTypeReplaced       ExecType = '5'
	ExecTypePendingCancel  ExecType = '6'
	ExecTypeRejected       ExecType = '8'
	ExecTypePendingNew     ExecType = 'A'
	ExecTypeRestated       ExecType = 'D'
	ExecTypePendingReplace ExecType = 'E'
	ExecTypeTrade          ExecType = 'F'
	ExecTypeTradeCorrect   ExecType = 'G'
	ExecTypeTradeCancel    ExecType = 'H'
	ExecTypeOrderStatus    ExecType = 'I'
)

// OrdStatus is FIX tag 39.
type OrdStatus byte

// OrdStatus values the gateway sends.
const (
	OrdStatusNew             OrdStatus = '0'
	OrdStatusPartiallyFilled OrdStatus = '1'
	OrdStatusFilled          OrdStatus = '2'
	OrdStatusDoneForDay      OrdStatus = '3'
	OrdStatusCanceled        OrdStatus = '4'
	OrdStatusPendingCancel   OrdStatus = '6'
	OrdStatusRejected        OrdStatus = '8'
	OrdStatusPendingNew      OrdStatus = 'A'
	OrdStatusPendingReplace  OrdStatus = 'E'
)

// CxlRejResponseTo is FIX tag 434.
type CxlRejResponseTo byte

// CxlRejResponseTo values.
const (
	CxlRejResponseToCancel  CxlRejResponseTo = '1'
	CxlRejResponseToReplace CxlRejResponseTo = '2'
)

// OrdRejReason is FIX tag 103; -1 means absent.
type OrdRejReason int

// OrdRejReason values.
const (
	NoOrdRejReason             OrdRejReason = -1
	OrdRejReasonBrokerOption   OrdRejReason = 0
	OrdRejReasonUnknownSymbol  OrdRejReason = 1
	OrdRejReasonDuplicateOrder OrdRejReason = 6
)

// CxlRejReason is FIX tag 102.
type CxlRejReason int

// CxlRejReason values.
const (
	CxlRejReasonTooLate          CxlRejReason = 0
	CxlRejReasonUnknownOrder     CxlRejReason = 1
	CxlRejReasonBrokerOption     CxlRejReason = 2
	CxlRejReasonAlreadyPending   CxlRejReason = 3
	CxlRejReasonDuplicateClOrdID CxlRejReason = 6
	CxlRejReasonOther            CxlRejReason = 99
)

// String names the reason as FIX does.
func (r CxlRejReason) String() string {
	switch r {
	case CxlRejReasonTooLate:
		return "too late to cancel"
	case CxlRejReasonUnknownOrder:
		return "unknown order"
	case CxlRejReasonBrokerOption:
		return "broker option"
	case CxlRejReasonAlreadyPending:
		return "already pending cancel or replace"
	case CxlRejReasonDuplicateClOrdID:
		return "duplicate ClOrdID"
	case CxlRejReasonOther:
		return "other"
	}
	return "CxlRejReason(" + strconv.Itoa(int(r)) + ")"
}

// ExecRestatementReason is FIX tag 378; -1 means absent.
type ExecRestatementReason int

// MarshalText and UnmarshalText implementations: one character, as
// fix/order writes them.

// MarshalText encodes the FIX character.
func (s Side) MarshalText() ([]byte, error) { return charText(byte(s)), nil }

// UnmarshalText decodes the FIX character.
func (s *Side) UnmarshalText(b []byte) error { return charFromText((*byte)(s), "Side", b) }

// MarshalText encodes the FIX character.
func (t OrdType) MarshalText() ([]byte, error) { return charText(byte(t)), nil }

// UnmarshalText decodes the FIX character.
func (t *OrdType) UnmarshalText(b []byte) error { return charFromText((*byte)(t), "OrdType", b) }

// MarshalText encodes the FIX character.
func (t TimeInForce) MarshalText() ([]byte, error) { return charText(byte(t)), nil }

// UnmarshalText decodes the FIX character.
func (t *TimeInForce) UnmarshalText(b []byte) error {
	return charFromText((*byte)(t), "TimeInForce", b)
}

// MarshalText encodes the FIX character.
func (h HandlInst) MarshalText() ([]byte, error) { return charText(byte(h)), nil }

// UnmarshalText decodes the FIX character.
func (h *HandlInst) UnmarshalText(b []byte) error { return charFromText((*byte)(h), "HandlInst", b) }

// MarshalText encodes the FIX character.
func (e ExecType) MarshalText() ([]byte, error) { return charText(byte(e)), nil }

// UnmarshalText decodes the FIX character.
func (e *ExecType) UnmarshalText(b []byte) error { return charFromText((*byte)(e), "ExecType", b) }

// MarshalText encodes the FIX character.
func (s OrdStatus) MarshalText() ([]byte, error) { return charText(byte(s)), nil }

// UnmarshalText decodes the FIX character.
func (s *OrdStatus) UnmarshalText(b []byte) error { return charFromText((*byte)(s), "OrdStatus", b) }

// MarshalText encodes the FIX character.
func (r CxlRejResponseTo) MarshalText() ([]byte, error) { return charText(byte(r)), nil }

// UnmarshalText decodes the FIX character.
func (r *CxlRejResponseTo) UnmarshalText(b []byte) error {
	return charFromText((*byte)(r), "CxlRejResponseTo", b)
}

// charText encodes a FIX char: printable ASCII as itself, absent as "",
// anything else as "0xNN".
func charText(c byte) []byte {
	switch {
	case c == 0:
		return []byte{}
	case c > ' ' && c < 0x7f:
		return []byte{c}
	}
	const hex = "0123456789abcdef"
	return []byte{'0', 'x', hex[c>>4], hex[c&0xf]}
}

func charFromText(dst *byte, name string, b []byte) error {
	switch len(b) {
	case 0:
		*dst = 0
		return nil
	case 1:
		*dst = b[0]
		return nil
	case 4:
		if b[0] == '0' && b[1] == 'x' {
			v, err := strconv.ParseUint(string(b[2:]), 16, 8)
			if err == nil {
				*dst = byte(v)
				return nil
			}
		}
	}
	return fmt.Errorf("%s must be one character, got %q", name, b)
}
