package server

import (
	"net/http"
	"net/url"
	"strings"
)

// The consent page both login flows show: it names the machine, the
// program, the account and the scopes, with Deny and Approve. Nothing is
// ever approved without it.

// consentPage is the data of templates/consent.html.
type consentPage struct {
	Machine string   // the machine's name as the client gave it; may be empty
	Client  string   // the program, e.g. "the Gatehouse command line"
	Scopes  []string // labels: "User resources", "Platform channels"
	Action  string   // where Approve and Deny post
	Hidden  []hiddenField
	// ReturnTo is the loopback origin the code flow returns to.
	ReturnTo string
	// UserCode is the device flow's code, shown so the person can compare
	// it with the terminal's.
	UserCode string
}

type hiddenField struct{ Name, Value string }

func (o *oauthServer) renderConsent(w http.ResponseWriter, r *http.Request, c *webCtx, status int, cp *consentPage) {
	p := &page{Title: "Approve sign-in", User: c.User, CSRF: c.CSRF, Content: cp}
	if cp.ReturnTo != "" {
		// The answer to Approve or Deny redirects to the client's loopback
		// address; browsers hold that redirect to the page's form-action.
		w = &formActionWriter{ResponseWriter: w, origin: cp.ReturnTo}
	}
	o.s.render(w, r, status, "consent", p)
}

// formActionWriter adds one origin to the form-action directive of the
// page's Content-Security-Policy as the header is written. Everything
// else in the policy stays as render sets it.
type formActionWriter struct {
	http.ResponseWriter
	origin string
	wrote  bool
}

func (f *formActionWriter) WriteHeader(code int) {
	if !f.wrote {
		f.wrote = true
		h := f.Header()
		if csp := h.Get("Content-Security-Policy"); csp != "" {
			h.Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+f.origin, 1))
		}
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *formActionWriter) Write(b []byte) (int, error) {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	return f.ResponseWriter.Write(b)
}

func (f *formActionWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// signedInPage is webPage for GET pages reached from a link a CLI printed:
// a signed-out person signs in and comes back with the query string
// (webPage keeps only the path).
func (o *oauthServer) signedInPage(h webHandler) http.Handler {
	inner := o.s.webPage(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, u, _, err := o.s.currentSession(r)
		if err == nil && u == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
