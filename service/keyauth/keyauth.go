// Package keyauth verifies credentials on the request path: API keys
// (with their cache and the background last-used writer), login access
// tokens, passwords (argon2id, bounded across requests) and sessions,
// under the failure budgets of addresses and accounts. The service
// package builds it and keeps it up to date with changes (evicting keys
// a revocation or a change on another replica makes stale).
package keyauth

import (
	"context"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/prometheus/client_golang/prometheus"
)

// Settings are what the credential checks share with the services that
// build them. service.Config embeds them, so each is declared once, here,
// and reaches New whole rather than copied field by field. Every field is
// required but Registry (nil registers nothing) and PasswordConcurrency
// (0 is one per core); service.New fills in the defaults.
type Settings struct {
	Store  gatehouse.Store
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// PublicURL is how clients reach the server, for the links in
	// messages; required.
	PublicURL *url.URL
	// Registry receives the services' metrics; nil registers nothing.
	Registry prometheus.Registerer

	// KeyCacheTTL bounds how long a verified key, a channel or a role is
	// trusted without a database lookup; without a change feed, a change
	// on another replica takes effect within it.
	KeyCacheTTL time.Duration
	// FailureLimit failed credentials from one address in a burst, then
	// one more per FailureRefill (checklist B7); AccountFailureLimit per
	// account name, refilled every 30 s (checklist E7).
	FailureLimit        int
	FailureRefill       time.Duration
	AccountFailureLimit int
	// IPv6PrefixLen is the IPv6 network whose addresses share one failure
	// budget (checklist B8); 0 is a /64, 128 the exact address.
	IPv6PrefixLen int

	// PasswordConcurrency bounds the argon2id hashes and checks that run
	// at once (each holds 19 MiB, checklist E10); 0 is one per core.
	PasswordConcurrency int
}

// Config is what the credential checks need: the shared Settings, and
// the hooks into the service that builds them.
type Config struct {
	Settings

	// Deaf is set while the change feed is not listening: the key cache is
	// then not read, and every request asks the database.
	Deaf *atomic.Bool
	// Event starts an audit event for p's action; Record appends one on
	// its own (a failure is logged, never the caller's problem).
	Event  func(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent
	Record func(ctx context.Context, e *gatehouse.AuditEvent)
}

// Auth implements gatehouse.AuthService.
type Auth struct {
	store  gatehouse.Store
	now    gatehouse.Clock
	log    *slog.Logger
	url    *url.URL
	keys   *Cache
	limits *Limiters
	hasher *Hasher
	event  func(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent
	record func(ctx context.Context, e *gatehouse.AuditEvent)
}

var _ gatehouse.AuthService = (*Auth)(nil)

// New builds the credential checks. It starts no goroutine: the owner
// runs Keys().TouchLoop.
func New(cfg Config) *Auth {
	m := newMetrics(cfg.Registry)
	a := &Auth{store: cfg.Store, now: cfg.Clock, log: cfg.Logger, url: cfg.PublicURL,
		limits: newLimiters(cfg, m), hasher: newHasher(cfg.PasswordConcurrency), event: cfg.Event, record: cfg.Record}
	a.keys = newKeyCache(cfg, m)
	return a
}

// Keys is the API key cache.
func (a *Auth) Keys() *Cache { return a.keys }

// Limiters are the failure budgets of addresses and accounts.
func (a *Auth) Limiters() *Limiters { return a.limits }

// Hasher bounds the argon2id work across requests.
func (a *Auth) Hasher() *Hasher { return a.hasher }

// absURL returns the public URL of path.
func (a *Auth) absURL(path string) string {
	u := *a.url
	u.Path = path
	u.RawQuery = ""
	return u.String()
}
