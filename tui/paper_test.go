package tui

import (
	"context"
	"testing"
	"time"
)

func TestPaper(t *testing.T) {
	var rec sendRecorder
	p := NewPaper()
	p.FillAfter = time.Millisecond
	p.SetSender(&rec)
	ctx := context.Background()
	orders := func() []OrdersMsg {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var out []OrdersMsg
		for _, m := range rec.msgs {
			out = append(out, m.(OrdersMsg))
		}
		return out
	}
	if err := p.Submit(ctx, OrderRequest{ClOrdID: "A", Symbol: "EURUSD", Side: SideBuy, Type: OrdTypeLimit, Qty: dec("100001"), Price: dec("1.2")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(ctx, OrderRequest{ClOrdID: "A"}); err == nil {
		t.Error("duplicate ClOrdID accepted")
	}
	for end := time.Now().Add(5 * time.Second); len(orders()) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no fill")
		}
	}
	got := orders()
	if o := got[0].Orders[0]; o.Status != StatusNew || o.ID != "A" {
		t.Errorf("ack %+v", o)
	}
	if o, f := got[1].Orders[0], got[1].Fills[0]; o.Status != StatusPartiallyFilled || o.CumQty.String() != "50000" ||
		o.LeavesQty.String() != "50001" || f.Qty.String() != "50000" || f.Price.String() != "1.2" {
		t.Errorf("half fill %+v %+v", o, f)
	}
	_ = p.Replace(ctx, ReplaceRequest{ClOrdID: "B", ID: "A", Qty: dec("40000"), Price: dec("1.1")})
	_ = p.Replace(ctx, ReplaceRequest{ClOrdID: "C", ID: "A", Qty: dec("60000"), Price: dec("1.1")})
	_ = p.Cancel(ctx, CancelRequest{ClOrdID: "D", ID: "A"})
	_ = p.Cancel(ctx, CancelRequest{ClOrdID: "E", ID: "A"})
	_ = p.Submit(ctx, OrderRequest{ClOrdID: "M", Symbol: "EURUSD", Type: OrdTypeMarket, Qty: dec("1")})
	got = orders()[2:]
	if len(got) != 5 || !got[0].CancelRejects[0].Replace || got[1].Orders[0].LeavesQty.String() != "10000" ||
		got[2].Orders[0].Status != StatusCanceled || len(got[3].CancelRejects) != 1 || got[4].Orders[0].Status != StatusRejected {
		t.Errorf("replace, cancel, market: %+v", got)
	}
}
