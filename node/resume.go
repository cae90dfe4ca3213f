package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"tickwire/feedserver"
	"tickwire/tickfeed"
)

// ResumeReplay is a cluster Active's price ingestion (Cluster.Ingest): the
// ticks of tl (NewTimeline's files) on that timeline, each value stamped
// with its tick's due time on it. It starts with the first tick due after now, or
// after the newest time among the hub's values of the replay's topics (on
// a new Active, the cascaded values of the old one, which carry its
// stamps) if that is later: a trader's board never goes back to an older
// tick across a failover, and the new Active continues in the same loop,
// where the old one would be by now (the ticks due during the failover
// are skipped: prices are current, not complete).
func ResumeReplay(srv *feedserver.Server, tl *tickfeed.Timeline, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		newest, topic := NewestPrice(srv.Hub(), tl.Topics)
		// Every tick the old Active published was due before it died,
		// and so before now (it died an election timeout ago): starting
		// after now is newer than anything any node or client holds, even
		// a value in flight at the kill that this node never got. The
		// newest value here wins when it is later (clock skew).
		after := time.Now()
		if newest.After(after) {
			after = newest
		}
		opt, stamp := tl.Resume(after)
		loop, rec := tl.Position(opt.AnchorAt)
		log.Info("replay resumes", "newest_price", newest.UTC().Format(time.RFC3339Nano), "topic", topic,
			"loop", loop, "tick_time", rec.UTC().Format(time.RFC3339Nano), "due_in", time.Until(opt.AnchorAt).Round(time.Millisecond).String())
		st, err := tickfeed.Replay(ctx, tl.Open, opt, &tickfeed.HubPublisher{Hub: srv.Hub(), Due: stamp})
		if ctx.Err() != nil {
			err = nil // stopped as asked
		} else if err != nil {
			err = fmt.Errorf("replay: %w", err)
		}
		log.Info("replay ended", "ticks", st.Ticks, "loops", st.Loops, "max_drift", st.MaxDrift, "err", err)
		return err
	}
}

// NewestPrice returns the newest source time among hub's values of topics,
// and its topic; the zero time if none has a value.
func NewestPrice(hub *feedserver.Hub, topics []string) (time.Time, string) {
	var newest int64
	name := ""
	for _, t := range topics {
		if p, ok := hub.Latest(t); ok && p.Time > newest {
			newest, name = p.Time, t
		}
	}
	if newest == 0 {
		return time.Time{}, ""
	}
	return time.Unix(0, newest), name
}
