package fix

import "errors"

// Errors of the engine's work.
var (
	// ErrOutcomeUnknown: the engine stopped on a failure (journal, FIX
	// store) while the operation's batch was being committed: it may or
	// may not have been applied, which a restarted gateway's book tells.
	// Everything else an operation returns means it was not applied.
	ErrOutcomeUnknown = errors.New("fix: outcome unknown (the gateway failed while committing it)")
	// ErrEventTooLarge: the event's journal record would be over
	// Config.MaxEventBytes. Refused before it changed anything.
	ErrEventTooLarge = errors.New("fix: event too large for the journal")
)

// Errors of Desk operations.
var (
	// ErrUnknownOrder: no order has this OrderID.
	ErrUnknownOrder = errors.New("fix: unknown order")
	// ErrNotDesk: the order is not HandlInst=3; the auto venue works it.
	ErrNotDesk = errors.New("fix: order is not a desk (HandlInst=3) order")
	// ErrBadText: a text longer than orderwire.MaxTextLen, or not
	// printable (orderwire.PrintableText). It would go into the report's
	// Text (58) as is: an SOH there breaks the FIX session for good.
	ErrBadText = errors.New("fix: bad text")
)

// ErrDuplicateClOrdID refuses a trader request whose ClOrdID its session
// has used already.
var ErrDuplicateClOrdID = errors.New("duplicate ClOrdID")
