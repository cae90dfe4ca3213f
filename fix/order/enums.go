package order

import "tickwire/orderwire"

// The FIX enumerations are orderwire's: the wire payloads traders and the
// gateway exchange and the state machine share one definition (their FIX 4.4
// values, String names, JSON text). These aliases keep the state machine's
// vocabulary.

type (
	Side                  = orderwire.Side
	OrdType               = orderwire.OrdType
	TimeInForce           = orderwire.TimeInForce
	HandlInst             = orderwire.HandlInst
	ExecType              = orderwire.ExecType
	OrdStatus             = orderwire.OrdStatus
	CxlRejResponseTo      = orderwire.CxlRejResponseTo
	OrdRejReason          = orderwire.OrdRejReason
	CxlRejReason          = orderwire.CxlRejReason
	ExecRestatementReason = orderwire.ExecRestatementReason
)

const (
	SideBuy                               = orderwire.SideBuy
	SideSell                              = orderwire.SideSell
	SideBuyMinus                          = orderwire.SideBuyMinus
	SideSellPlus                          = orderwire.SideSellPlus
	SideSellShort                         = orderwire.SideSellShort
	SideSellShortExempt                   = orderwire.SideSellShortExempt
	OrdTypeMarket                         = orderwire.OrdTypeMarket
	OrdTypeLimit                          = orderwire.OrdTypeLimit
	TimeInForceDay                        = orderwire.TimeInForceDay
	TimeInForceGTC                        = orderwire.TimeInForceGTC
	TimeInForceIOC                        = orderwire.TimeInForceIOC
	TimeInForceFOK                        = orderwire.TimeInForceFOK
	HandlInstAutomatedPrivate             = orderwire.HandlInstAutomatedPrivate
	HandlInstAutomatedPublic              = orderwire.HandlInstAutomatedPublic
	HandlInstManual                       = orderwire.HandlInstManual
	ExecTypeNew                           = orderwire.ExecTypeNew
	ExecTypeDoneForDay                    = orderwire.ExecTypeDoneForDay
	ExecTypeCanceled                      = orderwire.ExecTypeCanceled
	ExecTypeReplaced                      = orderwire.ExecTypeReplaced
	ExecTypePendingCancel                 = orderwire.ExecTypePendingCancel
	ExecTypeRejected                      = orderwire.ExecTypeRejected
	ExecTypePendingNew                    = orderwire.ExecTypePendingNew
	ExecTypeRestated                      = orderwire.ExecTypeRestated
	ExecTypePendingReplace                = orderwire.ExecTypePendingReplace
	ExecTypeTrade                         = orderwire.ExecTypeTrade
	ExecTypeTradeCorrect                  = orderwire.ExecTypeTradeCorrect
	ExecTypeTradeCancel                   = orderwire.ExecTypeTradeCancel
	ExecTypeOrderStatus                   = orderwire.ExecTypeOrderStatus
	OrdStatusNew                          = orderwire.OrdStatusNew
	OrdStatusPartiallyFilled              = orderwire.OrdStatusPartiallyFilled
	OrdStatusFilled                       = orderwire.OrdStatusFilled
	OrdStatusDoneForDay                   = orderwire.OrdStatusDoneForDay
	OrdStatusCanceled                     = orderwire.OrdStatusCanceled
	OrdStatusPendingCancel                = orderwire.OrdStatusPendingCancel
	OrdStatusStopped                      = orderwire.OrdStatusStopped
	OrdStatusRejected                     = orderwire.OrdStatusRejected
	OrdStatusPendingNew                   = orderwire.OrdStatusPendingNew
	OrdStatusPendingReplace               = orderwire.OrdStatusPendingReplace
	CxlRejResponseToCancel                = orderwire.CxlRejResponseToCancel
	CxlRejResponseToReplace               = orderwire.CxlRejResponseToReplace
	NoOrdRejReason                        = orderwire.NoOrdRejReason
	OrdRejReasonBrokerOption              = orderwire.OrdRejReasonBrokerOption
	OrdRejReasonUnknownSymbol             = orderwire.OrdRejReasonUnknownSymbol
	OrdRejReasonExchangeClosed            = orderwire.OrdRejReasonExchangeClosed
	OrdRejReasonOrderExceedsLimit         = orderwire.OrdRejReasonOrderExceedsLimit
	OrdRejReasonTooLateToEnter            = orderwire.OrdRejReasonTooLateToEnter
	OrdRejReasonUnknownOrder              = orderwire.OrdRejReasonUnknownOrder
	OrdRejReasonDuplicateOrder            = orderwire.OrdRejReasonDuplicateOrder
	OrdRejReasonUnsupportedCharacteristic = orderwire.OrdRejReasonUnsupportedCharacteristic
	OrdRejReasonIncorrectQuantity         = orderwire.OrdRejReasonIncorrectQuantity
	OrdRejReasonOther                     = orderwire.OrdRejReasonOther
	CxlRejReasonTooLate                   = orderwire.CxlRejReasonTooLate
	CxlRejReasonUnknownOrder              = orderwire.CxlRejReasonUnknownOrder
	CxlRejReasonBrokerOption              = orderwire.CxlRejReasonBrokerOption
	CxlRejReasonAlreadyPending            = orderwire.CxlRejReasonAlreadyPending
	CxlRejReasonDuplicateClOrdID          = orderwire.CxlRejReasonDuplicateClOrdID
	CxlRejReasonOther                     = orderwire.CxlRejReasonOther
	NoRestatementReason                   = orderwire.NoRestatementReason
	RestatementGTCorporateAction          = orderwire.RestatementGTCorporateAction
	RestatementGTRenewal                  = orderwire.RestatementGTRenewal
	RestatementVerbalChange               = orderwire.RestatementVerbalChange
	RestatementRepricing                  = orderwire.RestatementRepricing
	RestatementBrokerOption               = orderwire.RestatementBrokerOption
	RestatementPartialDecline             = orderwire.RestatementPartialDecline
	RestatementCancelOnTradingHalt        = orderwire.RestatementCancelOnTradingHalt
	RestatementCancelOnSystemFailure      = orderwire.RestatementCancelOnSystemFailure
	RestatementMarketOption               = orderwire.RestatementMarketOption
	RestatementCanceledNotBest            = orderwire.RestatementCanceledNotBest
	RestatementWarehouseRecap             = orderwire.RestatementWarehouseRecap
	RestatementOther                      = orderwire.RestatementOther
)
