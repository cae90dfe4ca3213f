// Package auth is tickwire's authentication and entitlements: who a client
// is (a Principal, from a signed token or an API key) and what it may do
// (the Principal's methods, pure functions of its roles, accounts and topic
// patterns). The feed server asks; this package never touches a connection.
//
// Credentials:
//   - tokens: JWTs signed with Ed25519 (alg EdDSA), minted by `tickwire
//     token mint` with the private key; servers verify them with the public
//     key(s) only (token.go);
//   - API keys for services: random secrets "twk_...", of which the server
//     keeps only the SHA-256 (apikey.go).
//
// docs/auth.md describes the model, the files and the refusals.
package auth

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"tickwire/orderwire"
)

// Roles. A role grants what its comment says, on top of subscribing to the
// market data the topic patterns allow.
const (
	RoleAdmin     = "admin"     // everything: all topics, publishing anywhere, desk actions, operator endpoints
	RoleTrader    = "trader"    // order requests (new, cancel, replace) for the principal's accounts
	RoleDesk      = "desk"      // desk actions on any order, and every account's order topic
	RolePublisher = "publisher" // publish values and events (never into orders.*)
	RoleMetrics   = "metrics"   // read GET /metrics and /stats (a Prometheus scraper's API key)
)

// Roles returns every role, in a stable order.
func Roles() []string { return []string{RoleAdmin, RoleTrader, RoleDesk, RolePublisher, RoleMetrics} }

// RequestTopicPrefix starts request topics (feedserver.Config.Requests):
// what is published there goes to an application, so there is nothing to
// subscribe to, and nobody may subscribe.
const RequestTopicPrefix = "requests."

// Method says how a Principal was authenticated.
type Method string

// Methods.
const (
	MethodNone   Method = "none"   // open mode: authentication is disabled
	MethodToken  Method = "token"  // a signed token (JWT)
	MethodAPIKey Method = "apikey" // an API key from the server's keys file
)

// Principal is an authenticated client: who it is and what it may do. It is
// immutable once built; share it freely.
type Principal struct {
	Subject  string   // the token's sub, or "apikey:NAME"
	Roles    []string // RoleAdmin, RoleTrader, ...; unknown roles grant nothing
	Accounts []string // the accounts whose orders are the principal's
	// Topics are path.Match patterns of the market-data topics the principal
	// may subscribe to (and, as a publisher, publish to); empty: all.
	Topics []string
	// Expires is when this server stops accepting the credential (its exp
	// plus the verifier's leeway); zero: never (API keys, open mode). A
	// session ends then (Error 2010).
	Expires time.Time
	Method  Method
}

// Anonymous returns the principal of open mode (no authenticator): an
// admin, so everything behaves as before authentication existed.
func Anonymous() *Principal {
	return &Principal{Subject: "anonymous", Roles: []string{RoleAdmin}, Method: MethodNone}
}

// Has reports whether p holds role (admin holds every role).
func (p *Principal) Has(role string) bool {
	return slices.Contains(p.Roles, role) || slices.Contains(p.Roles, RoleAdmin)
}

// Admin reports whether p is an admin: operator endpoints (pause, resume,
// client lists) need it.
func (p *Principal) Admin() bool { return slices.Contains(p.Roles, RoleAdmin) }

// ownsAccountTopic reports whether topic is the order topic of one of p's
// accounts.
func (p *Principal) ownsAccountTopic(topic string) bool {
	for _, a := range p.Accounts {
		if orderwire.AccountTopic(a) == topic {
			return true
		}
	}
	return false
}

// matchesTopics reports whether topic matches one of p's patterns (or p has
// none: all topics).
func (p *Principal) matchesTopics(topic string) bool {
	if len(p.Topics) == 0 {
		return true
	}
	for _, pat := range p.Topics {
		if ok, _ := path.Match(pat, topic); ok {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether p may subscribe to topic:
//   - request topics (requests.*): never, not even an admin: nothing is
//     ever published there;
//   - admin: everything else;
//   - order topics (orders.ACCOUNT): the principal's own accounts, or any
//     with role desk;
//   - other topics: those the principal's patterns match (none: all).
//
// The answer depends on the name only, never on whether the topic exists,
// so a refusal tells nothing about other principals' topics.
func (p *Principal) CanSubscribe(topic string) bool {
	switch {
	case strings.HasPrefix(topic, RequestTopicPrefix):
		return false
	case p.Admin():
		return true
	case strings.HasPrefix(topic, orderwire.AccountTopicPrefix):
		return p.Has(RoleDesk) || p.ownsAccountTopic(topic)
	}
	return p.matchesTopics(topic)
}

// CanPublish reports whether p may publish values or events into topic: an
// admin anywhere; a publisher into topics its patterns match, except order
// topics (the gateway's own) and request topics (requests go to their
// handler, which decides).
func (p *Principal) CanPublish(topic string) bool {
	switch {
	case p.Admin():
		return true
	case !p.Has(RolePublisher):
		return false
	case strings.HasPrefix(topic, orderwire.AccountTopicPrefix), strings.HasPrefix(topic, RequestTopicPrefix):
		return false
	}
	return p.matchesTopics(topic)
}

// AuthorizeOrder says whether p may send an order request of action for
// account (an orderwire.Request): new, cancel and replace need role trader
// and one of p's accounts; desk actions (which name an order, not an
// account) need role desk. The error wraps ErrNotEntitled and says what is
// missing, in terms of p's own credential only.
func (p *Principal) AuthorizeOrder(action orderwire.Action, account string) error {
	if p.Admin() {
		return nil
	}
	if action.Desk() {
		if !p.Has(RoleDesk) {
			return fmt.Errorf("%w: desk actions need role %s", ErrNotEntitled, RoleDesk)
		}
		return nil
	}
	if !p.Has(RoleTrader) {
		return fmt.Errorf("%w: order entry needs role %s", ErrNotEntitled, RoleTrader)
	}
	if !slices.Contains(p.Accounts, account) {
		return fmt.Errorf("%w to trade account %q", ErrNotEntitled, account)
	}
	return nil
}

// String describes p for logs: subject and method.
func (p *Principal) String() string {
	return p.Subject + " (" + string(p.Method) + ")"
}

// validPatterns checks topic patterns for path.Match syntax.
func validPatterns(pats []string) error {
	for _, pat := range pats {
		if pat == "" {
			return errors.New("empty topic pattern")
		}
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("topic pattern %q: %w", pat, err)
		}
	}
	return nil
}

// validRoles checks that every role is known.
func validRoles(roles []string) error {
	for _, r := range roles {
		if !slices.Contains(Roles(), r) {
			return fmt.Errorf("unknown role %q (roles: %s)", r, strings.Join(Roles(), ", "))
		}
	}
	return nil
}

// CanReadMetrics reports whether p may read the operational counters
// (/metrics, /stats): they name topics and FIX counterparties.
func (p *Principal) CanReadMetrics() bool { return p.Admin() || p.Has(RoleMetrics) }
