package order

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{ExecTypeTrade.String(), "Trade"},
		{ExecTypePendingReplace.String(), "PendingReplace"},
		{ExecType('Z').String(), "ExecType('Z')"},
		{OrdStatusPendingCancel.String(), "PendingCancel"},
		{OrdStatus(0).String(), "OrdStatus(none)"},
		{SideSellShort.String(), "SellShort"},
		{OrdTypeLimit.String(), "Limit"},
		{TimeInForceFOK.String(), "FOK"},
		{HandlInstManual.String(), "Manual"},
		{CxlRejResponseToReplace.String(), "OrderCancelReplaceRequest"},
		{CxlRejReasonAlreadyPending.String(), "AlreadyPendingCancelOrReplace"},
		{CxlRejReason(42).String(), "CxlRejReason(42)"},
		{OrdRejReasonDuplicateOrder.String(), "DuplicateOrder"},
		{NoOrdRejReason.String(), ""},
		{RestatementPartialDecline.String(), "PartialDeclineOfOrderQty"},
		{ExecRestatementReason(77).String(), "ExecRestatementReason(77)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// Every value the book emits has a name.
	for _, et := range []ExecType{etNew, etDFD, etCanceled, etReplaced, etPendCxl, etRejected, ExecTypePendingNew, etRestated, etPendRpl, etTrade, etCorrect, etBust, etStatus} {
		if strings.HasPrefix(et.String(), "ExecType(") {
			t.Errorf("ExecType %c has no name", et)
		}
	}
}

// TestOrdStatusPrecedence pins the precedence of REFERENCE.md §1.
func TestOrdStatusPrecedence(t *testing.T) {
	order := []OrdStatus{stPendCxl, stPendRpl, stDFD, stFilled, OrdStatusStopped, stCanceled, stPartFilled, stNew}
	for i := 1; i < len(order); i++ {
		if order[i-1].Precedence() <= order[i].Precedence() {
			t.Errorf("%s must outrank %s", order[i-1], order[i])
		}
	}
}

func TestCharEnumJSON(t *testing.T) {
	type rec struct {
		S  Side
		ET ExecType
		T  TimeInForce
	}
	for _, v := range []rec{{SideBuy, etTrade, 0}, {0x7f, 0x01, ' '}, {0xff, 'A', TimeInForceGTC}} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back rec
		if err := json.Unmarshal(data, &back); err != nil || back != v {
			t.Fatalf("%+v -> %s -> %+v (%v)", v, data, back, err)
		}
	}
	if data, _ := json.Marshal(rec{SideSell, etBust, TimeInForceIOC}); string(data) != `{"S":"2","ET":"H","T":"3"}` {
		t.Fatalf("wire values: %s", data)
	}
	var s Side
	if err := json.Unmarshal([]byte(`"12"`), &s); err == nil {
		t.Fatal("two-character Side accepted")
	}
}
