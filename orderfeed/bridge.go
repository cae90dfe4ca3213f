package orderfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/fix/order"
	"tickwire/orderwire"
	"tickwire/recovery"
)

// Bridge connects a feed server to the FIX gateway: trader requests to the
// gateway, the gateway's order state to traders behind the history. The zero
// value is not usable: call New.
type Bridge struct {
	gw  atomic.Pointer[fix.Gateway]
	hub atomic.Pointer[feedserver.Hub]
	log *slog.Logger
}

// New returns a Bridge without a gateway: it refuses requests until Attach.
func New(log *slog.Logger) *Bridge {
	return &Bridge{log: log}
}

// Attach starts routing requests to gw and taking order-state snapshots of
// hub's topics from it. A nil gw refuses requests again.
func (b *Bridge) Attach(hub *feedserver.Hub, gw *fix.Gateway) {
	b.hub.Store(hub)
	b.gw.Store(gw)
}

// Handlers returns feedserver.Config.Requests: the order request topic.
func (b *Bridge) Handlers() map[string]feedserver.RequestHandler {
	return map[string]feedserver.RequestHandler{orderwire.RequestTopic: b.handle}
}

// errNoPrincipal refuses a request that came without a principal.
var errNoPrincipal = errors.New("not entitled: unauthenticated")

// ErrNoGateway refuses requests on a server without an order gateway.
var ErrNoGateway = errors.New("order entry unavailable: this server runs no order gateway")

func subjectOf(from feedserver.ConnInfo) string {
	if from.Principal == nil {
		return ""
	}
	return from.Principal.Subject
}

func (b *Bridge) handle(ctx context.Context, from feedserver.ConnInfo, _ string, data []byte) error {
	r, err := orderwire.DecodeRequest(data)
	if err == nil {
		gw := b.gw.Load()
		if from.Principal == nil {
			err = r.Refuse(errNoPrincipal) // feedserver always sets one: refuse rather than guess
		} else if aerr := from.Principal.AuthorizeOrder(r.Action, r.Account); aerr != nil {
			// Before the gateway: a request the principal may not make
			// touches no order.
			err = r.Refuse(aerr)
		} else if gw == nil {
			err = r.Refuse(ErrNoGateway)
		} else {
			err = gw.Request(ctx, r)
		}
	}
	// The audit line of every request, accepted or not.
	attrs := []any{"subject", subjectOf(from), "client", from.ID, "remote", from.Remote, "session", from.Session}
	if r != nil {
		attrs = append(attrs, "action", r.Action, "id", r.ID(), "account", r.Account)
		if r.Text != "" {
			attrs = append(attrs, "text", r.Text)
		}
	}
	if err != nil {
		b.log.Warn("order request refused", append(attrs, "reason", err.Error())...)
		return err
	}
	b.log.Info("order request", attrs...)
	return nil
}

// AccountState is the Data of the feedserver.StateSnapshot of an
// orders.ACCOUNT topic: JSON, like the order events of the same topic.
type AccountState struct {
	Orders []order.OrderState `json:"orders"`
}

// SnapshotState implements feedserver.StateSnapshotter: the full order state
// of an account's topic, from the gateway's book at exactly the topic's head.
func (b *Bridge) SnapshotState(ctx context.Context, topic string) (feedserver.StateSnapshot, error) {
	gw, hub := b.gw.Load(), b.hub.Load()
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
	data, err := json.Marshal(AccountState{Orders: orders})
	if err != nil {
		return feedserver.StateSnapshot{}, err
	}
	return feedserver.StateSnapshot{Position: pos, Data: data}, nil
}

// HubEvents publishes the gateway's order events on the sequenced topic
// orders.ACCOUNT, where traders subscribe to their accounts' orders.
type HubEvents struct{ Hub *feedserver.Hub }

// PublishOrderEvent implements fix.OrderEvents.
func (o HubEvents) PublishOrderEvent(account string, ev []byte) error {
	_, _, err := o.Hub.PublishEvent(orderwire.AccountTopic(account), ev, time.Now().UnixNano())
	return err
}
