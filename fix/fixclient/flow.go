package fixclient

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/quickfixgo/tag"
	"github.com/shopspring/decimal"
)

// Flow is an order flow to send: new orders at a rate, some of them then
// canceled or replaced once acknowledged.
type Flow struct {
	// Orders is the number of new orders. Default 100.
	Orders int
	// Rate is new orders per second. 0: as fast as Window allows.
	Rate float64
	// Window caps the orders sent and not yet answered. Default 100.
	Window int
	// Symbols are used in turn. Default EURUSD.
	Symbols []string
	// Qty of each order. Default "100".
	Qty string
	// Price of each limit order; "" sends market orders.
	Price string
	// Side: '1' buy, '2' sell, 0 alternates. Default 0.
	Side byte
	// CancelEvery: every n-th order is canceled once acknowledged. 0: none.
	CancelEvery int
	// ReplaceEvery: every n-th order is replaced (quantity +1) once
	// acknowledged. 0: none. An order picked by both is replaced.
	ReplaceEvery int
	// Account of the orders (Account, tag 1); "" leaves it out. Traders see
	// their accounts' orders on the topic orders.ACCOUNT.
	Account string
	// HandlInst of the orders (0: absent; '3' sends them to the desk).
	HandlInst byte
	// Prefix of the ClOrdIDs. Default: a time stamp, so runs never reuse them.
	Prefix string
	// Settle is how long to wait for late reports after the last one
	// expected. Default 2s.
	Settle time.Duration
}

// Result summarises a flow.
type Result struct {
	Orders, Cancels, Replaces int
	Reports, Rejects, Fills   int
	Elapsed                   time.Duration
	// Mismatches lists every response that contradicted the expected order
	// state, and every request left without an answer.
	Mismatches []string
}

// Report prints r (`tickwire fixclient`'s summary: counts, rate, each
// mismatch) and returns err, the flow's, or else one counting the
// mismatches.
func (r Result) Report(w io.Writer, err error) error {
	fmt.Fprintf(w, "orders %d, cancels %d, replaces %d, reports %d (fills %d, rejects %d) in %v; %.0f orders/s\n",
		r.Orders, r.Cancels, r.Replaces, r.Reports, r.Fills, r.Rejects, r.Elapsed.Round(time.Millisecond),
		float64(r.Orders)/max(r.Elapsed.Seconds(), 1e-9))
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "MISMATCH %s\n", m)
	}
	if err != nil {
		return err
	}
	if len(r.Mismatches) > 0 {
		return fmt.Errorf("%d mismatches", len(r.Mismatches))
	}
	fmt.Fprintf(w, "all responses matched the expected order state\n")
	return nil
}

// RunFlow sends f and checks every response against the expected state of
// its order (see checker). Progress lines go to progress (may be nil). It
// returns when every order has settled (terminal, or resting with no
// request outstanding) or ctx is done.
func (c *Client) RunFlow(ctx context.Context, f Flow, progress io.Writer) (Result, error) {
	if f.Orders <= 0 {
		f.Orders = 100
	}
	if f.Window <= 0 {
		f.Window = 100
	}
	if len(f.Symbols) == 0 {
		f.Symbols = []string{"EURUSD"}
	}
	if f.Qty == "" {
		f.Qty = "100"
	}
	if f.Prefix == "" {
		f.Prefix = time.Now().UTC().Format("150405.000") + "-"
	}
	if f.Settle <= 0 {
		f.Settle = 2 * time.Second
	}
	if progress == nil {
		progress = io.Discard
	}
	qty, err := decimal.NewFromString(f.Qty)
	if err != nil {
		return Result{}, fmt.Errorf("fixclient: qty %q: %w", f.Qty, err)
	}
	ck := newChecker()
	var res Result
	start := time.Now()
	var interval time.Duration
	if f.Rate > 0 {
		interval = time.Duration(float64(time.Second) / f.Rate)
	}
	next := time.Now()
	sent := 0
	lastReport := time.Now()
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	lastProgress := time.Now()

	for {
		// Send what the rate and the window allow.
		for sent < f.Orders && ck.awaiting() < f.Window && !time.Now().Before(next) {
			side := f.Side
			if side == 0 {
				side = '1' + byte(sent%2)
			}
			o := Order{
				ClOrdID: f.Prefix + strconv.Itoa(sent), Account: f.Account, Symbol: f.Symbols[sent%len(f.Symbols)], Side: side,
				OrdType: '1', Qty: f.Qty, HandlInst: f.HandlInst,
			}
			if f.Price != "" {
				o.OrdType, o.Price = '2', f.Price
			}
			n := sent + 1
			tr := ck.add(o, qty)
			switch {
			case f.ReplaceEvery > 0 && n%f.ReplaceEvery == 0:
				tr.then = 'G'
			case f.CancelEvery > 0 && n%f.CancelEvery == 0:
				tr.then = 'F'
			}
			if err := c.Send(NewOrderSingle(o)); err != nil {
				return res, err
			}
			sent++
			res.Orders++
			if interval > 0 {
				next = next.Add(interval)
			}
		}
		if sent == f.Orders && ck.settled() && time.Since(lastReport) > 50*time.Millisecond {
			break
		}
		if time.Since(lastReport) > f.Settle && sent == f.Orders {
			break
		}
		select {
		case m := <-c.msgs:
			lastReport = time.Now()
			res.Reports++
			for _, req := range ck.report(m) {
				msg := OrderCancelRequest(req.Order)
				res.Cancels++
				if req.kind == 'G' {
					msg = OrderCancelReplaceRequest(req.Order)
					res.Cancels--
					res.Replaces++
				}
				if err := c.Send(msg); err != nil {
					return res, err
				}
			}
		case <-ticker.C:
		case <-ctx.Done():
			res.Elapsed = time.Since(start)
			res.Mismatches = append(ck.mismatches, ck.unanswered()...)
			return res, ctx.Err()
		}
		if time.Since(lastProgress) > time.Second {
			lastProgress = time.Now()
			fmt.Fprintf(progress, "sent %d/%d orders, %d reports, %d awaiting, %d mismatches\n", sent, f.Orders, res.Reports, ck.awaiting(), len(ck.mismatches))
		}
	}
	res.Elapsed = time.Since(start)
	res.Rejects, res.Fills = ck.rejects, ck.fills
	res.Mismatches = append(ck.mismatches, ck.unanswered()...)
	return res, nil
}

// request is a cancel or replace the checker asks the flow to send.
type request struct {
	Order
	kind byte
}

// tracked is the buy side's expected view of one order.
type tracked struct {
	first    string // the order's first ClOrdID
	cl       string // last accepted ClOrdID
	orderID  string
	symbol   string
	side     byte
	ordType  byte
	price    string
	qty      decimal.Decimal // OrderQty in force
	cum      decimal.Decimal
	acked    bool
	terminal bool
	then     byte     // 'F' or 'G' to send once acknowledged
	pending  *request // our outstanding cancel/replace
	reqs     int
	order    Order
}

// checker holds the expected state of every order of a flow and checks
// each response against it:
//
//   - every ExecID is new (except "0", status reports);
//   - LeavesQty = OrderQty - CumQty while the order works, 0 once it is
//     Filled, Done for Day, Canceled or Rejected;
//   - CumQty only grows (except trade corrections and busts) and a Trade
//     adds exactly LastQty;
//   - OrdStatus agrees with the quantities (Filled iff CumQty = OrderQty);
//   - ClOrdID/OrigClOrdID follow the requests: New and Trade carry the
//     accepted ClOrdID, Pending Cancel/Replace and Canceled/Replaced the
//     request's with OrigClOrdID = the accepted one, an OrderCancelReject
//     the request's with OrigClOrdID = the accepted one;
//   - the OrderID never changes.
type checker struct {
	byCl       map[string]*tracked
	orders     []*tracked
	execIDs    map[string]bool
	mismatches []string
	rejects    int
	fills      int
}

func newChecker() *checker {
	return &checker{byCl: make(map[string]*tracked), execIDs: make(map[string]bool)}
}

func (k *checker) add(o Order, qty decimal.Decimal) *tracked {
	t := &tracked{first: o.ClOrdID, cl: o.ClOrdID, symbol: o.Symbol, side: o.Side, ordType: o.OrdType, price: o.Price, qty: qty, cum: decimal.Zero, order: o}
	k.byCl[o.ClOrdID] = t
	k.orders = append(k.orders, t)
	return t
}

// awaiting counts orders that have no report yet.
func (k *checker) awaiting() int {
	n := 0
	for _, t := range k.orders {
		if !t.acked && !t.terminal {
			n++
		}
	}
	return n
}

// settled reports whether no order waits for an answer.
func (k *checker) settled() bool {
	for _, t := range k.orders {
		if (!t.acked && !t.terminal) || t.pending != nil || (t.then != 0 && !t.terminal) {
			return false
		}
	}
	return true
}

func (k *checker) unanswered() []string {
	var out []string
	for _, t := range k.orders {
		switch {
		case !t.acked && !t.terminal:
			out = append(out, fmt.Sprintf("order %s: no report", t.first))
		case t.pending != nil:
			out = append(out, fmt.Sprintf("order %s: request %s unanswered", t.first, t.pending.ClOrdID))
		}
	}
	return out
}

func (k *checker) bad(t *tracked, m Msg, format string, args ...any) {
	id := "?"
	if t != nil {
		id = t.first
	}
	k.mismatches = append(k.mismatches, fmt.Sprintf("order %s: %s (got %s)", id, fmt.Sprintf(format, args...), m))
}

// report checks m and returns the requests to send next.
func (k *checker) report(m Msg) []request {
	switch m.Type {
	case "8":
		return k.execReport(m)
	case "9":
		k.cancelReject(m)
	case "3", "j", "sent-3":
		k.bad(nil, m, "unexpected reject")
	}
	return nil
}

func (k *checker) execReport(m Msg) []request {
	cl := m.Get(tag.ClOrdID)
	t := k.byCl[cl]
	if t == nil {
		k.bad(nil, m, "report for unknown ClOrdID %s", cl)
		return nil
	}
	if ex := m.Get(tag.ExecID); ex != "0" {
		if k.execIDs[ex] {
			if m.PossDup {
				return nil // a resend we already processed
			}
			k.bad(t, m, "duplicate ExecID %s", ex)
			return nil
		}
		k.execIDs[ex] = true
	}
	et, st := m.Get(tag.ExecType), m.Get(tag.OrdStatus)
	oid := m.Get(tag.OrderID)
	if t.orderID == "" {
		t.orderID = oid
	} else if oid != t.orderID {
		k.bad(t, m, "OrderID changed from %s", t.orderID)
	}
	orderQty, cum, leaves := m.Dec(tag.OrderQty), m.Dec(tag.CumQty), m.Dec(tag.LeavesQty)
	switch st {
	case "2", "3", "4", "8":
		if leaves.Sign() != 0 {
			k.bad(t, m, "LeavesQty must be 0 when OrdStatus is %s", st)
		}
	default:
		if !leaves.Equal(orderQty.Sub(cum)) {
			k.bad(t, m, "LeavesQty %s != OrderQty %s - CumQty %s", leaves, orderQty, cum)
		}
	}
	if st == "2" && !cum.Equal(orderQty) {
		k.bad(t, m, "Filled with CumQty %s != OrderQty %s", cum, orderQty)
	}
	switch et {
	case "G", "H":
	case "F":
		last := m.Dec(tag.LastQty)
		if last.Sign() <= 0 || !cum.Equal(t.cum.Add(last)) {
			k.bad(t, m, "Trade: CumQty %s != previous %s + LastQty %s", cum, t.cum, last)
		}
		k.fills++
	default:
		if cum.LessThan(t.cum) {
			k.bad(t, m, "CumQty went down from %s", t.cum)
		}
	}
	t.cum = cum
	var next []request
	switch et {
	case "0", "F", "3", "D", "G", "H":
		if cl != t.cl {
			k.bad(t, m, "ClOrdID %s, want the accepted %s", cl, t.cl)
		}
		if et != "D" && !(t.pending != nil && t.pending.kind == 'G') && !orderQty.Equal(t.qty) {
			k.bad(t, m, "OrderQty %s, want %s", orderQty, t.qty)
		}
		t.acked = true
		if st == "2" || st == "3" {
			t.terminal = st == "2" && t.pending == nil || st == "3"
		}
		if et == "0" && t.then != 0 && !t.terminal {
			next = append(next, k.request(t))
		}
	case "8":
		t.acked, t.terminal = true, true
		k.rejects++
	case "6", "E":
		if t.pending == nil || cl != t.pending.ClOrdID || m.Get(tag.OrigClOrdID) != t.cl {
			k.bad(t, m, "pending report does not match our request")
		}
	case "4":
		if t.pending != nil && t.pending.kind == 'F' {
			if cl != t.pending.ClOrdID || m.Get(tag.OrigClOrdID) != t.cl {
				k.bad(t, m, "Canceled: ClOrdID/OrigClOrdID do not match the cancel")
			}
			t.cl = cl
			t.pending = nil
		}
		t.terminal = true
	case "5":
		if t.pending == nil || t.pending.kind != 'G' || cl != t.pending.ClOrdID || m.Get(tag.OrigClOrdID) != t.cl {
			k.bad(t, m, "Replaced does not match our replace")
		} else {
			t.cl = cl
			t.qty = orderQty
			t.pending = nil
		}
		t.terminal = st == "2"
	case "A":
		// Pending New: a gateway that acknowledges receipt before the venue
		// acts (order.Config.AckPendingNew). The venue's New or Rejected follows.
		if cl != t.cl || st != "A" {
			k.bad(t, m, "Pending New with ClOrdID %s OrdStatus %s, want %s and A", cl, st, t.cl)
		}
	case "I":
	default:
		k.bad(t, m, "unexpected ExecType %s", et)
	}
	return next
}

func (k *checker) cancelReject(m Msg) {
	cl := m.Get(tag.ClOrdID)
	t := k.byCl[cl]
	if t == nil || t.pending == nil || t.pending.ClOrdID != cl {
		k.bad(t, m, "OrderCancelReject for a request we did not send")
		return
	}
	if m.Get(tag.OrigClOrdID) != t.cl {
		k.bad(t, m, "OrigClOrdID %s, want the accepted %s", m.Get(tag.OrigClOrdID), t.cl)
	}
	t.pending = nil
}

// request builds the cancel or replace planned for t.
func (k *checker) request(t *tracked) request {
	t.reqs++
	o := t.order
	o.OrigClOrdID = t.cl
	o.ClOrdID = t.first + "." + strconv.Itoa(t.reqs)
	r := request{Order: o, kind: t.then}
	if t.then == 'G' {
		r.Qty = t.qty.Add(decimal.NewFromInt(1)).String()
	}
	t.then = 0
	t.pending = &r
	k.byCl[o.ClOrdID] = t
	return r
}
