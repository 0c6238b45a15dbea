package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// errorPage is the content of the error page: the reason is its heading
// (not a banner under "Something went wrong"), and the links lead
// somewhere useful for who is asking.
type errorPage struct {
	Status  int
	Kind    string // "Page not found", "Access refused", ...
	Message string
	// SignIn is set for signed-out callers: a link to sign in and come
	// back.
	SignIn string
}

// statusKinds name a status in words, under the reason.
var statusKinds = map[int]string{
	http.StatusBadRequest:          "Bad request",
	http.StatusUnauthorized:        "Sign-in needed",
	http.StatusForbidden:           "Access refused",
	http.StatusNotFound:            "Page not found",
	http.StatusConflict:            "Conflict",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusServiceUnavailable:  "Temporarily unavailable",
	http.StatusInternalServerError: "Server error",
}

// Error shows an error page with the domain message and the status of
// the one table.
func (s *Pages) Error(w http.ResponseWriter, r *http.Request, c *Ctx, err error) {
	status, msg := s.cfg.Reply.Page(r, err)
	kind := statusKinds[status]
	if kind == "" {
		kind = http.StatusText(status)
	}
	ep := &errorPage{Status: status, Kind: kind, Message: msg}
	p := &Data{Title: msg, Content: ep}
	if c != nil {
		p.User, p.CSRF = c.User, c.CSRF
	} else if authn := s.signedIn(r); authn != nil {
		p.User, p.CSRF = authn.User, authn.CSRF
	}
	if p.User == nil {
		// A 404 never echoes its path (checklist J2: it may hold a
		// key); other refusals bring the person back after signing in.
		ep.SignIn = "/login"
		if status != http.StatusNotFound && r.Method == http.MethodGet {
			ep.SignIn += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
	}
	s.Render(w, r, status, "error", p)
}

// signedIn returns the caller of r if a session is signed in, for pages
// that any caller may reach (the 404 page shows the top bar to them).
func (s *Pages) signedIn(r *http.Request) *Ctx {
	c, err := s.Current(r)
	if err != nil {
		return nil
	}
	return c
}

// handleNotFound answers every path no route serves with the styled 404
// page (the JSON API and the channels have their own).
func (s *Pages) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.Error(w, r, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "There is no page at this address."))
}

// shortcuts are addresses people type that name a section rather than a
// page: each goes to the section's first tab.
var shortcuts = map[string]string{
	"/settings":  "/settings/keys",
	"/settings/": "/settings/keys",
	"/account":   "/settings/keys",
	"/account/":  "/settings/keys",
	"/keys":      "/settings/keys",
	"/admin":     "/admin/users",
	"/admin/":    "/admin/users",
}

// errorRoutes registers the shortcuts and the catch-all 404 page.
func (s *Pages) errorRoutes(mux Mux) {
	for from, to := range shortcuts {
		if strings.HasSuffix(from, "/") {
			from += "{$}"
		}
		mux.Handle("GET "+from, http.RedirectHandler(to, http.StatusSeeOther))
	}
	mux.HandleFunc("/", s.handleNotFound)
}
