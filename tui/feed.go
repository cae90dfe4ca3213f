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
// interval, so the dashboard's cost does not grow with the update rate. It
// returns when events is closed or ctx is done.
func Feed(ctx context.Context, p Sender, events <-chan client.Event, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var batch EventsMsg
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if len(batch) > 0 {
					p.Send(batch)
				}
				return
			}
			batch = append(batch, ev)
		case <-t.C:
			if len(batch) > 0 {
				p.Send(batch)
				batch = nil
			}
		case <-ctx.Done():
			return
		}
	}
}
