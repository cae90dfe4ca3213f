package fix

import (
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
	"github.com/shopspring/decimal"

	"tickwire/fix/order"
)

// This file maps order Outputs onto FIX messages. The messages carry no
// repeating groups (quickfix resend bugs with groups, REFERENCE §2).

// executionReport builds a FIX 4.4 ExecutionReport (35=8) from er. The
// header (BeginString, CompIDs, MsgSeqNum, SendingTime) is filled in by the
// session when it is sent.
func executionReport(er *order.ExecutionReport) *quickfix.Message {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "8")
	b := &m.Body
	b.SetString(tag.OrderID, er.OrderID)
	if er.ClOrdID != "" {
		b.SetString(tag.ClOrdID, er.ClOrdID)
	}
	setIf(b, tag.OrigClOrdID, er.OrigClOrdID)
	b.SetString(tag.ExecID, er.ExecID)
	setIf(b, tag.ExecRefID, er.ExecRefID)
	setIf(b, tag.SecondaryExecID, er.SecondaryExecID)
	setChar(b, tag.ExecType, byte(er.ExecType))
	setChar(b, tag.OrdStatus, byte(er.OrdStatus))
	if er.OrdRejReason.Set() {
		b.SetInt(tag.OrdRejReason, int(er.OrdRejReason))
	}
	if er.ExecRestatementReason.Set() {
		b.SetInt(tag.ExecRestatementReason, int(er.ExecRestatementReason))
	}
	setIf(b, tag.Account, er.Account)
	// Symbol is in the (required) Instrument component; a reject of an
	// order without one reports "[N/A]".
	sym := er.Symbol
	if sym == "" {
		sym = "[N/A]"
	}
	b.SetString(tag.Symbol, sym)
	side := er.Side
	if !side.Valid() {
		side = order.SideBuy // Side is required in an 8; an invalid one was rejected
	}
	setChar(b, tag.Side, byte(side))
	if er.OrdType.Valid() {
		setChar(b, tag.OrdType, byte(er.OrdType))
	}
	if er.TimeInForce.Valid() && er.TimeInForce != 0 {
		setChar(b, tag.TimeInForce, byte(er.TimeInForce))
	}
	if er.Price.Valid {
		setDecimal(b, tag.Price, er.Price.Decimal)
	}
	setDecimal(b, tag.OrderQty, er.OrderQty)
	setDecimal(b, tag.CumQty, er.CumQty)
	setDecimal(b, tag.LeavesQty, er.LeavesQty)
	setDecimal(b, tag.AvgPx, er.AvgPx)
	switch er.ExecType {
	case order.ExecTypeTrade, order.ExecTypeTradeCorrect, order.ExecTypeTradeCancel:
		setDecimal(b, tag.LastQty, er.LastQty)
		setDecimal(b, tag.LastPx, er.LastPx)
	}
	setIf(b, tag.OrdStatusReqID, er.OrdStatusReqID)
	setIf(b, tag.Text, er.Text)
	b.SetField(tag.TransactTime, utc(er.TransactTime))
	return m
}

// orderCancelReject builds a FIX 4.4 OrderCancelReject (35=9) from r.
func orderCancelReject(r *order.OrderCancelReject) *quickfix.Message {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "9")
	b := &m.Body
	b.SetString(tag.OrderID, r.OrderID)
	b.SetString(tag.ClOrdID, orNA(r.ClOrdID))
	b.SetString(tag.OrigClOrdID, orNA(r.OrigClOrdID))
	setChar(b, tag.OrdStatus, byte(r.OrdStatus))
	setChar(b, tag.CxlRejResponseTo, byte(r.CxlRejResponseTo))
	b.SetInt(tag.CxlRejReason, int(r.CxlRejReason))
	setIf(b, tag.Text, r.Text)
	b.SetField(tag.TransactTime, utc(r.TransactTime))
	return m
}

func orNA(s string) string {
	if s == "" {
		return "NONE"
	}
	return s
}

func setIf(b *quickfix.Body, t quickfix.Tag, v string) {
	if v != "" {
		b.SetString(t, v)
	}
}

func setChar(b *quickfix.Body, t quickfix.Tag, c byte) {
	b.SetBytes(t, []byte{c})
}

// setDecimal writes d exactly (no rounding, no exponent).
func setDecimal(b *quickfix.Body, t quickfix.Tag, d decimal.Decimal) {
	b.SetString(t, d.String())
}

func utc(t time.Time) quickfix.FIXUTCTimestamp {
	return quickfix.FIXUTCTimestamp{Time: t.UTC(), Precision: quickfix.Millis}
}
