// Package signuppages is the web side of self-service sign-up: the
// sign-up page for people without an account, and the administrators'
// page that approves or denies requests. The rules are service/signup's;
// these handlers read forms and render through server/web's layout. The
// sign-up form carries the anonymous CSRF token and is refused cross-site
// (checklist E4); the administrators' forms carry the session's.
package signuppages

import (
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
	"github.com/gatehouse-dev/gatehouse/service/signup"
	signuptypes "github.com/gatehouse-dev/gatehouse/signup"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the pages need.
type Config struct {
	Pages    *web.Pages
	Signup   *signup.Service
	Sessions *authn.Sessions
	Addrs    *authn.Addrs
	Reply    *reply.Replier
}

// Handlers serves the sign-up pages.
type Handlers struct {
	cfg Config
}

// New parses the templates into cfg.Pages.
func New(cfg Config) (*Handlers, error) {
	if err := cfg.Pages.AddTemplates(templateFS); err != nil {
		return nil, err
	}
	return &Handlers{cfg: cfg}, nil
}

// Routes registers the pages. No GET changes anything (checklist E5).
func (h *Handlers) Routes(mux web.Mux) {
	mux.HandleFunc("GET /signup", h.handleSignupPage)
	mux.Handle("POST /signup", h.cfg.Pages.CrossOrigin(http.HandlerFunc(h.handleSignup)))
	mux.Handle("GET /admin/signups", h.cfg.Pages.Page(h.handleRequestsPage))
	mux.Handle("POST /admin/signups/{id}/approve", h.cfg.Pages.Page(h.handleDecide(true)))
	mux.Handle("POST /admin/signups/{id}/deny", h.cfg.Pages.Page(h.handleDecide(false)))
}

type signupPage struct {
	Mode     string
	Ask      string
	Domains  []string
	Next     string
	Username string
	Email    string
	// Done: "open" (the account exists) or "approval" (it waits).
	Done string
}

func (h *Handlers) page(next string) *signupPage {
	svc := h.cfg.Signup
	return &signupPage{Mode: string(svc.Mode()), Ask: svc.AskSentence(), Domains: svc.Domains(), Next: next}
}

func (h *Handlers) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	if c, _ := h.cfg.Pages.Current(r); c != nil {
		http.Redirect(w, r, "/settings/keys", http.StatusSeeOther)
		return
	}
	sp := h.page(r.URL.Query().Get("next"))
	h.cfg.Pages.Render(w, r, http.StatusOK, "signup", &web.Data{Title: "Create an account", CSRF: h.cfg.Sessions.AnonCSRF(w, r), Content: sp})
}

func (h *Handlers) handleSignup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sp := h.page(r.PostFormValue("next"))
	sp.Username, sp.Email = strings.TrimSpace(r.PostFormValue("username")), strings.TrimSpace(r.PostFormValue("email"))
	render := func(status int, msg string) {
		h.cfg.Pages.Render(w, r, status, "signup", &web.Data{Title: "Create an account", CSRF: h.cfg.Sessions.AnonCSRF(w, r), Error: msg, Content: sp})
	}
	if !authn.ValidAnonCSRF(r) {
		render(http.StatusForbidden, "The form expired. Please try again.")
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		render(http.StatusBadRequest, "The two passwords differ. Type the same password twice.")
		return
	}
	u, err := h.cfg.Signup.SignUp(r.Context(), signup.Form{Username: sp.Username, Email: sp.Email, Password: pw}, h.cfg.Addrs.Client(r))
	if err != nil {
		var e *gatehouse.Error
		if ge, ok := err.(*gatehouse.Error); ok {
			e = ge
		}
		if e != nil && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
		status, msg := h.cfg.Reply.Page(r, err)
		render(status, msg)
		return
	}
	sp.Done = string(signuptypes.Approval)
	if u != nil {
		sp.Done = string(signuptypes.Open)
		sp.Username = u.Username
	}
	h.cfg.Pages.Render(w, r, http.StatusCreated, "signup", &web.Data{Title: "Create an account", Content: sp})
}

type requestsPage struct {
	Mode             string
	Domains          []string
	Pending, Decided []*signuptypes.Request
}

func (h *Handlers) handleRequestsPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	return h.renderRequests(w, r, c, http.StatusOK, &web.Data{})
}

func (h *Handlers) renderRequests(w http.ResponseWriter, r *http.Request, c *web.Ctx, status int, d *web.Data) error {
	pending, decided, err := h.cfg.Signup.Requests(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	d.Title, d.Tab, d.User, d.CSRF = "Sign-up requests", "admin", c.User, c.CSRF
	d.Content = &requestsPage{Mode: string(h.cfg.Signup.Mode()), Domains: h.cfg.Signup.Domains(), Pending: pending, Decided: decided}
	h.cfg.Pages.Render(w, r, status, "admin_signups", d)
	return nil
}

func (h *Handlers) handleDecide(approve bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such sign-up request.")
		}
		req, err := h.cfg.Signup.Decide(r.Context(), c.Principal(), id, approve)
		if err != nil {
			if code := gatehouse.ErrorCode(err); code == gatehouse.ECONFLICT || code == gatehouse.ENOTFOUND {
				return h.renderRequests(w, r, c, reply.Status(err), &web.Data{Error: gatehouse.ErrorMessage(err)})
			}
			return err
		}
		flash := req.Username + "'s request was denied. They were not told; they may ask again."
		if approve {
			flash = req.Username + " now has an account and can sign in with the password they chose."
		}
		return h.renderRequests(w, r, c, http.StatusOK, &web.Data{Flash: flash})
	}
}
