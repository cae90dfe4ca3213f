package feedserver

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Browser boundaries (docs/auth.md, "Browsers"). A web page in an
// operator's browser can send requests to any address the browser
// reaches, 127.0.0.1 included; without these checks a page could drive a
// server in open mode (every client an admin). guard refuses, on every
// route:
//
//   - a request whose Origin header names another origin than the one it
//     was sent to, unless Config.AllowedOrigins lists it (403). Browsers
//     set Origin on WebSocket upgrades and on POSTs; other clients send
//     none and pass. This is what stops a cross-site WebSocket, which no
//     CORS rule covers;
//   - in open mode, a Host that names neither an IP address, localhost,
//     nor a name of Config.AllowedHosts (403): a DNS-rebinding page is
//     same-origin with the server under its own name, so only the Host
//     tells it apart.
//
// And each POST route accepts one media type (requireType, 415 for
// others): JSON for the REST API, StreamContentType for HTTP-stream posts.
// Neither is one a page can send cross-site without a CORS preflight, which
// the server never answers, so an HTML form or a no-cors fetch with a
// text/plain body cannot publish a price or pause a source.

// jsonType is the media type of every REST POST body.
const jsonType = "application/json"

// guard applies the Origin and Host checks to every request.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin, r.Host) {
			s.log.Warn("request refused: cross-origin", "remote", r.RemoteAddr, "origin", origin, "host", r.Host, "action", r.Method+" "+r.URL.Path)
			http.Error(w, fmt.Sprintf("origin %q not allowed: only same-origin requests and --allow-origin", origin), http.StatusForbidden)
			return
		}
		if s.cfg.Authenticator == nil && !s.hostAllowed(r.Host) {
			s.log.Warn("request refused: unknown host", "remote", r.RemoteAddr, "host", r.Host, "action", r.Method+" "+r.URL.Path)
			http.Error(w, fmt.Sprintf("host %q not allowed: without authentication this server answers only to IP addresses, localhost and --allow-host names", r.Host), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// originAllowed reports whether a request with this Origin header, sent to
// host (the Host header), may proceed: same origin, or listed in
// Config.AllowedOrigins. Scheme and port are part of an origin; "null"
// (a sandboxed or privacy-sensitive context) matches nothing.
func (s *Server) originAllowed(origin, host string) bool {
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	// The scheme is the server's own (ws/http or wss/https): only the host
	// and port can differ from the request's.
	_, rest, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(rest, host)
}

// hostAllowed reports whether host (a Host header, port optional) names
// this server in open mode. An IP address cannot be rebound (DNS
// rebinding needs a name the attacker's DNS answers for), nor can
// localhost; other names must be listed in Config.AllowedHosts.
func (s *Server) hostAllowed(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"), ".")
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil || strings.EqualFold(name, "localhost") {
		return true
	}
	for _, n := range s.cfg.AllowedHosts {
		if strings.EqualFold(strings.TrimSuffix(n, "."), name) {
			return true
		}
	}
	return false
}

// requireType wraps a POST handler: a body of another media type than want
// (parameters such as charset aside) is answered 415.
func requireType(want string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
			w.Header().Set("Accept-Post", want)
			http.Error(w, fmt.Sprintf("Content-Type %q: this endpoint takes %s", ct, want), http.StatusUnsupportedMediaType)
			return
		}
		h(w, r)
	}
}
