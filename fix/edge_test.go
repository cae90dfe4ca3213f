package fix_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"tickwire/fix"
	"tickwire/fix/fixclient"
	"tickwire/orderwire"
	"tickwire/protocol"
	"tickwire/recovery"
)

// TestFIXFieldsAtTheEdge: what a counterparty's D carries is bounded and
// printable before it reaches the engine, the journal and the reports
// (issue 17 items 8, 9, 11). ClOrdIDs that are not valid UTF-8 ("\xffA"
// and "\xfeA" became the same ClOrdID in the journal's JSON, and the
// gateway could not start again), a 1.1 MB ClOrdID (over the journal's
// record limit: the engine stopped, and the peer's resend stopped it again
// after each restart), a 25-digit quantity and a Symbol with an escape
// sequence (which went into the reject's Text) are each refused with a
// session Reject naming the tag; the session keeps working and the
// gateway restarts. (The 1.1 MB message needs a MaxMessageBytes above it:
// at the default the connection is refused before the router sees it,
// TestHostileFraming.)
func TestFIXFieldsAtTheEdge(t *testing.T) {
	r := newRig(t, func(r *rig) { r.cfg.MaxMessageBytes = 2 << 20 })
	market := func(cl string) fixclient.Order {
		return fixclient.Order{ClOrdID: cl, Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}
	}
	refusedAt := func(o fixclient.Order, reason, refTag string) {
		t.Helper()
		r.send(fixclient.NewOrderSingle(o))
		m := r.next()
		if m.Type != "3" || m.Get(tag.SessionRejectReason) != reason || m.Get(tag.RefTagID) != refTag || !strings.Contains(m.Get(tag.Text), "tag "+refTag) {
			t.Fatalf("%.40q: got %s, want a Reject (3), SessionRejectReason %s, RefTagID %s, a Text naming the tag", o.ClOrdID, m, reason, refTag)
		}
		if !orderwire.PrintableText(m.Get(tag.Text)) {
			t.Fatalf("the Reject's Text %q is not printable", m.Get(tag.Text))
		}
	}
	refusedAt(market("\xffA"), "6", "11")
	refusedAt(market("\xfeA"), "6", "11")
	refusedAt(market("A\x1b]0;PWNED\x07"), "6", "11")
	refusedAt(market(strings.Repeat("C", 1100<<10)), "5", "11")
	refusedAt(market(strings.Repeat("C", orderwire.MaxIDLen+1)), "5", "11")
	refusedAt(fixclient.Order{ClOrdID: "Q1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: strings.Repeat("9", 25)}, "5", "38")
	refusedAt(fixclient.Order{ClOrdID: "S1", Symbol: "EUR\x1b[2J", Side: '1', OrdType: '1', Qty: "1"}, "6", "55")
	refusedAt(fixclient.Order{ClOrdID: "A1", Account: "\x9b31m", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "1"}, "6", "1")

	// The session still works: an order at the longest ClOrdID, and one
	// whose ClOrdID is printable UTF-8.
	long := strings.Repeat("L", orderwire.MaxIDLen)
	for _, cl := range []string{long, "Ü-1"} {
		r.send(fixclient.NewOrderSingle(market(cl)))
		r.expect(want{execType: "0", clOrdID: cl})
		r.expect(want{execType: "F", clOrdID: cl})
	}

	// The gateway restarts (its journal replays), and nothing refused was
	// consumed: the refused ClOrdIDs are free, the accepted ones are not.
	r.cl.Stop()
	r.stopGateway()
	r.startGateway()
	r.startClient()
	r.send(fixclient.NewOrderSingle(market("Q1")))
	r.expect(want{execType: "0", clOrdID: "Q1"})
	r.expect(want{execType: "F", clOrdID: "Q1"})
	r.send(fixclient.NewOrderSingle(market(long)))
	r.expect(want{execType: "8", clOrdID: long, ordRejReason: "6"}) // duplicate
	if on, _ := r.cl.LoggedOn(); !on {
		t.Fatal("session not logged on")
	}
}

// TestTraderDecimalsAndEventSize: a trader's "1e2000000" (2 MB written out,
// over the journal's record limit: it stopped the engine) is refused at
// once, and an event over Config.MaxEventBytes is refused before it
// reaches the book, so the engine keeps serving the rest and restarts
// (issue 17 item 9).
func TestTraderDecimalsAndEventSize(t *testing.T) {
	rec := &recorder{}
	r := newRig(t, withEvents(rec), withoutClient(), func(r *rig) { r.cfg.MaxEventBytes = 400 })
	newOrder := func(cl, qty, text string) string {
		return `{"Action":"new","ClOrdID":"` + cl + `","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"` + qty + `","HandlInst":"3","Text":"` + text + `"}`
	}
	for _, qty := range []string{"1e2000000", "1e1000000000"} {
		start := time.Now()
		refused(t, request(t, r, newOrder("D1", qty, "")), "new D1: OrderQty: more than 24 digits")
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusing OrderQty %s took %s", qty, d)
		}
	}
	must(t, request(t, r, newOrder("D1", "10", "")))
	desk, err := r.gw.Desk().Orders(ctx(t))
	must(t, err)
	if len(desk) != 1 {
		t.Fatalf("desk orders %+v", desk)
	}
	id := desk[0].OrderID
	// A desk reject whose Text makes its record over 400 bytes: refused,
	// nothing changed, the engine serves on.
	err = r.gw.Desk().Reject(ctx(t), id, 0, strings.Repeat("t", orderwire.MaxTextLen))
	if !errors.Is(err, fix.ErrEventTooLarge) {
		t.Fatalf("oversized event: %v, want ErrEventTooLarge", err)
	}
	rec.take()
	must(t, request(t, r, `{"Action":"desk-fill","OrderID":"`+id+`","LastQty":"10","LastPx":"1.1"}`))
	if evs := reportsOf(t, rec.take()); execTypes(evs) != "F" {
		t.Fatalf("after the refused event: %q, want a fill", execTypes(evs))
	}
	r.stopGateway()
	r.startGateway()
	o, ok, err := r.gw.Order(ctx(t), id)
	if err != nil || !ok || !o.Filled() {
		t.Fatalf("after restart: %+v %v %v, want the order filled", o, ok, err)
	}
}

// TestNonFiniteQuotes: the auto venue takes a NaN, an infinite or a
// non-positive price, or a NaN or infinite size, for no price: the order
// rests (decimal.NewFromFloat panicked on them, and the process exited)
// and fills at the first real price (issue 17 item 10).
func TestNonFiniteQuotes(t *testing.T) {
	r := newRig(t)
	nan, inf := math.NaN(), math.Inf(1)
	r.prices.set("EURUSD", nan, nan, 0, 0)
	r.send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: "N1", Symbol: "EURUSD", Side: '1', OrdType: '1', Qty: "5"}))
	r.expect(want{execType: "0", clOrdID: "N1"})
	for _, q := range [][4]float64{{inf, inf}, {-inf, -inf}, {0, 0}, {-1, -1}, {1.1, 1.1002, inf, inf}, {1.1, 1.1002, nan, nan}} {
		var pq protocol.Quote
		for i, f := range []protocol.Field{protocol.Bid, protocol.Ask, protocol.BidSize, protocol.AskSize} {
			if i < 2 || q[i] != 0 {
				pq.Put(f, q[i])
			}
		}
		r.prices.put("EURUSD", pq)
		r.quiet(150 * time.Millisecond) // three polls of the resting order
	}
	r.prices.set("EURUSD", 1.1, 1.1002, 0, 0)
	r.expect(want{execType: "F", clOrdID: "N1", lastPx: "1.1002", cumQty: "5"})
}

// TestDeskTextMustBePrintable: a desk text with a control character (an
// SOH went raw into tag 58 and broke the session for good), invalid UTF-8
// or over orderwire.MaxTextLen is refused, from the Go API and from a
// trader's request; the order and the session are untouched (issue 17
// item 11).
func TestDeskTextMustBePrintable(t *testing.T) {
	r := newRig(t)
	id := r.deskOrder(t, "T1", "1", "10", "1.1")
	for _, text := range []string{"bad\x01text", "\x1b]0;PWNED\x07", "del\x7f", "\xffA", strings.Repeat("x", orderwire.MaxTextLen+1)} {
		if err := r.gw.Desk().Reject(ctx(t), id, 0, text); err == nil {
			t.Fatalf("Reject with Text %.20q: accepted", text)
		}
		if err := r.gw.Desk().Cancel(ctx(t), id, text); err == nil {
			t.Fatalf("Cancel with Text %.20q: accepted", text)
		}
	}
	refused(t, request(t, r, `{"Action":"desk-cancel","OrderID":"`+id+`","Text":"a\u0001b"}`), "Text: control characters")
	r.quiet(100 * time.Millisecond)
	must(t, r.gw.Desk().Reject(ctx(t), id, 0, "no liquidity: ü"))
	m := r.expect(want{execType: "8", clOrdID: "T1"})
	if m.Get(tag.Text) != "no liquidity: ü" {
		t.Fatalf("Text %q", m.Get(tag.Text))
	}
}

// failingJournal is the gateway's real journal with a switch that makes
// Append fail, as a full or failing disk does.
type failingJournal struct {
	recovery.Journal
	fail atomic.Bool
}

func (j *failingJournal) Append(ctx context.Context, stream string, recs ...recovery.Record) (recovery.Position, error) {
	if j.fail.Load() {
		return recovery.Position{}, errors.New("disk on fire")
	}
	return j.Journal.Append(ctx, stream, recs...)
}

// TestOutcomeUnknownRefusal: when the journal fails while a trader's
// request is being committed, the refusal says the outcome is unknown, so
// the trader does not resubmit what may have been applied; a request
// refused before it reached the engine says nothing of the kind.
func TestOutcomeUnknownRefusal(t *testing.T) {
	dir := t.TempDir()
	bj, err := recovery.OpenBolt(filepath.Join(dir, "journal.db"), recovery.BoltOptions{})
	must(t, err)
	defer bj.Close()
	j := &failingJournal{Journal: bj}
	r := newRig(t, withoutClient(), func(r *rig) { r.cfg.Journal = j })
	newOrder := `{"Action":"new","ClOrdID":"U1","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"1"}`
	rf := refused(t, request(t, r, `{"Action":"new","ClOrdID":"U0","Account":"ACC","Symbol":"EURUSD","Side":"1","OrdType":"1","OrderQty":"0"}`), "OrderQty must be more than 0")
	if strings.Contains(rf.Error(), "unknown") {
		t.Fatalf("a refusal before the engine: %q says the outcome is unknown", rf.Error())
	}
	j.fail.Store(true)
	rf = refused(t, request(t, r, newOrder), "new U1: outcome unknown: ")
	if back, ok := orderwire.ParseRefusal(rf.Error()); !ok || !back.Unknown {
		t.Fatalf("ParseRefusal(%q) = %+v, %v: want Unknown", rf.Error(), back, ok)
	}
	select {
	case <-r.gw.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the engine did not stop on the journal failure")
	}
	// After the gateway stopped, a request is plainly refused: it was
	// never queued.
	rf = refused(t, request(t, r, strings.Replace(newOrder, "U1", "U2", 1)), "new U2: ")
	if rf.Unknown {
		t.Fatalf("a request after the stop: %q says the outcome is unknown", rf.Error())
	}
	j.fail.Store(false)
	r.stopGateway()
	r.startGateway()
	must(t, request(t, r, newOrder)) // U1 was not applied: the restarted book says so
}
