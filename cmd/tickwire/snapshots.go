package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/orderwire"
	"tickwire/recovery"
)

// orderSnapshots gives the feed server the full order state of an account's
// topic (orders.ACCOUNT) when a trader's position is older than the retained
// history: the gateway's book, at exactly the topic's head.
type orderSnapshots struct {
	gw  atomic.Pointer[fix.Gateway]
	hub atomic.Pointer[feedserver.Hub]
}

// orderStateSnapshot is the Data of an order-state snapshot: JSON, like the order
// events of the same topic.
type orderStateSnapshot struct {
	Orders []order.OrderState `json:"orders"`
}

// SnapshotState implements feedserver.StateSnapshotter.
func (o *orderSnapshots) SnapshotState(ctx context.Context, topic string) (feedserver.StateSnapshot, error) {
	gw, hub := o.gw.Load(), o.hub.Load()
	if gw == nil || hub == nil || !strings.HasPrefix(topic, "orders.") {
		return feedserver.StateSnapshot{}, feedserver.ErrNoState
	}
	var pos recovery.Position
	var headErr error
	orders, err := gw.OrdersAt(ctx, func(s *order.OrderState) bool { return orderwire.AccountTopic(s.Account) == topic }, func() {
		pos, headErr = hub.Journal().Head(topic)
	})
	if err := errors.Join(err, headErr); err != nil {
		return feedserver.StateSnapshot{}, fmt.Errorf("order state of %s: %w", topic, err)
	}
	data, err := json.Marshal(orderStateSnapshot{Orders: orders})
	if err != nil {
		return feedserver.StateSnapshot{}, err
	}
	return feedserver.StateSnapshot{Position: pos, Data: data}, nil
}
