package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Browser sessions: the cookie holds 32 random bytes; the store keeps only
// their SHA-256. The CSRF token of a session is an HMAC of the session
// token, so it needs no storage and dies with the session.

// startSession signs u in: a fresh session ID every time, so a cookie
// planted before sign-in is worthless (checklist E2).
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *gatehouse.User, ip netip.Addr) error {
	token := randomToken()
	h := sha256.Sum256([]byte(token))
	now := s.now()
	sess := &gatehouse.Session{Hash: h[:], UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(gatehouse.SessionIdleTimeout),
		IP: ip.String(), UserAgent: truncateUA(r.UserAgent())}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(token, sess.CreatedAt.Add(gatehouse.SessionMaxAge)))
	return nil
}

func (s *Server) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: s.cookie, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// currentSession returns the live session of r, its user and the cookie's
// token, or nils when there is none. Sessions end after the idle timeout
// or the maximum age, whichever comes first.
func (s *Server) currentSession(r *http.Request) (*gatehouse.Session, *gatehouse.User, string, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || len(c.Value) != 43 {
		return nil, nil, "", nil
	}
	h := sha256.Sum256([]byte(c.Value))
	sess, u, err := s.store.SessionByHash(r.Context(), h[:])
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, nil, "", nil
	default:
		return nil, nil, "", err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.CreatedAt.Add(gatehouse.SessionMaxAge)) || u.Disabled {
		return nil, nil, "", nil
	}
	// Slide the idle timeout, writing at most once a minute per session.
	next := now.Add(gatehouse.SessionIdleTimeout)
	if maxEnd := sess.CreatedAt.Add(gatehouse.SessionMaxAge); next.After(maxEnd) {
		next = maxEnd
	}
	if next.Sub(sess.ExpiresAt) > time.Minute {
		if err := s.store.ExtendSession(r.Context(), sess.ID, next); err != nil {
			s.log.Warn("extending session failed", "err", err)
		}
	}
	return sess, u, c.Value, nil
}

// endSession deletes the session server-side, so a replayed cookie is
// worthless (checklist E3), and clears the cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookie); err == nil {
		h := sha256.Sum256([]byte(c.Value))
		if err := s.store.DeleteSession(r.Context(), h[:]); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			s.log.Warn("deleting session failed", "err", err)
		}
	}
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
}

// csrfToken derives the CSRF token of a session token.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("gatehouse csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF compares in constant time.
func (s *Server) validCSRF(sessionToken, got string) bool {
	if sessionToken == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(csrfToken(sessionToken)), []byte(got))
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncateUA(ua string) string {
	if len(ua) > 256 {
		return ua[:256]
	}
	return ua
}
