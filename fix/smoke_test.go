package fix_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"tickwire/fix/fixclient"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestSmoke(t *testing.T) {
	r := newRig(t)
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "A1", Symbol: "EURUSD", Side: '1', OrdType: '2', Price: "1.2", Qty: "100"}))
	r.expect(want{execType: "0", ordStatus: "0", clOrdID: "A1", cumQty: "0", leavesQty: "100"})
	r.expect(want{execType: "F", ordStatus: "2", clOrdID: "A1", cumQty: "100", leavesQty: "0", lastQty: "100", lastPx: "1.1002"})
}
