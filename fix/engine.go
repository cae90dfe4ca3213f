package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"

	"tickwire/fix/order"
	"tickwire/recovery"
)

// The engine is the one goroutine that owns the order book. Everything that
// changes an order goes through it as a command: counterparty messages
// (from quickfix's session goroutines), desk operations, venue work.
//
// It works in batches. It takes every command waiting (up to MaxBatch),
// applies each event to the book, lets the auto venue react (at zero
// latency in the same batch), then appends the batch's events to the
// journal in one durable Append (one fsync), and only then sends the
// batch's ExecutionReports and OrderCancelRejects, in order, and publishes
// them. Nothing of a batch is visible outside the engine before its events
// are durable. If the journal fails, the engine stops and the gateway with
// it: the in-memory book may then be ahead of the journal, and a restart
// rebuilds it from the journal. An event the journal could not hold (over
// Config.MaxEventBytes) is refused before it reaches the book, so no one
// message can stop the engine.
//
// Queries (Order, Lookup, Snapshot, OrdersAt, Desk.Orders) and status
// requests (35=H) change nothing: they run after the batch they arrived in,
// between batches, when every event applied so far is journalled, sent and
// published. So what they read is exactly what was published, and a status
// report never reports a state older than a report sent before it. Status
// requests are not journalled (see answerStatus).

// command is one unit of work for the engine.
type command struct {
	ev  order.Event // a counterparty event
	in  *inbound    // where ev came from (FIX session, MsgSeqNum, store epoch)
	sid quickfix.SessionID

	// desk computes a venue event from the book (desk operations); query
	// reads the book. Both run on the engine goroutine.
	desk  func(b *order.Book, now time.Time) (order.Event, error)
	query func(b *order.Book)
	call  *call // desk and query: the waiting caller; nil once answered
}

// call links a desk operation or a query with its caller (submit). The
// engine claims it when it is about to run the closure; a caller whose
// context ends first abandons it, and the engine then skips it. Exactly one
// of the two wins: a caller that returns ctx.Err() knows the closure never
// ran and never will (it writes none of the caller's variables, applies no
// desk operation), and one that loses waits for the closure's result.
type call struct {
	state atomic.Int32 // callQueued, callClaimed or callAbandoned
	reply chan error   // buffered (1): the result, sent once
}

const (
	callQueued int32 = iota
	callClaimed
	callAbandoned
)

// claim reports whether the engine may run the call (its caller still waits).
func (c *call) claim() bool { return c.state.CompareAndSwap(callQueued, callClaimed) }

// emitted is one output of a batch: rec indexes the event's journal record
// in the batch, pos is its journal position once committed, idx the
// output's index among the event's outputs.
type emitted struct {
	out order.Output
	rec int
	pos recovery.Position
	idx int
}

type holdKey struct {
	sid   quickfix.SessionID
	epoch int64
}

type engine struct {
	g        *Gateway
	book     *order.Book
	j        recovery.Journal
	stream   string
	clock    func() time.Time
	log      *slog.Logger
	maxBatch int
	hooks    Hooks

	cmds     chan command
	quit     chan struct{}
	quitOnce *sync.Once            // closes quit
	abortErr atomic.Pointer[error] // why quit was closed, if not Stop
	done     chan struct{}
	err      error // why the engine stopped; set before done is closed

	lastIn map[string]inbound // per session: last journalled inbound message
	venue  *autoVenue

	// Batch scratch space, reused.
	recs    []recovery.Record
	evs     []order.Event
	outs    []emitted
	holds   map[holdKey][]int
	replies []reply   // desk operations, answered once the batch is sent
	later   []int     // queries and status requests: indexes in the batch
	status  []emitted // one status request's reports
}

type reply struct {
	i   int // index in the batch
	err error
}

// errStopped is returned to desk operations and queries once the engine has
// stopped.
var errStopped = errors.New("fix: gateway stopped")

func (e *engine) run() {
	defer close(e.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]command, 0, e.maxBatch)
	for {
		batch = batch[:0]
		select {
		case c := <-e.cmds:
			batch = append(batch, c)
		case <-timer.C:
		case <-e.quit:
			e.err = errStopped
			if p := e.abortErr.Load(); p != nil {
				e.err = *p
			}
			return
		}
	drain:
		for len(batch) < e.maxBatch {
			select {
			case c := <-e.cmds:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		if err := e.process(batch); err != nil {
			e.log.Error("fix engine stopped", "err", err)
			e.err = err
			// The batch may be in the journal or not: its callers must
			// not take the error for a refusal.
			unknown := fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			for i := range batch {
				e.answer(&batch[i], unknown)
			}
			return
		}
		if at, ok := e.venue.nextWake(); ok {
			timer.Reset(max(time.Until(at), 0))
		}
	}
}

// stop makes the engine stop after its current batch.
func (e *engine) stop() { e.quitOnce.Do(func() { close(e.quit) }) }

// abort stops the engine after its current batch, with err (a failure
// seen outside it, e.g. a message store's).
func (e *engine) abort(err error) {
	e.abortErr.CompareAndSwap(nil, &err)
	e.stop()
}

// process runs one batch. An error is fatal (journal or FIX store failure).
func (e *engine) process(batch []command) error {
	now := e.clock()
	e.recs = append(e.recs[:0], recovery.Record{}) // [0]: the batch marks
	e.evs = e.evs[:0]
	e.outs = e.outs[:0]
	e.replies = e.replies[:0]
	e.later = e.later[:0]
	clear(e.holds)
	for i := range batch {
		c := &batch[i]
		switch {
		case c.query != nil || isStatusRequest(c.ev):
			e.later = append(e.later, i)
			continue
		case c.desk != nil:
			if !c.call.claim() {
				continue // its caller gave up: never applied
			}
			ev, err := c.desk(e.book, now)
			if err == nil {
				err = e.apply(ev, nil, now)
			}
			if err == nil {
				e.handOver(ev, now)
			}
			e.replies = append(e.replies, reply{i, err})
		default:
			k := holdKey{c.sid, c.in.Epoch}
			e.holds[k] = append(e.holds[k], c.in.Seq)
			if e.seen(c.in) {
				e.log.Info("fix resent message already journalled: dropped", "session", c.in.Session, "seq", c.in.Seq)
				continue
			}
			if err := e.apply(c.ev, c.in, now); err != nil {
				e.log.Error("fix event refused", "event", c.ev.EventKind(), "session", c.in.Session, "seq", c.in.Seq, "err", err)
			}
		}
	}
	e.venue.step(now)
	if len(e.recs) > 1 {
		if err := e.commit(now); err != nil {
			return err
		}
	}
	for k, seqs := range e.holds {
		if st := e.g.acc.stores.get(k.sid); st != nil {
			if err := st.release(k.epoch, seqs); err != nil {
				return err
			}
		}
	}
	if len(e.recs) > 1 {
		if err := e.send(e.outs, true); err != nil {
			return err
		}
	}
	for _, r := range e.replies {
		e.answer(&batch[r.i], r.err)
	}
	// Between batches: everything above is durable, sent and published.
	for _, i := range e.later {
		c := &batch[i]
		if c.query == nil {
			if err := e.answerStatus(c, now); err != nil {
				return err
			}
			continue
		}
		if c.call.claim() {
			c.query(e.book)
			e.answer(c, nil)
		}
	}
	return nil
}

// answer sends c's result to its caller, if it has one not yet answered.
func (e *engine) answer(c *command, err error) {
	if c.call != nil {
		c.call.reply <- err
		c.call = nil
	}
}

func isStatusRequest(ev order.Event) bool {
	_, ok := ev.(order.OrderStatusRequest)
	return ok
}

// answerStatus answers a status request (35=H) from the book. It changes
// nothing (status reports have ExecID "0"), so it is not journalled: the
// journal does not grow with read-only traffic. Delivery stays at least
// once: the request's MsgSeqNum is held (gatedStore) until the report is in
// the FIX store, so a crash before that makes the peer resend the request,
// which is then answered again; a resent request is never dropped as
// already journalled (seen), since answering twice is harmless. The report
// goes after the batch's journalled outputs, so that the 8/9 messages in
// the store from a batch's mark on still start with that batch's own
// (reconcile).
func (e *engine) answerStatus(c *command, now time.Time) error {
	outs, err := e.book.Apply(c.ev)
	if err != nil {
		e.log.Error("fix event refused by the book", "event", c.ev.EventKind(), "err", err)
	}
	e.status = e.status[:0]
	for i, o := range outs {
		e.status = append(e.status, emitted{out: o, idx: i})
	}
	if err := e.send(e.status, false); err != nil {
		return err
	}
	if st := e.g.acc.stores.get(c.sid); st != nil {
		return st.release(c.in.Epoch, []int{c.in.Seq})
	}
	return nil
}

// commit appends the batch (marks + events) durably.
func (e *engine) commit(now time.Time) error {
	// With journal message stores, the reports of the batches before this
	// one may still be queued for their store's flusher. The marks below
	// count them as sent; were this batch committed and the node killed
	// before they are durable, a new Active would take them as sent and
	// reconcile only this batch's reports: theirs would be lost. So they
	// are made durable first (a wait the socket writes make anyway).
	if err := e.g.acc.stores.durable(e.g.cfg.WriteTimeout); err != nil {
		return fmt.Errorf("fix: message stores before the journal append: %w", err)
	}
	marks, err := e.marks(e.outs)
	if err != nil {
		return err
	}
	data, err := json.Marshal(journalRecord{Type: recBatch, Marks: marks})
	if err != nil {
		return err
	}
	e.recs[0] = recovery.Record{Time: now.UnixNano(), Data: data}
	pos, err := e.j.Append(context.Background(), e.stream, e.recs...)
	if err != nil {
		return fmt.Errorf("fix: journal append: %w", err)
	}
	first := pos.Seq + 1 - uint64(len(e.recs)) // seq of recs[0]
	for i := range e.outs {
		e.outs[i].pos = recovery.Position{Seq: first + uint64(e.outs[i].rec), Epoch: pos.Epoch}
	}
	if e.hooks.AfterCommit != nil {
		e.hooks.AfterCommit(e.evs)
	}
	return nil
}

// marks returns the next outgoing MsgSeqNum of every session that outs
// send to. Only the engine sends 8 and 9 messages, and it sends nothing
// between reading these and sending outs.
func (e *engine) marks(outs []emitted) ([]senderMark, error) {
	var marks []senderMark
	for _, em := range outs {
		s := outputSession(em.out)
		if s == "" || containsMark(marks, s) {
			continue
		}
		sid, ok := e.g.acc.sessionByKey[s]
		if !ok {
			continue
		}
		st := e.g.acc.stores.get(sid)
		marks = append(marks, senderMark{Session: s, Next: st.NextSenderMsgSeqNum(), Epoch: st.epoch()})
	}
	return marks, nil
}

func containsMark(ms []senderMark, s string) bool {
	for _, m := range ms {
		if m.Session == s {
			return true
		}
	}
	return false
}

func outputSession(o order.Output) string {
	switch o := o.(type) {
	case order.ExecutionReport:
		return o.Session
	case order.OrderCancelReject:
		return o.Session
	}
	return ""
}

// send sends the FIX outputs of outs in order and publishes them.
func (e *engine) send(outs []emitted, publish bool) error {
	for i := range outs {
		em := &outs[i]
		var msg *quickfix.Message
		var s string
		switch o := em.out.(type) {
		case order.ExecutionReport:
			msg, s = executionReport(&o), o.Session
		case order.OrderCancelReject:
			msg, s = orderCancelReject(&o), o.Session
		default:
			continue
		}
		sid, ok := e.g.acc.sessionByKey[s]
		if !ok {
			if traderSession(s) { // not a FIX session: its outputs are only published (requests.go)
				if publish {
					e.publish(em)
				}
				continue
			}
			e.log.Error("fix output for a session that is not configured: not sent", "session", s)
			continue
		}
		if err := quickfix.SendToTarget(msg, sid); err != nil {
			return fmt.Errorf("fix: send to %s: %w", s, err)
		}
		if publish {
			e.publish(em)
		}
	}
	return nil
}

// publish hands an output to OrderEvents (status reports excluded).
func (e *engine) publish(em *emitted) {
	if e.g.cfg.Events == nil {
		return
	}
	ev := OrderEvent{Epoch: em.pos.Epoch, Seq: em.pos.Seq, Index: em.idx}
	switch o := em.out.(type) {
	case order.ExecutionReport:
		if o.ExecType == order.ExecTypeOrderStatus {
			return
		}
		ev.Kind, ev.Report, ev.Account = "ExecutionReport", &o, o.Account
	case order.OrderCancelReject:
		ev.Kind, ev.Reject = "OrderCancelReject", &o
		if st, ok := e.book.Order(o.OrderID); ok {
			ev.Account = st.Account
		}
	default:
		return
	}
	if ev.Account == "" {
		ev.Account = traderAccount(outputSession(em.out)) // e.g. a reject of an unknown order in a trader session
	}
	data, err := marshalOrderEvent(&ev)
	if err == nil {
		err = e.g.cfg.Events.PublishOrderEvent(ev.Account, data)
	}
	if err != nil {
		e.log.Error("fix publish order event", "seq", ev.Seq, "err", err)
	}
}

// seen reports whether the inbound message in was journalled already: a
// message the peer resent after a crash (see gatedStore).
func (e *engine) seen(in *inbound) bool {
	last, ok := e.lastIn[in.Session]
	return ok && last.Epoch == in.Epoch && in.Seq <= last.Seq
}

// apply applies ev to the book and adds it to the batch. An error means ev
// was refused and nothing changed.
func (e *engine) apply(ev order.Event, in *inbound, now time.Time) error {
	// Encoded before the book sees it: an event its journal record cannot
	// hold is refused like any other, where after the book had changed the
	// engine could only stop (and stop again on the peer's resend).
	data, err := encodeEvent(ev, in)
	if err != nil {
		return fmt.Errorf("fix: encode %s: %w", ev.EventKind(), err)
	}
	if len(data) > e.g.cfg.MaxEventBytes {
		return fmt.Errorf("%w: %s of %d bytes, max %d", ErrEventTooLarge, ev.EventKind(), len(data), e.g.cfg.MaxEventBytes)
	}
	outs, err := e.book.Apply(ev)
	if err != nil {
		return err
	}
	ri := len(e.recs)
	e.recs = append(e.recs, recovery.Record{Time: now.UnixNano(), Data: data})
	e.evs = append(e.evs, ev)
	if in != nil {
		e.lastIn[in.Session] = *in
	}
	for i, o := range outs {
		e.outs = append(e.outs, emitted{out: o, rec: ri, idx: i})
	}
	for _, o := range outs {
		if vr, ok := o.(order.VenueRequest); ok {
			e.route(vr, now)
		}
	}
	return nil
}

// applyVenue applies a venue event; a refusal is logged (the venue acted on
// a state that changed under it, e.g. the desk canceled the order).
func (e *engine) applyVenue(ev order.Event, now time.Time) bool {
	if err := e.apply(ev, nil, now); err != nil {
		e.log.Warn("fix venue event refused", "event", ev.EventKind(), "err", err)
		return false
	}
	return true
}

// route sends a venue request to the auto venue or the desk. A new order
// for an unknown symbol is rejected at once, whatever its venue. Desk
// (HandlInst=3) orders need nothing more: the desk lists the open ones from
// the book (Desk.Orders).
func (e *engine) route(vr order.VenueRequest, now time.Time) {
	o, ok := e.book.Order(vr.OrderID)
	if !ok {
		return
	}
	if vr.Kind == order.VenueNew && !e.g.knownSymbol(vr.Symbol) {
		e.applyVenue(order.RejectNew{
			OrderID:      vr.OrderID,
			Reason:       order.OrdRejReasonUnknownSymbol,
			Text:         "unknown symbol " + vr.Symbol,
			TransactTime: now,
		}, now)
		return
	}
	if o.HandlInst == order.HandlInstManual {
		return
	}
	e.venue.add(o.OrderID, now)
}

// handOver gives the auto venue an order that a desk operation made
// automatic: an accepted replace to HandlInst 1 or 2. (The auto venue
// itself stops working an order its replace made a desk order.)
func (e *engine) handOver(ev order.Event, now time.Time) {
	ar, ok := ev.(order.AcceptReplace)
	if !ok {
		return
	}
	if o, ok := e.book.Order(ar.OrderID); ok && o.HandlInst != order.HandlInstManual {
		e.venue.add(ar.OrderID, now)
	}
}

// submit queues c, a desk operation or a query, and waits for its result.
// If ctx ends first, either the command is abandoned before the engine
// runs it (ctx.Err(): it never runs) or the engine is running it, and
// submit waits for its result (see call).
func (e *engine) submit(ctx context.Context, c command) error {
	cl := &call{reply: make(chan error, 1)}
	c.call = cl
	select {
	case e.cmds <- c:
	case <-e.done:
		return e.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cl.reply:
		return err
	case <-e.done:
		return e.stoppedResult(cl)
	case <-ctx.Done():
	}
	if cl.state.CompareAndSwap(callQueued, callAbandoned) {
		return ctx.Err()
	}
	select {
	case err := <-cl.reply:
		return err
	case <-e.done:
		return e.stoppedResult(cl)
	}
}

// stoppedResult is cl's result once the engine has stopped: a failed batch
// answers each of its calls before done is closed; a call it never took
// did not run.
func (e *engine) stoppedResult(cl *call) error {
	select {
	case err := <-cl.reply:
		return err
	default:
		return e.stoppedErr()
	}
}

func (e *engine) stoppedErr() error {
	if e.err != nil {
		return e.err
	}
	return errStopped
}
