package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"tickwire/fix/order"
	"tickwire/recovery"
)

// The journal stream of the gateway (Config.Stream, default "fix.orders")
// holds JSON records of three types:
//
//	{"t":"book","book":{...order.Config...}}            the first record: how the book names things
//	{"t":"batch","marks":[{"s":SESSION,"n":NEXT,"e":EPOCH}]}   first record of each Append
//	{"t":"event","in":{"s":SESSION,"q":SEQ,"e":EPOCH},"ev":{order.MarshalEvent}}
//
// Replaying the event records in order into order.NewBook(book) rebuilds the
// book exactly (the book is deterministic). "in" is set on counterparty
// events: the session, the MsgSeqNum of the FIX message and the epoch of the
// session's message store, which lets the gateway recognise a message the
// peer resends after a crash (already journalled: drop it).
//
// The batch marks make the outputs exactly-once across a crash. The engine
// appends a batch (marks + events) durably, then sends the batch's
// ExecutionReports and OrderCancelRejects in order; only the engine sends
// 8 and 9 messages. A mark is the session's next outgoing MsgSeqNum before
// the batch was sent. After a crash only the last batch can be partly sent:
// the 8/9 messages in the FIX store from its mark on are exactly the ones
// that were, in order, and the gateway sends the rest (reconcile).

const (
	recBook  = "book"
	recBatch = "batch"
	recEvent = "event"
)

type journalRecord struct {
	Type  string          `json:"t"`
	Book  *order.Config   `json:"book,omitempty"`
	Marks []senderMark    `json:"marks,omitempty"`
	In    *inbound        `json:"in,omitempty"`
	Event json.RawMessage `json:"ev,omitempty"`
}

// senderMark is a session's next outgoing MsgSeqNum and store epoch when a
// batch was committed.
type senderMark struct {
	Session string `json:"s"`
	Next    int    `json:"n"`
	Epoch   int64  `json:"e"`
}

// inbound identifies the FIX message a counterparty event came from.
type inbound struct {
	Session string `json:"s"`
	Seq     int    `json:"q"`
	Epoch   int64  `json:"e"`
}

func encodeEvent(ev order.Event, in *inbound) ([]byte, error) {
	body, err := order.MarshalEvent(ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(journalRecord{Type: recEvent, In: in, Event: body})
}

// replayed is what a journal replay yields.
type replayed struct {
	book   *order.Book
	lastIn map[string]inbound
	// The last batch: its marks, and the outputs of its events in order
	// (with the journal position of the event and the output's index).
	marks []senderMark
	tail  []emitted
	// events counts the event records replayed.
	events int
}

// replay reads stream from the start. An empty stream gets its book record
// (cfg) appended first. A record that does not decode, or an event the book
// refuses, stops the replay with an error: the journal and the code
// disagree, and guessing would break the exactly-once promises.
func replay(ctx context.Context, j recovery.Journal, stream string, cfg order.Config) (*replayed, error) {
	r := &replayed{lastIn: make(map[string]inbound)}
	var pos recovery.Position
	for {
		es, err := j.ReadFrom(ctx, stream, pos, recovery.DefaultReadLimit)
		if err != nil {
			return nil, fmt.Errorf("fix: journal replay: %w", err)
		}
		for _, e := range es {
			if err := r.apply(e); err != nil {
				return nil, fmt.Errorf("fix: journal replay %s seq %d: %w", stream, e.Seq, err)
			}
			pos = e.Position()
		}
		if len(es) < recovery.DefaultReadLimit {
			break
		}
	}
	if r.book == nil {
		data, err := json.Marshal(journalRecord{Type: recBook, Book: &cfg})
		if err != nil {
			return nil, err
		}
		if _, err := j.Append(ctx, stream, recovery.Record{Data: data}); err != nil {
			return nil, fmt.Errorf("fix: journal: %w", err)
		}
		r.book = order.NewBook(cfg)
	}
	return r, nil
}

func (r *replayed) apply(e recovery.Entry) error {
	var rec journalRecord
	if err := json.Unmarshal(e.Data, &rec); err != nil {
		return err
	}
	switch rec.Type {
	case recBook:
		if r.book != nil || rec.Book == nil {
			return errors.New("unexpected book record")
		}
		r.book = order.NewBook(*rec.Book)
	case recBatch:
		r.marks = rec.Marks
		r.tail = r.tail[:0]
	case recEvent:
		if r.book == nil {
			return errors.New("event before the book record")
		}
		ev, err := order.UnmarshalEvent(rec.Event)
		if err != nil {
			return err
		}
		outs, err := r.book.Apply(ev)
		if err != nil {
			return err
		}
		if rec.In != nil {
			r.lastIn[rec.In.Session] = *rec.In
		}
		for i, o := range outs {
			r.tail = append(r.tail, emitted{out: o, pos: e.Position(), idx: i})
		}
		r.events++
	default:
		return fmt.Errorf("unknown record type %q", rec.Type)
	}
	return nil
}
