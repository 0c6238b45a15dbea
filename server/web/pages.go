// Package web is Gatehouse's browser UI: sign-in, Account Settings (API
// keys, password), organizations, channels, and the administration pages,
// rendered from embedded templates over the same services the JSON API
// calls. Every page that changes something is a POST with the session's
// CSRF token, refused cross-site before any handler runs (checklist D3,
// E4); no GET changes anything (E5). The OAuth server's consent and device
// pages render through Pages too.
package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy allows only our own scripts and styles, no
// framing, no plugins, no <base> tricks (checklist E6).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// maxFormBody bounds every form body.
const maxFormBody = 64 << 10

// Config is what the pages need: the services, and how to read requests.
type Config struct {
	Auth     gatehouse.AuthService
	Keys     gatehouse.KeyService
	Users    gatehouse.UserService
	Orgs     gatehouse.OrgService
	Channels gatehouse.ChannelService
	Packages gatehouse.PackageService
	Gate     gatehouse.GateService
	Audit    gatehouse.AuditService
	SSO      gatehouse.SSOService
	// Registration is organization-wide registration.
	Registration gatehouse.RegistrationService
	// Browse searches channels' packages (service/browse).
	Browse PackageBrowser
	// Signup says whether people may create accounts (service/signup);
	// nil is off.
	Signup SignupPolicy

	Sessions *authn.Sessions
	Addrs    *authn.Addrs
	Reply    *reply.Replier
	Logger   *slog.Logger
	Clock    gatehouse.Clock
	// PublicURL is how clients reach the server: the links and commands
	// the pages show.
	PublicURL *url.URL
}

// Pages serves the browser UI.
type Pages struct {
	cfg         Config
	log         *slog.Logger
	now         gatehouse.Clock
	templates   map[string]*template.Template
	crossOrigin *http.CrossOriginProtection
}

// New parses the templates and builds the pages.
func New(cfg Config) (*Pages, error) {
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Pages{cfg: cfg, log: cfg.Logger, now: cfg.Clock, templates: tmpl}
	// checklist E4, D3: browsers' cross-site POSTs are refused before any
	// handler runs; the CSRF token is the second line.
	s.crossOrigin = http.NewCrossOriginProtection()
	s.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Cross-site requests are refused. Use the form on this site."))
	}))
	return s, nil
}

// Data is what every template gets. Content is the page's own data.
type Data struct {
	Title   string
	Tab     string // the highlighted tab or section
	User    *gatehouse.User
	CSRF    string
	Flash   string
	Error   string
	Content any
	Now     time.Time
	// Banner lists the keys about to expire, once after sign-in.
	Banner *ExpiryBanner
}

// Ctx is the signed-in caller of a page.
type Ctx struct {
	User *gatehouse.User
	// Session is the cookie's token, for CSRF.
	Session string
	CSRF    string
	Addr    netip.Addr
}

// Principal is the caller as the services see them: a browser session
// holds every scope its user holds.
func (c *Ctx) Principal() *gatehouse.Principal {
	return &gatehouse.Principal{User: c.User, Method: gatehouse.AuthSession, Addr: c.Addr}
}

// Handler is a page that runs for a signed-in caller.
type Handler func(w http.ResponseWriter, r *http.Request, c *Ctx) error

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
		// Partials are blocks a page may include, kept in files of their
		// own so that parts of a page built apart merge apart.
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html", p)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// AddTemplates parses the pages of another package (its templates/*.html
// in fsys) with this package's layout and partials, so that page packages
// of their own (server/web/pkgpages) render through Render like ours.
func (s *Pages) AddTemplates(fsys fs.FS) error {
	pages, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
		if err == nil {
			t, err = t.ParseFS(fsys, p)
		}
		if err != nil {
			return err
		}
		s.templates[name] = t
	}
	return nil
}

// Render writes a page with the security headers every HTML answer has.
func (s *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Data) {
	t := s.templates[name]
	if t == nil {
		s.log.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Now = s.now()
	if p.User != nil && p.Banner == nil {
		p.Banner = s.expiryBanner(w, r, p.User)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("rendering page failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Page wraps a page that needs a signed-in user. Anyone else is sent to
// sign in and brought back. Unsafe methods need the session's CSRF token
// in the form (checklist E4).
func (s *Pages) Page(h Handler) http.Handler {
	return s.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, u, token, err := s.cfg.Sessions.Current(r)
		if err != nil {
			s.Error(w, r, nil, err)
			return
		}
		if u == nil {
			if authn.SafeMethod(r.Method) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			} else {
				s.Error(w, r, nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Your session ended. Sign in again."))
			}
			return
		}
		c := &Ctx{User: u, Session: token, CSRF: authn.CSRFToken(token), Addr: s.cfg.Addrs.Client(r)}
		if u.MustChangePassword && r.URL.Path != passwordPath && r.URL.Path != "/logout" {
			s.askNewPassword(w, r, c)
			return
		}
		if !authn.SafeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
			if !authn.ValidCSRF(token, r.PostFormValue("csrf_token")) {
				s.Error(w, r, c, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form expired or came from another site. Reload the page and try again."))
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.Error(w, r, c, err)
		}
	}))
}

// SignedInPage is Page for GET pages reached from a link a CLI printed: a
// signed-out person signs in and comes back with the query string.
func (s *Pages) SignedInPage(h Handler) http.Handler {
	inner := s.Page(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, u, _, err := s.cfg.Sessions.Current(r)
		if err == nil && u == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// Current returns the signed-in caller of r, or nil.
func (s *Pages) Current(r *http.Request) (*Ctx, error) {
	_, u, token, err := s.cfg.Sessions.Current(r)
	if err != nil || u == nil {
		return nil, err
	}
	return &Ctx{User: u, Session: token, CSRF: authn.CSRFToken(token), Addr: s.cfg.Addrs.Client(r)}, nil
}

// AbsURL returns the public URL of path.
func (s *Pages) AbsURL(path string) string {
	u := *s.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// localRedirect returns next if it is a path on this site, and the API
// Keys tab otherwise, so ?next= cannot send a signed-in browser elsewhere
// (checklist E12). The target is judged as a browser will read it: no
// control or whitespace character anywhere (browsers strip tabs and
// newlines, so "/\t/evil.example" would become "//evil.example"), no
// backslash (read as a slash), no scheme, no host, and a path that starts
// with exactly one slash, decoded or not.
func localRedirect(next string) string {
	const home = "/settings/keys"
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	for _, r := range next {
		if r < 0x21 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	// What the path decodes to must pass the same checks: %09, %5C and
	// %2F%2F are what a browser's URL parser may turn into a host.
	dec, err := url.PathUnescape(u.EscapedPath())
	if err != nil || !strings.HasPrefix(dec, "/") || strings.HasPrefix(dec, "//") {
		return home
	}
	for _, r := range dec {
		if r < 0x21 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return home
		}
	}
	return next
}

func (s *Pages) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, u, _, _ := s.cfg.Sessions.Current(r); u != nil {
		http.Redirect(w, r, localRedirect(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.loginStep(w, r)
}

func (s *Pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	username, pw, next := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("next")
	again := func(status int, msg string) {
		s.Render(w, r, status, "login", &Data{Title: "Sign in", CSRF: s.cfg.Sessions.AnonCSRF(w, r), Error: msg,
			Content: s.loginNotes(map[string]string{"Next": next, "Username": username})})
	}
	if !authn.ValidAnonCSRF(r) {
		again(http.StatusForbidden, "The form expired. Please sign in again.")
		return
	}
	p, err := s.cfg.Auth.SignIn(r.Context(), username, pw, s.cfg.Addrs.Client(r), "web")
	if err != nil {
		var e *gatehouse.Error
		if asError(err, &e) && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", retrySeconds(e.RetryAfter))
		}
		status, msg := s.cfg.Reply.Page(r, err)
		again(status, msg)
		return
	}
	// A session this browser already had ends here: signing in always
	// yields a new session ID and the old one is dead (checklist E2).
	if err := s.cfg.Sessions.Start(r.Context(), w, r, p); err != nil {
		s.Error(w, r, nil, err)
		return
	}
	s.noticeExpiringKeys(w, r, p)
	http.Redirect(w, r, localRedirect(next), http.StatusSeeOther)
}

func (s *Pages) handleLogout(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	if err := s.cfg.Sessions.End(w, r, c.Principal()); err != nil {
		s.log.Warn("deleting session failed", "err", err)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Pages) handleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/settings/keys", http.StatusSeeOther)
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// retrySeconds is a Retry-After value: whole seconds, rounded up.
func retrySeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
