// Package api is Gatehouse's JSON API under /api: accounts and keys,
// organizations, channels and packages, users, the registration gate and
// the audit log. Handlers decode, call a service and encode; every route
// authenticates (an API key, HTTP Basic with a password, a CLI login
// token, or a browser session with its CSRF header) and needs the scope
// its table entry names. The routes are described by the OpenAPI document
// served at /api/openapi.json, and a test keeps the two in step.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/spool"
)

// Config is what the API needs.
type Config struct {
	Auth     gatehouse.AuthService
	Keys     gatehouse.KeyService
	Users    gatehouse.UserService
	Orgs     gatehouse.OrgService
	Channels gatehouse.ChannelService
	Packages gatehouse.PackageService
	Gate     gatehouse.GateService
	Audit    gatehouse.AuditService
	Policies gatehouse.PolicyService
	SSO      gatehouse.SSOService
	Trusted  gatehouse.TrustedPublishingService
	// Registration is organization-wide registration.
	Registration gatehouse.RegistrationService

	Sessions *authn.Sessions
	Addrs    *authn.Addrs
	Reply    *reply.Replier
	Clock    gatehouse.Clock
	// PublicURL is how clients reach the server: the URLs answers hold.
	PublicURL *url.URL
	// Spool is where uploads wait while they are checked.
	Spool spool.Dir
	// MaxUploadSize bounds one package file.
	MaxUploadSize int64
	// UploadMinRate (bytes a second, averaged) and UploadGrace: an upload
	// slower than that once the grace has passed is stopped; 0 takes
	// DefaultUploadMinRate and DefaultUploadGrace, a negative rate none.
	UploadMinRate int64
	UploadGrace   time.Duration
}

// API serves /api.
type API struct {
	cfg Config
	now gatehouse.Clock
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.UploadMinRate == 0 {
		cfg.UploadMinRate = DefaultUploadMinRate
	}
	if cfg.UploadGrace == 0 {
		cfg.UploadGrace = DefaultUploadGrace
	}
	return &API{cfg: cfg, now: cfg.Clock}
}

// Handler is an /api handler that runs for an authenticated caller.
type Handler func(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error

// Authenticated wraps h: it authenticates the caller, requires the
// scopes in need, and turns a returned error into the JSON error answer.
func (a *API) Authenticated(need gatehouse.Scopes, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.principal(r)
		if err == nil {
			a.warnExpiry(w, p)
			err = p.Require(need)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			a.cfg.Reply.API(w, r, err)
		}
	})
}

var errNoCredential = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "NO API KEY",
	Message: "Sign in, or send an API key: Authorization: Bearer <key>. Create keys in Account Settings → API Keys."}

func (a *API) principal(r *http.Request) (*gatehouse.Principal, error) {
	c, err := authn.Credential(r, "")
	if err != nil {
		return nil, err
	}
	addr := a.cfg.Addrs.Client(r)
	if c.Present() {
		p, err := a.cfg.Auth.Authenticate(r.Context(), c, addr)
		if err == nil && p.Method == gatehouse.AuthPassword {
			a.cfg.Audit.Record(r.Context(), &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditSignIn,
				IP: addr.String(), Success: true, Detail: "http basic"})
		}
		return p, err
	}
	// A browser session may call the API too, but only same-origin with
	// the session's CSRF token on anything that changes state (checklist E4).
	_, u, token, err := a.cfg.Sessions.Current(r)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, errNoCredential
	}
	if !authn.SafeMethod(r.Method) && !authn.ValidCSRF(token, r.Header.Get("X-CSRF-Token")) {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Missing or wrong CSRF token. Reload the page and try again.")
	}
	return &gatehouse.Principal{User: u, Method: gatehouse.AuthSession, Addr: addr}, nil
}

// absURL returns the public URL of path.
func (a *API) absURL(path string) string {
	u := *a.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// DecodeJSON reads one JSON object into v, refusing unknown fields, so a
// misspelt field is an error rather than a silent default.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
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
		case errors.As(err, &ge):
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

// UTCTime decodes only RFC 3339 timestamps in UTC ("Z"): anything else is
// refused (checklist A2).
type UTCTime struct{ time.Time }

// UnmarshalJSON reads "2027-01-31T00:00:00Z".
func (t *UTCTime) UnmarshalJSON(b []byte) error {
	v, err := ParseUTCTime(b)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseUTCTime reads a JSON string holding an RFC 3339 time in UTC.
func ParseUTCTime(b []byte) (time.Time, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "expires_at must be a string such as \"2027-01-31T00:00:00Z\".")
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "expires_at must be an RFC 3339 time in UTC, such as \"2027-01-31T00:00:00Z\".")
	}
	return v.UTC(), nil
}
