// Package idp talks to OpenID Connect providers for the services: it
// fetches and caches their discovery documents and signing keys (through
// coreos/go-oidc), and verifies ID tokens against them, with a deadline on
// every call so a provider that is down or slow costs a bounded wait and a
// clear error (checklist K8). Single sign-on and trusted publishing both
// use it.
package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
)

// Config configures Providers. Zero fields get defaults.
type Config struct {
	// HTTPClient makes the calls to providers; its Timeout bounds each.
	// Default: 10 s.
	HTTPClient *http.Client
	// Clock decides whether a token has expired.
	Clock gatehouse.Clock
	// TTL is how long a discovery document is kept (the keys are fetched
	// again whenever a token names an unknown key). Default: one hour.
	TTL time.Duration
}

// Providers caches the providers the services talk to.
type Providers struct {
	cfg Config
	mu  sync.Mutex
	// byIssuer holds discovered providers. Only issuers an administrator
	// configured reach it, so it stays small.
	byIssuer map[string]cached
}

type cached struct {
	p       *oidc.Provider
	fetched time.Time
}

// DefaultTimeout bounds one call to a provider.
const DefaultTimeout = 10 * time.Second

// New returns an empty cache of providers.
func New(cfg Config) *Providers {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.TTL == 0 {
		cfg.TTL = time.Hour
	}
	return &Providers{cfg: cfg, byIssuer: map[string]cached{}}
}

// HTTPClient is the client that talks to providers (token exchanges too).
func (ps *Providers) HTTPClient() *http.Client { return ps.cfg.HTTPClient }

// Context carries the providers' HTTP client, for go-oidc and oauth2.
func (ps *Providers) Context(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, ps.cfg.HTTPClient)
}

// ValidateIssuer checks an issuer URL: https with a host and no query or
// fragment, or http on a loopback address (a provider on the same machine,
// for development and tests). It returns the URL without a trailing slash
// change: issuers compare exactly, as the discovery document states them.
func ValidateIssuer(field, issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return gatehouse.FieldErrorf(field, "The issuer must be a URL such as https://accounts.example.com, without a query.")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if gate.LoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return gatehouse.FieldErrorf(field, "The issuer must use https (plain http is accepted only for a provider on this machine).")
}

// Unavailable is the error of a provider that cannot be reached or
// answered nonsense.
func Unavailable(issuer string) *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Reason: "PROVIDER UNAVAILABLE", RetryAfter: 30 * time.Second,
		Message: "The identity provider " + issuer + " cannot be reached or did not answer as expected. Try again in a minute; if it persists, tell your organization's administrators."}
}

// Provider returns the provider of the issuer, discovering it if it is
// not cached (or its entry is older than the TTL). A failure is not
// cached, so a provider back up is used at once.
func (ps *Providers) Provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	now := time.Now()
	ps.mu.Lock()
	c, ok := ps.byIssuer[issuer]
	ps.mu.Unlock()
	if ok && now.Sub(c.fetched) < ps.cfg.TTL {
		return c.p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ps.Context(ctx), issuer)
	if err != nil {
		return nil, errors.Join(Unavailable(issuer), err)
	}
	ps.mu.Lock()
	if len(ps.byIssuer) > 1000 {
		clear(ps.byIssuer)
	}
	ps.byIssuer[issuer] = cached{p: p, fetched: now}
	ps.mu.Unlock()
	return p, nil
}

// Verify checks a raw ID token of the issuer: signature by one of the
// provider's keys, issuer, expiry, and audience (clientID; "" skips the
// check, for callers that match audiences themselves). Errors are
// EUNAUTHORIZED with a sentence, or the provider's unavailability.
func (ps *Providers) Verify(ctx context.Context, issuer, clientID, raw string) (*oidc.IDToken, error) {
	p, err := ps.Provider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	v := p.Verifier(&oidc.Config{ClientID: clientID, SkipClientIDCheck: clientID == "", Now: ps.cfg.Clock})
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	tok, err := v.Verify(ps.Context(ctx), raw)
	if err != nil {
		return nil, verifyError(issuer, err)
	}
	return tok, nil
}

// verifyError says, for people, why a token was refused; the wrapped
// error keeps go-oidc's detail for the log.
func verifyError(issuer string, err error) error {
	var expired *oidc.TokenExpiredError
	msg := "The ID token could not be verified."
	switch s := err.Error(); {
	case errors.As(err, &expired):
		msg = "The ID token expired at " + expired.Expiry.UTC().Format(time.RFC3339) + "."
	case strings.Contains(s, "expected audience"):
		msg = "The ID token was issued for another audience."
	case strings.Contains(s, "id token issued by a different provider"):
		msg = "The ID token was issued by another provider than " + issuer + "."
	case strings.Contains(s, "failed to verify signature"), strings.Contains(s, "failed to verify id token signature"):
		msg = "The ID token's signature does not verify with the keys of " + issuer + "."
	case strings.Contains(s, "fetching keys"), strings.Contains(s, "get keys"):
		return errors.Join(Unavailable(issuer), err)
	}
	return errors.Join(&gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID ID TOKEN", Message: msg}, err)
}

// PeekIssuer reads the "iss" claim of a JWT without verifying anything,
// to choose the provider that will verify it. It refuses anything that is
// not three base64url parts with a JSON payload, and tokens over 16 KiB.
func PeekIssuer(raw string) (string, error) {
	claims, err := peekClaims(raw)
	if err != nil {
		return "", err
	}
	iss, _ := claims["iss"].(string)
	if iss == "" {
		return "", errNotAToken
	}
	return iss, nil
}
