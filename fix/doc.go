// Package fix is tickwire's FIX 4.4 order gateway: a quickfixgo acceptor in
// front of the deterministic order state machine of fix/order, an auto venue
// that fills against the live price, a desk where HandlInst=3 orders wait
// for a trader, and a durable journal that makes recovery precise.
//
// The seams: Config.Prices (live quotes), Config.Events (order flow for
// traders), Gateway.Desk (trader operations), and the QuickFIX settings file
// (LoadSettings). See docs/fix.md.
//
// # Concurrency
//
// quickfix runs each session in its own goroutine; FromApp only turns a
// message into an order.Event and queues it. One engine goroutine owns the
// order.Book: it applies events in batches, journals each batch durably
// (one fsync), and only then sends the batch's ExecutionReports and
// OrderCancelRejects. Desk operations and queries go through the same
// goroutine. All exported methods are safe for concurrent use.
//
// # Recovery
//
// Every event is in the journal before any report it causes is sent.
// Inbound messages are acknowledged to quickfix's store only once journalled
// (gatedStore), so after a crash the peer resends what was lost and what was
// already journalled is recognised and dropped; outbound reports of the
// batch a crash interrupted are found missing in the FIX store and sent on
// restart (reconcile). The book is rebuilt by replaying the journal.
//
// With Config.MessageStore = StoreJournal the FIX message stores are
// journal streams too (journalstore.go), so a gateway on any node holding
// the journal continues the sessions (sequence numbers, resend); every
// outgoing message is durable there before a byte of it is written to the
// socket. A refused journal append (a deposed raft leader) stops the
// gateway and drops its sessions. See docs/HA.md.
package fix
