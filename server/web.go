package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows only our own scripts and styles, no
// framing, no plugins, no <base> tricks (checklist E6).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// page is what every template gets. Content is the page's own data.
type page struct {
	Title   string
	Tab     string // the highlighted tab or section
	User    *gatehouse.User
	CSRF    string
	Flash   string
	Error   string
	Content any
	Now     time.Time
}

// webCtx is the signed-in caller of a web page.
type webCtx struct {
	User    *gatehouse.User
	session string // the cookie's token, for CSRF
	CSRF    string
}

func (c *webCtx) principal() *gatehouse.Principal {
	return &gatehouse.Principal{User: c.User, Method: gatehouse.AuthSession}
}

type webHandler func(w http.ResponseWriter, r *http.Request, c *webCtx) error

var templateFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
}

// parseTemplates builds one template set per page: layout + the page.
func parseTemplates() (map[string]*template.Template, error) {
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template)
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", p)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page with the security headers every HTML answer has.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := s.templates[name]
	if t == nil {
		s.log.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Now = s.now()
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("rendering page failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// webPage wraps a page that needs a signed-in user. Anyone else is sent
// to sign in and brought back. Unsafe methods need the session's CSRF
// token in the form (checklist E4).
func (s *Server) webPage(h webHandler) http.Handler {
	return s.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, u, token, err := s.currentSession(r)
		if err != nil {
			s.webError(w, r, nil, err)
			return
		}
		if u == nil {
			if safeMethod(r.Method) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			} else {
				s.webError(w, r, nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Your session ended. Sign in again."))
			}
			return
		}
		c := &webCtx{User: u, session: token, CSRF: csrfToken(token)}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
			if !s.validCSRF(token, r.PostFormValue("csrf_token")) {
				s.webError(w, r, c, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form expired or came from another site. Reload the page and try again."))
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.webError(w, r, c, err)
		}
	}))
}

// webError shows an error page with the domain message and the status
// of the one table.
func (s *Server) webError(w http.ResponseWriter, r *http.Request, c *webCtx, err error) {
	code := gatehouse.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == gatehouse.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	}
	p := &page{Title: "Error", Error: gatehouse.ErrorMessage(err)}
	if c != nil {
		p.User, p.CSRF = c.User, c.CSRF
	}
	s.render(w, r, status, "error", p)
}

// anonCSRFCookie carries a random token for forms shown before sign-in
// (the sign-in form itself): the form must echo the cookie.
const anonCSRFCookie = "gatehouse_csrf"

func (s *Server) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(anonCSRFCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	t := randomToken()
	http.SetCookie(w, &http.Cookie{Name: anonCSRFCookie, Value: t, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return t
}

func validAnonCSRF(r *http.Request) bool {
	c, err := r.Cookie(anonCSRFCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("csrf_token")))
}

// localRedirect accepts only paths on this site, so ?next= cannot send a
// signed-in user elsewhere.
func localRedirect(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/settings/keys"
	}
	return next
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, u, _, _ := s.currentSession(r); u != nil {
		http.Redirect(w, r, localRedirect(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", &page{Title: "Sign in", CSRF: s.anonCSRF(w, r),
		Content: map[string]string{"Next": r.URL.Query().Get("next")}})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	username, pw, next := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("next")
	again := func(status int, msg string) {
		s.render(w, r, status, "login", &page{Title: "Sign in", CSRF: s.anonCSRF(w, r), Error: msg,
			Content: map[string]string{"Next": next, "Username": username}})
	}
	if !validAnonCSRF(r) {
		again(http.StatusForbidden, "The form expired. Please sign in again.")
		return
	}
	ip := s.clientAddr(r)
	if blocked, wait := s.limiter.blocked(ip.String()); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		again(http.StatusTooManyRequests, gatehouse.ErrorMessage(rateLimited(wait)))
		return
	}
	p, err := s.passwordSignIn(r.Context(), username, pw, ip)
	if err != nil {
		var ce *credError
		status := statusOf[gatehouse.ErrorCode(err)]
		if errors.As(err, &ce) && ce.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
		}
		if status == 0 {
			status = http.StatusInternalServerError
		}
		again(status, gatehouse.ErrorMessage(err))
		return
	}
	// A session this browser already had ends here: signing in always
	// yields a new session ID and the old one is dead (checklist E2).
	if c, err := r.Cookie(s.cookie); err == nil {
		h := sha256.Sum256([]byte(c.Value))
		if err := s.store.DeleteSession(r.Context(), h[:]); err != nil {
			s.log.Warn("ending the previous session failed", "err", err)
		}
	}
	if err := s.startSession(r.Context(), w, r, p.User, ip); err != nil {
		s.webError(w, r, nil, err)
		return
	}
	s.audit(r.Context(), &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditSignIn,
		IP: ip.String(), Success: true, Detail: "web"})
	http.Redirect(w, r, localRedirect(next), http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	s.endSession(w, r)
	s.audit(r.Context(), &gatehouse.AuditEvent{ActorID: c.User.ID, Actor: c.User.Username, Action: gatehouse.AuditSignOut,
		IP: s.clientAddr(r).String(), Success: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.webError(w, r, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "There is no page here."))
		return
	}
	http.Redirect(w, r, "/settings/keys", http.StatusSeeOther)
}
