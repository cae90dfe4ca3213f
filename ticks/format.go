package ticks

import (
	"strconv"
	"strings"
)

// Format is a recorded-file layout, detected from the header line.
// docs/ticks.md describes each one.
type Format uint8

const (
	// FormatOANDA is `ts_utc,symbol,bid,ask`: RFC 3339 UTC times, quotes
	// only, no sizes (QuantConnect Lean OANDA tick data).
	FormatOANDA Format = iota + 1
	// FormatBinance is `ts_us,symbol,type,bid_px,bid_qty,ask_px,ask_qty,
	// trade_px,trade_qty,aggressor`: epoch microseconds, Q and T rows.
	FormatBinance
	// FormatTickwire is tickwire's own format, written by Writer:
	// `time_ns,symbol,kind,bid,bid_size,ask,ask_size,price,size,aggressor`.
	FormatTickwire
)

// String returns "oanda", "binance", "tickwire" or "Format(N)".
func (f Format) String() string {
	switch f {
	case FormatOANDA:
		return "oanda"
	case FormatBinance:
		return "binance"
	case FormatTickwire:
		return "tickwire"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

var (
	oandaHeader    = []string{"ts_utc", "symbol", "bid", "ask"}
	binanceHeader  = []string{"ts_us", "symbol", "type", "bid_px", "bid_qty", "ask_px", "ask_qty", "trade_px", "trade_qty", "aggressor"}
	tickwireHeader = []string{"time_ns", "symbol", "kind", "bid", "bid_size", "ask", "ask_size", "price", "size", "aggressor"}
)

// Header returns the header columns of f, or nil for an unknown Format.
func (f Format) Header() []string {
	var h []string
	switch f {
	case FormatOANDA:
		h = oandaHeader
	case FormatBinance:
		h = binanceHeader
	case FormatTickwire:
		h = tickwireHeader
	}
	return append([]string(nil), h...)
}

// detectFormat matches a header record, ignoring case, surrounding spaces
// and a UTF-8 byte order mark. It returns 0 for an unknown header.
func detectFormat(rec []string) Format {
	for _, f := range []Format{FormatOANDA, FormatBinance, FormatTickwire} {
		if headerIs(rec, f.Header()) {
			return f
		}
	}
	return 0
}

func headerIs(rec, want []string) bool {
	if len(rec) != len(want) {
		return false
	}
	for i, col := range rec {
		if i == 0 {
			col = strings.TrimPrefix(col, "\ufeff")
		}
		if !strings.EqualFold(strings.TrimSpace(col), want[i]) {
			return false
		}
	}
	return true
}
