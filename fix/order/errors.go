package order

import "errors"

// Errors returned by Apply and Restore. Apply returns an error only for
// misuse: an event the caller should never have produced (an unknown
// OrderID, a venue report impossible in the order's state, a malformed venue
// event). Counterparty mistakes are never errors: they become rejects.
// When Apply returns an error the book is unchanged and there is no output.
var (
	// ErrUnknownEvent: nil event, or a journal record of unknown kind.
	ErrUnknownEvent = errors.New("order: unknown event")
	// ErrNoSession: a counterparty event without Session.
	ErrNoSession = errors.New("order: event has no session")
	// ErrUnknownOrderID: a venue event naming an OrderID the book never issued.
	ErrUnknownOrderID = errors.New("order: unknown OrderID")
	// ErrInvalidTransition: the venue event is impossible in the order's state.
	ErrInvalidTransition = errors.New("order: event not allowed in the order's state")
	// ErrInvalidEvent: a venue event with a missing or out-of-range field.
	ErrInvalidEvent = errors.New("order: invalid event")
	// ErrOverfill: the fill or correction would take CumQty above OrderQty,
	// or would partially fill a fill-or-kill order.
	ErrOverfill = errors.New("order: execution exceeds the order quantity")
	// ErrUnknownExecution: a bust/correct naming no live execution of the order.
	ErrUnknownExecution = errors.New("order: unknown or busted execution")
	// ErrConflictingFill: a Fill reusing a VenueExecID with different values.
	ErrConflictingFill = errors.New("order: VenueExecID reused with different values")
	// ErrBadSnapshot: Restore was given an inconsistent snapshot.
	ErrBadSnapshot = errors.New("order: bad snapshot")
)
