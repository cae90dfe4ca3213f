package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"tickwire/client"
)

// Sender is what Feed needs of a tea.Program.
type Sender interface{ Send(tea.Msg) }

// Feed forwards client events to the program in batches, at most one batch per
// interval, so the dashboard's cost does not grow with the update rate: the
// dashboard renders once per batch. Inside a batch, prices are coalesced per
// topic (only the latest value is kept, see Batcher). It returns when events
// is closed or ctx is done.
func Feed(ctx context.Context, p Sender, events <-chan client.Event, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var b Batcher
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if msg := b.Take(); msg != nil {
					p.Send(msg)
				}
				return
			}
			b.Add(ev)
		case <-t.C:
			if msg := b.Take(); msg != nil {
				p.Send(msg)
			}
		case <-ctx.Done():
			return
		}
	}
}

// Batcher collects client events into an EventsMsg, coalescing as it goes: a
// price replaces the pending price of its topic, an RTT the pending RTT. A
// state change or an error ends the run that can be coalesced, so events of
// different kinds keep their order (prices before a disconnect stay before
// it). A coalesced price keeps the gap mark of the ones it replaced. The
// zero value is ready to use.
type Batcher struct {
	evs   EventsMsg
	topic map[string]int // topic -> index in evs of its pending price, in the current run
	rtt   int            // index+1 of the pending RTT in the current run, 0 none
}

// Add adds one event.
func (b *Batcher) Add(ev client.Event) {
	switch e := ev.(type) {
	case client.PriceEvent:
		if b.topic == nil {
			b.topic = make(map[string]int)
		}
		if i, ok := b.topic[e.Topic]; ok {
			if prev := b.evs[i].(client.PriceEvent); prev.Gap && !e.Gap {
				e.Gap = true
				ev = e
			}
			b.evs[i] = ev
			return
		}
		b.topic[e.Topic] = len(b.evs)
	case client.RTTEvent:
		if b.rtt > 0 {
			b.evs[b.rtt-1] = ev
			return
		}
		b.rtt = len(b.evs) + 1
	default:
		clear(b.topic)
		b.rtt = 0
	}
	b.evs = append(b.evs, ev)
}

// Take returns the batch and starts a new one; nil if it is empty.
func (b *Batcher) Take() EventsMsg {
	if len(b.evs) == 0 {
		return nil
	}
	msg := b.evs
	b.evs = make(EventsMsg, 0, len(msg))
	clear(b.topic)
	b.rtt = 0
	return msg
}
