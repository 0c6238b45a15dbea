package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Sign-in asks for an email address or a username first. An address in a
// domain an organization has claimed (and a server administrator has
// confirmed) goes on to that organization's identity provider; anything
// else goes on to the password step. The provider sends the person back
// to /login/sso/callback.

// ssoCookie holds the browser's secret of a single sign-on in flight: the
// callback must come back to the browser that started it.
func (s *Pages) ssoCookie() string {
	if s.cfg.Sessions.Secure() {
		return "__Host-gatehouse_sso"
	}
	return "gatehouse_sso"
}

// loginStep renders the sign-in page's first step, or, for ?email=, starts
// single sign-on or shows the password step.
func (s *Pages) loginStep(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := q.Get("next")
	id := strings.TrimSpace(q.Get("email"))
	content := s.loginNotes(map[string]string{"Next": next})
	if id == "" || len(id) > 254 {
		s.Render(w, r, http.StatusOK, "login", &Data{Title: "Sign in", Content: content})
		return
	}
	if s.cfg.SSO != nil {
		start, err := s.cfg.SSO.Begin(r.Context(), id, localRedirect(next))
		if err != nil {
			// checklist K8: a provider that is down is a clear page, and
			// the person may still sign in with a password.
			status, msg := s.cfg.Reply.Page(r, err)
			content["Email"] = id
			s.Render(w, r, status, "login", &Data{Title: "Sign in", Error: msg, Content: content})
			return
		}
		if start != nil {
			http.SetCookie(w, &http.Cookie{Name: s.ssoCookie(), Value: start.BrowserSecret, Path: "/", HttpOnly: true,
				Secure: s.cfg.Sessions.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: 600})
			if q.Get("step") == "identify" {
				// From our own form: CSP's form-action 'self' forbids a
				// form whose answer redirects to another origin, so a
				// page of ours carries the browser on.
				s.Render(w, r, http.StatusOK, "sso_redirect", &Data{Title: "Signing in",
					Content: map[string]string{"URL": start.RedirectURL, "Org": start.Org}})
				return
			}
			http.Redirect(w, r, start.RedirectURL, http.StatusSeeOther)
			return
		}
	}
	content["Username"] = id
	s.Render(w, r, http.StatusOK, "login", &Data{Title: "Sign in", CSRF: s.cfg.Sessions.AnonCSRF(w, r), Content: content})
}

// handleSSOCallback finishes a single sign-on: the provider's answer is
// checked by the SSOService, and a session starts.
func (s *Pages) handleSSOCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var browser string
	if c, err := r.Cookie(s.ssoCookie()); err == nil {
		browser = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: s.ssoCookie(), Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.Sessions.Secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if s.cfg.SSO == nil {
		s.Error(w, r, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "There is no page here."))
		return
	}
	p, next, err := s.cfg.SSO.Finish(r.Context(), gatehouse.SSOCallback{
		State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		BrowserSecret: browser, Addr: s.cfg.Addrs.Client(r), UserAgent: r.UserAgent()})
	if err != nil {
		status, msg := s.cfg.Reply.Page(r, err)
		s.Render(w, r, status, "login", &Data{Title: "Sign in", Error: msg, Content: map[string]string{}})
		return
	}
	if err := s.cfg.Sessions.Start(r.Context(), w, r, p); err != nil {
		s.Error(w, r, nil, err)
		return
	}
	s.noticeExpiringKeys(w, r, p)
	http.Redirect(w, r, localRedirect(next), http.StatusSeeOther)
}

// ExpiryBanner is the notice, shown once after sign-in, of the keys that
// expire within the warning window.
type ExpiryBanner struct {
	Keys []*gatehouse.APIKey
	Days int
}

const expiryNoticeCookie = "gatehouse_key_notice"

// noticeExpiringKeys marks the browser to show the banner on the next
// page, if any of p's keys expire soon.
func (s *Pages) noticeExpiringKeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if len(s.expiring(r, p)) == 0 {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: expiryNoticeCookie, Value: "1", Path: "/", HttpOnly: true,
		Secure: s.cfg.Sessions.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: 300})
}

// expiring returns p's active keys within the warning window.
func (s *Pages) expiring(r *http.Request, p *gatehouse.Principal) []*gatehouse.APIKey {
	keys, err := s.cfg.Keys.ListKeys(r.Context(), p)
	if err != nil {
		return nil
	}
	warn := s.cfg.Keys.ExpiryWarning(p)
	now := s.now()
	var out []*gatehouse.APIKey
	for _, k := range keys {
		if gatehouse.ExpiringSoon(k, now, warn) {
			out = append(out, k)
		}
	}
	return out
}

// expiryBanner returns the banner once after sign-in, and forgets the
// mark.
func (s *Pages) expiryBanner(w http.ResponseWriter, r *http.Request, u *gatehouse.User) *ExpiryBanner {
	if _, err := r.Cookie(expiryNoticeCookie); err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: expiryNoticeCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.cfg.Sessions.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	p := &gatehouse.Principal{User: u, Method: gatehouse.AuthSession}
	keys := s.expiring(r, p)
	if len(keys) == 0 {
		return nil
	}
	return &ExpiryBanner{Keys: keys, Days: int(s.cfg.Keys.ExpiryWarning(p) / (24 * time.Hour))}
}
