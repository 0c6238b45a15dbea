package oauth

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/web"
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

func (o *Server) renderConsent(w http.ResponseWriter, r *http.Request, c *web.Ctx, status int, cp *consentPage) {
	p := &web.Data{Title: "Approve sign-in", User: c.User, CSRF: c.CSRF, Content: cp}
	if cp.ReturnTo != "" {
		// The answer to Approve or Deny redirects to the client's loopback
		// address; browsers hold that redirect to the page's form-action.
		w = &formActionWriter{ResponseWriter: w, origin: cp.ReturnTo}
	}
	o.cfg.Pages.Render(w, r, status, "consent", p)
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

// grantable is the labels of the scopes a login asks for that the signed-in
// person can grant: Administration is shown only to administrators.
func grantable(asked gatehouse.Scopes, c *web.Ctx) []string {
	if c != nil && c.User != nil {
		asked &= c.Principal().Scopes()
	}
	return asked.Labels()
}
