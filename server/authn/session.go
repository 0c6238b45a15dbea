package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// Sessions keeps browser sessions in cookies: the cookie holds a random
// token, the AuthService keeps only its SHA-256. The CSRF token of a
// session is an HMAC of the session token, so it needs no storage and
// dies with the session.
type Sessions struct {
	auth   gatehouse.AuthService
	secure bool
	cookie string
}

// NewSessions makes session cookies; secure when the server is reached
// over TLS, which makes the cookie a __Host- cookie (checklist E1: only
// ever sent to this origin, over TLS, for the whole path).
func NewSessions(auth gatehouse.AuthService, secure bool) *Sessions {
	s := &Sessions{auth: auth, secure: secure, cookie: "gatehouse_session"}
	if secure {
		s.cookie = "__Host-gatehouse_session"
	}
	return s
}

// Secure reports whether cookies are for TLS only.
func (s *Sessions) Secure() bool { return s.secure }

// CookieName is the session cookie's name.
func (s *Sessions) CookieName() string { return s.cookie }

// Current returns the live session of r, its user and the cookie's token,
// or nils when there is none.
func (s *Sessions) Current(r *http.Request) (*gatehouse.Session, *gatehouse.User, string, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || !secret.IsToken(c.Value) {
		return nil, nil, "", nil
	}
	sess, u, err := s.auth.Session(r.Context(), c.Value)
	if err != nil || sess == nil {
		return nil, nil, "", err
	}
	return sess, u, c.Value, nil
}

// Start signs p's user in: the previous session of this browser, if any,
// ends (a fresh session ID every time, checklist E2), and a new cookie is
// set.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if c, err := r.Cookie(s.cookie); err == nil {
		_ = s.auth.EndSession(ctx, c.Value, nil)
	}
	token, expires, err := s.auth.StartSession(ctx, p, r.UserAgent())
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(token, expires))
	return nil
}

// End deletes the session server-side, so a replayed cookie is worthless
// (checklist E3), clears the cookie, and audits the sign-out for p.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	token := ""
	if c, err := r.Cookie(s.cookie); err == nil {
		token = c.Value
	}
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	return s.auth.EndSession(r.Context(), token, p)
}

func (s *Sessions) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: s.cookie, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// CSRFToken derives the CSRF token of a session token.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("gatehouse csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidCSRF compares a form's or header's CSRF token with the session's,
// in constant time.
func ValidCSRF(sessionToken, got string) bool {
	if sessionToken == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(CSRFToken(sessionToken)), []byte(got))
}

// anonCSRFCookie carries a random token for forms shown before sign-in
// (the sign-in form itself): the form must echo the cookie.
const anonCSRFCookie = "gatehouse_csrf"

// AnonCSRF returns the anonymous CSRF token, setting its cookie if the
// browser has none.
func (s *Sessions) AnonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(anonCSRFCookie); err == nil && secret.IsToken(c.Value) {
		return c.Value
	}
	t := secret.Token()
	http.SetCookie(w, &http.Cookie{Name: anonCSRFCookie, Value: t, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return t
}

// ValidAnonCSRF reports whether the form echoes the anonymous cookie.
func ValidAnonCSRF(r *http.Request) bool {
	c, err := r.Cookie(anonCSRFCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("csrf_token")))
}
