package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"tickwire/feedserver"
	"tickwire/fix"
	"tickwire/orderwire"
)

// orderRequests routes trader requests (orderwire JSON, published on
// orderwire.RequestTopic) from the feed server to the FIX gateway. The
// server is built before the gateway (the gateway prices off the server's
// hub), so the gateway is set later; until then, and on a server without a
// gateway, requests are refused with a reason.
//
//	reqs := newOrderRequests(log)
//	srv := feedserver.New(feedserver.Config{..., Requests: reqs.handlers()})
//	gw, err := startFIX(...)
//	reqs.setGateway(gw)
type orderRequests struct {
	gw  atomic.Pointer[fix.Gateway]
	log *slog.Logger
}

func newOrderRequests(log *slog.Logger) *orderRequests {
	return &orderRequests{log: log}
}

// setGateway starts routing requests to gw (nil: refuse them again).
func (o *orderRequests) setGateway(gw *fix.Gateway) { o.gw.Store(gw) }

// handlers returns feedserver.Config.Requests.
func (o *orderRequests) handlers() map[string]feedserver.RequestHandler {
	return map[string]feedserver.RequestHandler{orderwire.RequestTopic: o.handle}
}

// errNoPrincipal refuses a request that came without a principal.
var errNoPrincipal = errors.New("not entitled: unauthenticated")

func subjectOf(from feedserver.ClientInfo) string {
	if from.Principal == nil {
		return ""
	}
	return from.Principal.Subject
}

// errNoGateway refuses requests on a server without an order gateway.
var errNoGateway = errors.New("order entry unavailable: this server runs no order gateway")

func (o *orderRequests) handle(ctx context.Context, from feedserver.ClientInfo, _ string, data []byte) error {
	r, err := orderwire.DecodeRequest(data)
	if err == nil {
		gw := o.gw.Load()
		if from.Principal == nil {
			err = r.Refuse(errNoPrincipal) // feedserver always sets one: refuse rather than guess
		} else if aerr := from.Principal.AuthorizeOrder(r.Action, r.Account); aerr != nil {
			// Before the gateway: a request the principal may not make
			// touches no order.
			err = r.Refuse(aerr)
		} else if gw == nil {
			err = r.Refuse(errNoGateway)
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
		o.log.Warn("order request refused", append(attrs, "reason", err.Error())...)
		return err
	}
	o.log.Info("order request", attrs...)
	return nil
}
