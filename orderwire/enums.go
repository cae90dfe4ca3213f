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

// Side values accepted by the book.
const (
	SideBuy             Side = '1'
	SideSell            Side = '2'
	SideBuyMinus        Side = '3'
	SideSellPlus        Side = '4'
	SideSellShort       Side = '5'
	SideSellShortExempt Side = '6'
)

// Valid reports whether s is a side the book accepts.
func (s Side) Valid() bool { return s >= SideBuy && s <= SideSellShortExempt }

func (s Side) String() string {
	switch s {
	case SideBuy:
		return "Buy"
	case SideSell:
		return "Sell"
	case SideBuyMinus:
		return "BuyMinus"
	case SideSellPlus:
		return "SellPlus"
	case SideSellShort:
		return "SellShort"
	case SideSellShortExempt:
		return "SellShortExempt"
	}
	return unknownChar("Side", byte(s))
}

// MarshalText encodes the FIX character.
func (s Side) MarshalText() ([]byte, error) { return charText(byte(s)), nil }

// UnmarshalText decodes the FIX character.
func (s *Side) UnmarshalText(b []byte) error { return charFromText((*byte)(s), "Side", b) }

// OrdType is FIX tag 40. The book handles market and limit orders.
type OrdType byte

// OrdType values accepted by the book.
const (
	OrdTypeMarket OrdType = '1'
	OrdTypeLimit  OrdType = '2'
)

// Valid reports whether t is an order type the book accepts.
func (t OrdType) Valid() bool { return t == OrdTypeMarket || t == OrdTypeLimit }

func (t OrdType) String() string {
	switch t {
	case OrdTypeMarket:
		return "Market"
	case OrdTypeLimit:
		return "Limit"
	}
	return unknownChar("OrdType", byte(t))
}

// MarshalText encodes the FIX character.
func (t OrdType) MarshalText() ([]byte, error) { return charText(byte(t)), nil }

// UnmarshalText decodes the FIX character.
func (t *OrdType) UnmarshalText(b []byte) error { return charFromText((*byte)(t), "OrdType", b) }

// TimeInForce is FIX tag 59. The zero value (tag absent) means Day.
type TimeInForce byte

// TimeInForce values accepted by the book.
const (
	TimeInForceDay TimeInForce = '0'
	TimeInForceGTC TimeInForce = '1'
	TimeInForceIOC TimeInForce = '3'
	TimeInForceFOK TimeInForce = '4'
)

// Valid reports whether t is a time in force the book accepts (0 = absent = Day).
func (t TimeInForce) Valid() bool {
	switch t {
	case 0, TimeInForceDay, TimeInForceGTC, TimeInForceIOC, TimeInForceFOK:
		return true
	}
	return false
}

// Normalize maps the absent value to Day.
func (t TimeInForce) Normalize() TimeInForce {
	if t == 0 {
		return TimeInForceDay
	}
	return t
}

func (t TimeInForce) String() string {
	switch t {
	case 0:
		return ""
	case TimeInForceDay:
		return "Day"
	case TimeInForceGTC:
		return "GTC"
	case TimeInForceIOC:
		return "IOC"
	case TimeInForceFOK:
		return "FOK"
	}
	return unknownChar("TimeInForce", byte(t))
}

// MarshalText encodes the FIX character.
func (t TimeInForce) MarshalText() ([]byte, error) { return charText(byte(t)), nil }

// UnmarshalText decodes the FIX character.
func (t *TimeInForce) UnmarshalText(b []byte) error {
	return charFromText((*byte)(t), "TimeInForce", b)
}

// HandlInst is FIX tag 21. The zero value means absent.
type HandlInst byte

// HandlInst values accepted by the book.
const (
	HandlInstAutomatedPrivate HandlInst = '1'
	HandlInstAutomatedPublic  HandlInst = '2'
	HandlInstManual           HandlInst = '3'
)

// Valid reports whether h is absent or a known value.
func (h HandlInst) Valid() bool { return h == 0 || (h >= '1' && h <= '3') }

func (h HandlInst) String() string {
	switch h {
	case 0:
		return ""
	case HandlInstAutomatedPrivate:
		return "AutomatedPrivate"
	case HandlInstAutomatedPublic:
		return "AutomatedPublic"
	case HandlInstManual:
		return "Manual"
	}
	return unknownChar("HandlInst", byte(h))
}

// MarshalText encodes the FIX character.
func (h HandlInst) MarshalText() ([]byte, error) { return charText(byte(h)), nil }

// UnmarshalText decodes the FIX character.
func (h *HandlInst) UnmarshalText(b []byte) error {
	return charFromText((*byte)(h), "HandlInst", b)
}

// ExecType is FIX tag 150.
type ExecType byte

// ExecType values emitted by the book.
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

func (e ExecType) String() string {
	switch e {
	case ExecTypeNew:
		return "New"
	case ExecTypeDoneForDay:
		return "DoneForDay"
	case ExecTypeCanceled:
		return "Canceled"
	case ExecTypeReplaced:
		return "Replaced"
	case ExecTypePendingCancel:
		return "PendingCancel"
	case ExecTypeRejected:
		return "Rejected"
	case ExecTypePendingNew:
		return "PendingNew"
	case ExecTypeRestated:
		return "Restated"
	case ExecTypePendingReplace:
		return "PendingReplace"
	case ExecTypeTrade:
		return "Trade"
	case ExecTypeTradeCorrect:
		return "TradeCorrect"
	case ExecTypeTradeCancel:
		return "TradeCancel"
	case ExecTypeOrderStatus:
		return "OrderStatus"
	}
	return unknownChar("ExecType", byte(e))
}

// MarshalText encodes the FIX character.
func (e ExecType) MarshalText() ([]byte, error) { return charText(byte(e)), nil }

// UnmarshalText decodes the FIX character.
func (e *ExecType) UnmarshalText(b []byte) error {
	return charFromText((*byte)(e), "ExecType", b)
}

// OrdStatus is FIX tag 39. When several apply, the book reports the one with
// the highest precedence (see Precedence).
type OrdStatus byte

// OrdStatus values emitted by the book.
const (
	OrdStatusNew             OrdStatus = '0'
	OrdStatusPartiallyFilled OrdStatus = '1'
	OrdStatusFilled          OrdStatus = '2'
	OrdStatusDoneForDay      OrdStatus = '3'
	OrdStatusCanceled        OrdStatus = '4'
	OrdStatusPendingCancel   OrdStatus = '6'
	OrdStatusStopped         OrdStatus = '7'
	OrdStatusRejected        OrdStatus = '8'
	OrdStatusPendingNew      OrdStatus = 'A'
	OrdStatusPendingReplace  OrdStatus = 'E'
)

// Precedence is the FIX 4.4 precedence of the status: when an order is in
// several states at once the one with the highest value is reported.
// Pending Cancel > Pending Replace > Done for Day > Filled > Stopped >
// Canceled > Partially Filled > New = Pending New = Rejected.
func (s OrdStatus) Precedence() int {
	switch s {
	case OrdStatusPendingCancel:
		return 12
	case OrdStatusPendingReplace:
		return 11
	case OrdStatusDoneForDay:
		return 10
	case OrdStatusFilled:
		return 8
	case OrdStatusStopped:
		return 7
	case OrdStatusCanceled:
		return 5
	case OrdStatusPartiallyFilled:
		return 4
	case OrdStatusNew, OrdStatusPendingNew, OrdStatusRejected:
		return 2
	}
	return 0
}

func (s OrdStatus) String() string {
	switch s {
	case OrdStatusNew:
		return "New"
	case OrdStatusPartiallyFilled:
		return "PartiallyFilled"
	case OrdStatusFilled:
		return "Filled"
	case OrdStatusDoneForDay:
		return "DoneForDay"
	case OrdStatusCanceled:
		return "Canceled"
	case OrdStatusPendingCancel:
		return "PendingCancel"
	case OrdStatusStopped:
		return "Stopped"
	case OrdStatusRejected:
		return "Rejected"
	case OrdStatusPendingNew:
		return "PendingNew"
	case OrdStatusPendingReplace:
		return "PendingReplace"
	}
	return unknownChar("OrdStatus", byte(s))
}

// MarshalText encodes the FIX character.
func (s OrdStatus) MarshalText() ([]byte, error) { return charText(byte(s)), nil }

// UnmarshalText decodes the FIX character.
func (s *OrdStatus) UnmarshalText(b []byte) error {
	return charFromText((*byte)(s), "OrdStatus", b)
}

// CxlRejResponseTo is FIX tag 434.
type CxlRejResponseTo byte

// CxlRejResponseTo values.
const (
	CxlRejResponseToCancel  CxlRejResponseTo = '1'
	CxlRejResponseToReplace CxlRejResponseTo = '2'
)

func (r CxlRejResponseTo) String() string {
	switch r {
	case CxlRejResponseToCancel:
		return "OrderCancelRequest"
	case CxlRejResponseToReplace:
		return "OrderCancelReplaceRequest"
	}
	return unknownChar("CxlRejResponseTo", byte(r))
}

// MarshalText encodes the FIX character.
func (r CxlRejResponseTo) MarshalText() ([]byte, error) { return charText(byte(r)), nil }

// UnmarshalText decodes the FIX character.
func (r *CxlRejResponseTo) UnmarshalText(b []byte) error {
	return charFromText((*byte)(r), "CxlRejResponseTo", b)
}

// OrdRejReason is FIX tag 103. NoOrdRejReason (-1) means the tag is absent.
type OrdRejReason int

// OrdRejReason values used by the book.
const (
	NoOrdRejReason                        OrdRejReason = -1
	OrdRejReasonBrokerOption              OrdRejReason = 0
	OrdRejReasonUnknownSymbol             OrdRejReason = 1
	OrdRejReasonExchangeClosed            OrdRejReason = 2
	OrdRejReasonOrderExceedsLimit         OrdRejReason = 3
	OrdRejReasonTooLateToEnter            OrdRejReason = 4
	OrdRejReasonUnknownOrder              OrdRejReason = 5
	OrdRejReasonDuplicateOrder            OrdRejReason = 6
	OrdRejReasonUnsupportedCharacteristic OrdRejReason = 11
	OrdRejReasonIncorrectQuantity         OrdRejReason = 13
	OrdRejReasonOther                     OrdRejReason = 99
)

// Set reports whether the tag is present.
func (r OrdRejReason) Set() bool { return r >= 0 }

func (r OrdRejReason) String() string {
	switch r {
	case NoOrdRejReason:
		return ""
	case OrdRejReasonBrokerOption:
		return "BrokerOption"
	case OrdRejReasonUnknownSymbol:
		return "UnknownSymbol"
	case OrdRejReasonExchangeClosed:
		return "ExchangeClosed"
	case OrdRejReasonOrderExceedsLimit:
		return "OrderExceedsLimit"
	case OrdRejReasonTooLateToEnter:
		return "TooLateToEnter"
	case OrdRejReasonUnknownOrder:
		return "UnknownOrder"
	case OrdRejReasonDuplicateOrder:
		return "DuplicateOrder"
	case OrdRejReasonUnsupportedCharacteristic:
		return "UnsupportedOrderCharacteristic"
	case OrdRejReasonIncorrectQuantity:
		return "IncorrectQuantity"
	case OrdRejReasonOther:
		return "Other"
	}
	return "OrdRejReason(" + strconv.Itoa(int(r)) + ")"
}

// CxlRejReason is FIX tag 102.
type CxlRejReason int

// CxlRejReason values used by the book.
const (
	CxlRejReasonTooLate          CxlRejReason = 0
	CxlRejReasonUnknownOrder     CxlRejReason = 1
	CxlRejReasonBrokerOption     CxlRejReason = 2
	CxlRejReasonAlreadyPending   CxlRejReason = 3
	CxlRejReasonDuplicateClOrdID CxlRejReason = 6
	CxlRejReasonOther            CxlRejReason = 99
)

func (r CxlRejReason) String() string {
	switch r {
	case CxlRejReasonTooLate:
		return "TooLateToCancel"
	case CxlRejReasonUnknownOrder:
		return "UnknownOrder"
	case CxlRejReasonBrokerOption:
		return "BrokerOption"
	case CxlRejReasonAlreadyPending:
		return "AlreadyPendingCancelOrReplace"
	case CxlRejReasonDuplicateClOrdID:
		return "DuplicateClOrdID"
	case CxlRejReasonOther:
		return "Other"
	}
	return "CxlRejReason(" + strconv.Itoa(int(r)) + ")"
}

// ExecRestatementReason is FIX tag 378. NoRestatementReason (-1) means absent.
type ExecRestatementReason int

// ExecRestatementReason values (FIX 4.4).
const (
	NoRestatementReason              ExecRestatementReason = -1
	RestatementGTCorporateAction     ExecRestatementReason = 0
	RestatementGTRenewal             ExecRestatementReason = 1
	RestatementVerbalChange          ExecRestatementReason = 2
	RestatementRepricing             ExecRestatementReason = 3
	RestatementBrokerOption          ExecRestatementReason = 4
	RestatementPartialDecline        ExecRestatementReason = 5
	RestatementCancelOnTradingHalt   ExecRestatementReason = 6
	RestatementCancelOnSystemFailure ExecRestatementReason = 7
	RestatementMarketOption          ExecRestatementReason = 8
	RestatementCanceledNotBest       ExecRestatementReason = 9
	RestatementWarehouseRecap        ExecRestatementReason = 10
	RestatementOther                 ExecRestatementReason = 99
)

// Set reports whether the tag is present.
func (r ExecRestatementReason) Set() bool { return r >= 0 }

func (r ExecRestatementReason) String() string {
	switch r {
	case NoRestatementReason:
		return ""
	case RestatementGTCorporateAction:
		return "GTCorporateAction"
	case RestatementGTRenewal:
		return "GTRenewal"
	case RestatementVerbalChange:
		return "VerbalChange"
	case RestatementRepricing:
		return "Repricing"
	case RestatementBrokerOption:
		return "BrokerOption"
	case RestatementPartialDecline:
		return "PartialDeclineOfOrderQty"
	case RestatementCancelOnTradingHalt:
		return "CancelOnTradingHalt"
	case RestatementCancelOnSystemFailure:
		return "CancelOnSystemFailure"
	case RestatementMarketOption:
		return "MarketOption"
	case RestatementCanceledNotBest:
		return "CanceledNotBest"
	case RestatementWarehouseRecap:
		return "WarehouseRecap"
	case RestatementOther:
		return "Other"
	}
	return "ExecRestatementReason(" + strconv.Itoa(int(r)) + ")"
}

// charText encodes a FIX char. Printable ASCII is the character itself, the
// absent value is empty, anything else is "0xNN" so that JSON (which only
// carries UTF-8) round-trips every byte a counterparty could send.
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

func unknownChar(name string, c byte) string {
	if c == 0 {
		return name + "(none)"
	}
	return name + "(" + strconv.QuoteRune(rune(c)) + ")"
}
