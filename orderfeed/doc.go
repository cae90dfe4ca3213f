// Package orderfeed puts the FIX gateway (package fix) behind a feed server
// (package feedserver), so traders reach it over tickwire's own protocol:
//
//   - Bridge routes the order requests traders publish on
//     orderwire.RequestTopic to the gateway, after checking that the
//     caller's principal may make them, and logs an audit line for each;
//   - Bridge also answers a trader whose position in orders.ACCOUNT is older
//     than the retained history with the account's order state, taken from
//     the gateway's book at exactly the topic's head (feedserver.StateSnapshotter);
//   - HubEvents publishes the gateway's order events on the sequenced topic
//     orders.ACCOUNT (fix.OrderEvents);
//   - NewCollector exports the gateway's FIX sessions at /metrics.
//
// The server is built before the gateway (the gateway prices off the
// server's hub), so the gateway is attached to the Bridge later; until then,
// and on a server without a gateway, requests are refused with a reason:
//
//	b := orderfeed.New(log)
//	srv := feedserver.New(feedserver.Config{..., Requests: b.Handlers(), Snapshotter: b})
//	gw, err := fix.New(fix.Config{..., Prices: fix.LatestPrices(srv.Hub().LatestAge), Events: orderfeed.HubEvents{Hub: srv.Hub()}})
//	b.Attach(srv.Hub(), gw)
//
// The trader's side of the same wire is package traderorders.
package orderfeed
