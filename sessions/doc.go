// Package sessions keeps tickwire's client sessions alive across
// disconnections: a Store hands every new connection a Session with an id and
// an unforgeable resume token, keeps a disconnected session's State
// (subscriptions, settings, positions in sequenced streams) for a linger
// time, and gives it back to a connection that presents the token.
//
// # Tokens
//
// A resume token is "tw1.KID.SID.MAC": the session id SID signed with
// HMAC-SHA256 under the server's secret (KID names the secret, so a token
// from a server with another secret is told apart from a forged one). Tokens
// cannot be forged without the secret and are checked before any session is
// looked up, so a bad token never touches anyone's session. The secret lives
// in the data directory (LoadOrCreateSecret) so tokens outlive a restart;
// sessions themselves are in memory and do not: after a restart, or on
// another server, a client continues from the positions it sends.
//
// # Takeover
//
// A client whose link died usually comes back before the server has noticed
// (a cut TCP connection is silent until the heartbeats run out). Resume then
// asks the connection still holding the session to let go (Owner.Kick) and
// waits for it to Detach, so the state handed over is that connection's
// final state, never a copy it could still change.
//
// # Caps
//
// Lingering sessions are capped in count and in bytes (State.Size), in total
// and per holder (State.Holder: a subject, or an anonymous client's
// address). Past a cap sessions end early, the offender's first: the
// holder over its own cap, or the one holding the most, loses its oldest;
// another user's session is not touched.
//
// # Concurrency
//
// Every Store method is safe for concurrent use. Owner.Kick is called with no
// Store lock held.
package sessions
