// Package order is the sell-side order state machine of the FIX 4.4
// gateway: a deterministic, pure Go implementation of the FIX "Order State
// Change Matrices" (FIX 4.4 Volume 4, Appendix D). It never imports
// quickfix; the gateway maps FIX messages onto Events and Outputs onto FIX
// messages.
//
// A Book holds the orders of one gateway, keyed by (session, ClOrdID) and by
// OrderID. Book.Apply takes one Event, either from the counterparty
// (NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest,
// OrderStatusRequest) or from the venue/desk (AcceptNew, RejectNew, Fill,
// AcceptCancel, RejectCancel, AcceptReplace, RejectReplace,
// UnsolicitedCancel, Restate, DoneForDay, Expire, TradeBust, TradeCorrect),
// and returns the Outputs to send: ExecutionReport and OrderCancelReject
// values for the session, VenueRequest values for the venue.
//
// # Determinism
//
// Apply depends only on the book's state and the event: no clock (times come
// in the events), no randomness, no map iteration in anything observable,
// OrderIDs and ExecIDs from counters in the state. Replaying a journal of
// events (MarshalEvent/UnmarshalEvent) into a new Book with the same Config
// rebuilds the same state and the same outputs; Snapshot/Restore captures
// and reloads that state.
//
// # Concurrency
//
// A Book is not safe for concurrent use. quickfix runs each session in its
// own goroutine: funnel events to one goroutine that owns the book (and
// appends them to the journal before applying them).
//
// # Policies
//
// See docs/orderstate.md. In short: one outstanding cancel/replace per order
// (a second is rejected with CxlRejReason 3); replacements take effect only
// at the venue's AcceptReplace; a duplicate ClOrdID is rejected (OrdRejReason
// 6, or CxlRejReason 6) unless PossResend is set, in which case the current
// state is reported (ExecType I) and nothing is created.
package order
