package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// apiHandler is an /api handler that runs for an authenticated caller.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error

// api wraps h: it authenticates the caller (key, Basic password, or a
// browser session with its CSRF header), requires the scopes in need, and
// turns a returned error into the JSON error answer.
func (s *Server) api(need gatehouse.Scopes, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.apiPrincipal(r)
		if err == nil {
			err = p.Require(need)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			s.writeAPIError(w, r, err)
		}
	})
}

var errNoCredential = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Sign in, or send an API key: Authorization: Bearer <key>. Create keys in Account Settings → API Keys."),
	Reason: "NO API KEY",
}

func (s *Server) apiPrincipal(r *http.Request) (*gatehouse.Principal, error) {
	c, err := readCredential(r, "")
	if err != nil {
		return nil, err
	}
	ip := s.clientAddr(r)
	if strings.HasPrefix(c.key, accessTokenPrefix) {
		// A login token (CLI login), only ever in Bearer: never an API key.
		return s.oauthPrincipal(r.Context(), c.key, ip.String())
	}
	if c.present() {
		p, err := s.authenticateCredential(r.Context(), c, ip)
		if err == nil && p.Method == gatehouse.AuthPassword {
			s.audit(r.Context(), &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditSignIn,
				IP: ip.String(), Success: true, Detail: "http basic"})
		}
		return p, err
	}
	// A browser session may call the API too, but only same-origin with
	// the session's CSRF token on anything that changes state (checklist E4).
	sess, u, token, err := s.currentSession(r)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errNoCredential
	}
	if !safeMethod(r.Method) && !s.validCSRF(token, r.Header.Get("X-CSRF-Token")) {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Missing or wrong CSRF token. Reload the page and try again.")
	}
	return &gatehouse.Principal{User: u, Method: gatehouse.AuthSession}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// clientAddr is the client's address: the socket peer, or the address a
// trusted proxy forwarded. It is what the gate matches and what failures
// are counted against. The zero Addr (undeterminable) is gated (C5).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	return s.proxies.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// decodeJSON reads one JSON object into v, refusing unknown fields, so a
// misspelt field is an error rather than a silent default.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return gatehouse.Errorf(gatehouse.EINVALID, "Send the request body as JSON, with Content-Type: application/json.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ge *gatehouse.Error
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case asError(err, &ge):
			return ge
		case errors.As(err, &mbe):
			return gatehouse.Errorf(gatehouse.ETOOLARGE, "The request body is over %d bytes.", maxJSONBody)
		case errors.As(err, &ute):
			return gatehouse.FieldErrorf(ute.Field, "The field %q has the wrong type.", ute.Field)
		case errors.Is(err, io.EOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is empty; send a JSON object.")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return gatehouse.Errorf(gatehouse.EINVALID, "The body has an unknown field: %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not valid JSON.")
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body holds more than one JSON value.")
	}
	return nil
}

// asError is errors.As for a pointer target.
func asError[T error](err error, target *T) bool { return errors.As(err, target) }
