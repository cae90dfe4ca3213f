package order

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// bookFromScenario runs the named matrix scenario and returns its book.
func bookFromScenario(t *testing.T, name string) *Book {
	t.Helper()
	for _, sc := range matrixScenarios {
		if sc.name == name {
			return runSteps(t, sc.cfg, sc.steps)
		}
	}
	t.Fatalf("no scenario %q", name)
	return nil
}

func TestSnapshotRoundTrip(t *testing.T) {
	b := bookFromScenario(t, "J/filled order, corrections and busts")
	// Add a second order with a pending replace and one in another session.
	for _, ev := range []Event{nos("A", "50"), accept("O2"), rplReq("B", "A", "60"), func() Event { e := nos("A", "5"); e.Session = "S2"; return e }()} {
		if _, err := b.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.Marshal(b.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, r.Snapshot()); got != string(data) {
		t.Fatalf("round trip changed the snapshot:\n got %s\nwant %s", got, data)
	}
	for _, cl := range []string{"X", "Y", "A", "B"} {
		if !r.Known(sess, cl) {
			t.Errorf("restored book does not know %s", cl)
		}
	}
	if o, ok := r.Lookup("S2", "A"); !ok || o.OrderID != "O3" {
		t.Fatalf("restored lookup: %+v %v", o, ok)
	}
	// Both books answer the next events identically.
	for _, ev := range []Event{acceptRpl("O2"), fill("O2", "V9", "60", "10"), nos("N", "1"), statusReq("B")} {
		o1, e1 := b.Apply(ev)
		o2, e2 := r.Apply(ev)
		if mustJSON(t, o1)+errString(e1) != mustJSON(t, o2)+errString(e2) {
			t.Fatalf("%s: original and restored books differ:\n%s\n%s", ev.EventKind(), dump(o1), dump(o2))
		}
	}
	if mustJSON(t, b.Snapshot()) != mustJSON(t, r.Snapshot()) {
		t.Fatal("original and restored books diverged")
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	b := bookFromScenario(t, "J/filled order, corrections and busts")
	before := mustJSON(t, b.Snapshot())
	s := b.Snapshot()
	s.Orders[0].Executions[0].ExecIDs[0] = "mutated"
	s.Orders[0].ClOrdIDs[0] = "mutated"
	s.Orders[0].Executions = nil
	o, _ := b.Order("O1")
	o.ClOrdIDs[0] = "mutated"
	if after := mustJSON(t, b.Snapshot()); after != before {
		t.Fatal("mutating a snapshot or a query result changed the book")
	}
}

func TestRestoreRejectsInconsistentSnapshots(t *testing.T) {
	good := func() Snapshot {
		return bookFromScenario(t, "C/increase on a part-filled order, fill while pending").Snapshot()
	}
	tests := []struct {
		name   string
		mutate func(*Snapshot)
	}{
		{"version", func(s *Snapshot) { s.Version = 99 }},
		{"sequence beyond OrderSeq", func(s *Snapshot) { s.OrderSeq = 0 }},
		{"duplicate order", func(s *Snapshot) { s.OrderSeq = 2; o := s.Orders[0].clone(); o.Seq = 2; s.Orders = append(s.Orders, o) }},
		{"missing session", func(s *Snapshot) { s.Orders[0].Session = "" }},
		{"ClOrdID not consumed", func(s *Snapshot) { s.Orders[0].ClOrdIDs = []string{"X"} }},
		{"CumQty disagrees with executions", func(s *Snapshot) { s.Orders[0].CumQty = d("1") }},
		{"notional disagrees with executions", func(s *Snapshot) { s.Orders[0].Notional = d("1") }},
		{"pending change of unknown kind", func(s *Snapshot) { s.Orders[0].Pending = &PendingChange{Kind: "x", ClOrdID: "Y"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.mutate(&s)
			if _, err := Restore(s); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("err = %v, want ErrBadSnapshot", err)
			}
		})
	}
	if _, err := Restore(good()); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	if _, err := Restore(NewBook(Config{}).Snapshot()); err != nil {
		t.Fatalf("empty snapshot: %v", err)
	}
}

func TestJournalRoundTrip(t *testing.T) {
	events := []Event{
		resend(nos("X", "1.5")), cxlReq("Y", "X"), rplPx("Z", "X", "2", "10.25"),
		OrderStatusRequest{Session: sess, ClOrdID: "X", OrderID: "O1", OrdStatusReqID: "R", TransactTime: t0},
		accept("O1"), rejectNew("O1", OrdRejReasonOther), fill("O1", "V1", "1", "10"),
		acceptCxl("O1"), rejectCxl("O1", CxlRejReasonTooLate), acceptRpl("O1"), rejectRpl("O1", CxlRejReasonOther),
		unsolicitedCxl("O1", RestatementCanceledNotBest), restateQty("O1", "3", RestatementPartialDecline),
		dfd("O1"), expire("O1"), bust("O1", "V1"), correct("O1", "V1", "1", "11"),
		func() Event { e := nos("W", "1"); e.Side = 0x01; e.OrdType = 0xff; return e }(), // raw bytes survive
	}
	seen := map[string]bool{}
	for _, ev := range events {
		rec, err := MarshalEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalEvent(rec)
		if err != nil {
			t.Fatalf("%s: %v (%s)", ev.EventKind(), err, rec)
		}
		if reflect.TypeOf(back) != reflect.TypeOf(ev) || mustJSON(t, back) != mustJSON(t, ev) {
			t.Fatalf("%s: round trip gave %#v", ev.EventKind(), back)
		}
		seen[ev.EventKind()] = true
	}
	if len(seen) != 17 {
		t.Fatalf("journal test covers %d event kinds, want all 17", len(seen))
	}
	for _, bad := range []string{`{"kind":"Nope","event":{}}`, `not json`, `{"kind":"Fill","event":{"LastQty":"x"}}`} {
		if _, err := UnmarshalEvent([]byte(bad)); err == nil {
			t.Errorf("UnmarshalEvent(%s) succeeded", bad)
		}
	}
	if _, err := UnmarshalEvent([]byte(`{"kind":"Nope","event":{}}`)); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("unknown kind: %v", err)
	}
	rec, _ := MarshalEvent(fill("O1", "V1", "1", "10"))
	if !strings.Contains(string(rec), `"kind":"Fill"`) || !strings.Contains(string(rec), `"LastQty":"1"`) {
		t.Errorf("journal record %s", rec)
	}
}
