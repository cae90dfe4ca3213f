package feedserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"tickwire/auth"
	"tickwire/protocol"
)

// Authentication and entitlements (docs/auth.md). A client's credential
// comes in its Hello (Hello.Token) or, over REST, as "Authorization:
// Bearer <credential>"; Config.Authenticator turns it into an
// auth.Principal, whose methods decide every subscribe, publish and
// operator request. Without an Authenticator the server runs in open mode:
// every client is auth.Anonymous(), an admin.
//
// Refusals:
//   - a bad credential at Hello: Error 2009 (CodeUnauthorized), whose
//     reason says what is wrong with the credential, then close;
//   - the token expiring during the session: Error 2010, then close;
//   - a subscribe or publish the principal is not entitled to: Error 1007
//     (CodeNotEntitled), reason "not entitled", whether or not the topic
//     exists (the policy looks at names only);
//   - REST: 401 without or with a bad credential, 403 for an operator or
//     publish request the principal may not make, and GET /topics/{name}
//     answers the same 404 for "not entitled" as for "no such topic".
//
// Every refusal is logged at WARN with the subject, the remote address and
// the topic or action.

// Authenticator turns a credential into a principal, or refuses it with an
// error whose text is the reason the client is given (it must say nothing
// about topics). *auth.Verifier implements it.
type Authenticator interface {
	Authenticate(credential string) (*auth.Principal, error)
}

// notEntitledReason is the whole reason of every 1007: the same text for a
// topic that exists and one that does not.
const notEntitledReason = "not entitled"

// authenticate returns the principal of credential (open mode: anonymous).
func (s *Server) authenticate(credential string) (*auth.Principal, error) {
	if s.cfg.Authenticator == nil {
		return s.anonymous, nil
	}
	p, err := s.cfg.Authenticator.Authenticate(credential)
	if err == nil && p == nil {
		err = errors.New("no principal") // an Authenticator's bug: refuse rather than guess
	}
	return p, err
}

// credentialSubject is the subject a refused credential named, if known.
func credentialSubject(err error) string {
	var ce *auth.CredentialError
	if errors.As(err, &ce) {
		return ce.Subject
	}
	return ""
}

// principalOf returns the client's principal; nil before its Hello.
func (c *Conn) principalOf() *auth.Principal { return c.principal.Load() }

// authenticateHello checks the Hello's credential and, on success, arms the
// end of the session at the credential's expiry. On failure it closes the
// connection with 2009 and reports false. Reader goroutine.
func (c *Conn) authenticateHello(h *protocol.Hello) bool {
	p, err := c.srv.authenticate(h.Token)
	if err != nil {
		c.logger().Warn("auth refused", "subject", credentialSubject(err), "action", "hello", "reason", err.Error(), "detail", errDetail(err))
		c.closeWith(protocol.CodeUnauthorized, "unauthorized: "+err.Error())
		return false
	}
	c.principal.Store(p)
	c.credential = h.Token
	if !p.Expires.IsZero() {
		t := time.AfterFunc(time.Until(p.Expires), func() {
			select {
			case <-c.done:
				return
			default:
			}
			c.logger().Warn("auth refused", "action", "session", "reason", "token expired")
			c.closeWith(protocol.CodeTokenExpired, "token expired")
		})
		c.expiry.Store(t)
		select {
		case <-c.done: // shut down meanwhile: its Stop may have missed t
			t.Stop()
		default:
		}
	}
	return true
}

func errDetail(err error) string {
	var ce *auth.CredentialError
	if errors.As(err, &ce) {
		return ce.Detail
	}
	return ""
}

// notEntitled refuses action on topic with Error 1007 and logs it.
func (c *Conn) notEntitled(action, topic string) {
	c.logger().Warn("not entitled", "action", action, "topic", topic)
	c.srv.errSent.inc(protocol.CodeNotEntitled)
	c.send(&protocol.Error{Code: protocol.CodeNotEntitled, Reason: notEntitledReason, Topic: topic})
}

// canSubscribe reports whether the client may subscribe to topic.
func (c *Conn) canSubscribe(topic string) bool {
	p := c.principalOf()
	return p != nil && p.CanSubscribe(topic)
}

// restPrincipal authenticates a REST request's Bearer credential. On
// failure it answers 401 and returns nil.
func (s *Server) restPrincipal(w http.ResponseWriter, r *http.Request) *auth.Principal {
	if s.cfg.Authenticator == nil {
		return s.anonymous
	}
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var p *auth.Principal
	var err error
	if !ok {
		err = auth.ErrMissing
	} else {
		p, err = s.authenticate(strings.TrimSpace(cred))
	}
	if err != nil {
		s.log.Warn("auth refused", "subject", credentialSubject(err), "remote", r.RemoteAddr, "action", r.Method+" "+r.URL.Path, "reason", err.Error(), "detail", errDetail(err))
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickwire", error="invalid_token"`)
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return nil
	}
	return p
}

// authed wraps a REST handler: it runs with the request's principal, or the
// request is answered 401.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := s.restPrincipal(w, r); p != nil {
			h(w, r, p)
		}
	}
}

// adminOnly wraps an operator endpoint: admins only (403 for others).
func (s *Server) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if !p.Admin() {
			s.forbidden(w, r, p)
			return
		}
		h(w, r)
	})
}

// metricsOnly wraps h for principals that may read the operational
// counters (admin or metrics role; anyone in open mode).
func (s *Server) metricsOnly(h http.Handler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if !p.CanReadMetrics() {
			s.forbidden(w, r, p)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// forbidden answers 403 and logs the refusal.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	s.log.Warn("not entitled", "subject", p.Subject, "remote", r.RemoteAddr, "action", r.Method+" "+r.URL.Path)
	http.Error(w, fmt.Sprintf("%s: %s", notEntitledReason, r.URL.Path), http.StatusForbidden)
}
