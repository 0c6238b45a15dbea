// Package service implements the root package's service interfaces over a
// gatehouse.Store and a gatehouse.BlobStore. It owns the rules (who may do
// what), writes each change's audit event in the change's own transaction,
// keeps the caches of the hot path (keys, channels, roles) and evicts them
// when something changes, here or on another replica. Its background jobs
// (last-used writes, the client recorder, rule reloads, orphan sweeps, the
// change feed) have one owner: Start begins them, Close ends them.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/gatepolicy"
	"github.com/gatehouse-dev/gatehouse/service/idp"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/service/login"
	"github.com/gatehouse-dev/gatehouse/service/orgreg"
	"github.com/gatehouse-dev/gatehouse/service/policy"
	"github.com/gatehouse-dev/gatehouse/service/sso"
	"github.com/gatehouse-dev/gatehouse/service/toolschannel"
	"github.com/gatehouse-dev/gatehouse/service/trustpub"
	"github.com/gatehouse-dev/gatehouse/spool"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Config is what the services need. Zero optional fields get defaults.
type Config struct {
	// Settings are the store, clock, logger, public URL and metrics
	// registry, the key cache's TTL, the failure budgets and the bound on
	// password hashing: what the services share with the credential checks
	// (package keyauth), declared there once.
	keyauth.Settings

	Blobs gatehouse.BlobStore

	// InspectConcurrency bounds the packages inspected at once, each
	// within its decompression budget (checklist F15); 0 is one per core.
	InspectConcurrency int

	// Spool is where uploads wait while they are checked; the sweeper
	// removes what crashes left there.
	Spool spool.Dir
	// MaxUploadSize bounds a package (default 2 GiB).
	MaxUploadSize int64
	// Limits bound what reading a package may cost.
	Limits conda.Limits
	// ToolsChannel is exempt from the registration gate.
	ToolsChannel string
	// ReservedChannels are names only administrators may take (and their
	// look-alikes); nil is DefaultReservedChannels.
	ReservedChannels []string
	// Quotas bound what one account or organization can create; zero
	// fields take DefaultQuotas' values, negative ones mean no limit.
	Quotas Quotas
	// RequireRegistration are networks gated by configuration.
	RequireRegistration []netip.Prefix
	// ClientBounds bound the registered-client records (checklist I7);
	// zero fields take orgreg.DefaultBounds'.
	ClientBounds orgreg.Bounds

	// ProxyTTL and MirrorInterval: see upstream.Config.
	ProxyTTL       time.Duration
	MirrorInterval time.Duration
	// UpstreamAllow: see upstream.Config.Allow.
	UpstreamAllow []netip.Prefix
	// SecretKey (32 bytes) seals the client secrets of identity providers
	// and the tokens of upstream channels; nil accepts only secret
	// references (env:NAME, file:/path) and refuses upstreams with a token.
	SecretKey []byte
	// IDPClient talks to identity providers and CI token issuers; nil is a
	// client with a 10 s timeout.
	IDPClient *http.Client
}

// Quotas bound what an ordinary user or organization can make
// (checklist I4: nobody fills the disk or the tables for everyone).
// Administrators and what they own are not bound.
type Quotas struct {
	KeysPerUser      int   // active keys of one user
	ChannelsPerOwner int   // channels of one user or organization
	BytesPerOwner    int64 // package bytes in one owner's channels
}

// DefaultQuotas are generous for people and small for scripts gone wrong.
var DefaultQuotas = Quotas{KeysPerUser: 100, ChannelsPerOwner: 100, BytesPerOwner: 50 << 30}

// DefaultReservedChannels are the well-known channel names conda users
// type with -c, and the names of this server's own paths: with a
// channel_alias pointing here they would resolve to whoever took them.
var DefaultReservedChannels = []string{
	"anaconda", "bioconda", "conda", "conda-forge", "defaults", "free", "main", "msys2", "nodefaults",
	"pkgs", "pro", "r", "local", "nvidia", "pytorch", "intel",
	"admin", "api", "app", "channels", "device", "healthz", "login", "metrics", "oauth", "readyz",
	"register", "repo", "settings", "static",
}

// Auth implements gatehouse.AuthService (see package keyauth).
type Auth = keyauth.Auth

// Gate implements gatehouse.GateService (see package gatepolicy).
type Gate = gatepolicy.Gate

// Services are the implementations, one per interface of the root package.
type Services struct {
	Auth     *Auth
	Keys     *Keys
	Users    *Users
	Orgs     *Orgs
	Channels *Channels
	Packages *Packages
	Gate     *Gate
	Audit    *Audit
	Login    *login.Service
	// Upstreams runs proxy and mirror channels (gatehouse.UpstreamService).
	Upstreams *upstream.Manager
	Policies  *policy.Service
	SSO       *sso.Service
	Trusted   *trustpub.Service
	// Registration is organization-wide registration
	// (gatehouse.RegistrationService).
	Registration *orgreg.Service

	core    *core
	started bool
	ctx     context.Context // ends at Close
	stop    context.CancelFunc
	bg      sync.WaitGroup
}

var (
	_ gatehouse.AuthService    = (*Auth)(nil)
	_ gatehouse.KeyService     = (*Keys)(nil)
	_ gatehouse.UserService    = (*Users)(nil)
	_ gatehouse.OrgService     = (*Orgs)(nil)
	_ gatehouse.ChannelService = (*Channels)(nil)
	_ gatehouse.PackageService = (*Packages)(nil)
	_ gatehouse.GateService    = (*Gate)(nil)
	_ gatehouse.AuditService   = (*Audit)(nil)
)

// core is what every service shares.
type core struct {
	cfg   Config
	store gatehouse.Store
	blobs gatehouse.BlobStore
	now   gatehouse.Clock
	log   *slog.Logger

	auth     *keyauth.Auth
	keys     *keyauth.Cache
	channels *channelCache
	gate     *gatepolicy.Gate
	reg      *orgreg.Service
	limits   *keyauth.Limiters
	hasher   *keyauth.Hasher
	// reserved are the canonical forms of the reserved channel names.
	reserved map[string]bool
	// inspections bound the packages inspected at once (checklist F15).
	inspections *keyauth.Slots
	// inspect reads an uploaded package: conda.Inspect (tests watch it).
	inspect   func(r io.ReaderAt, size int64, filename string, lim conda.Limits) (*conda.Package, error)
	login     *login.Service
	upstreams *upstream.Manager
	policies  *policy.Service
	// deaf is set while the change feed is not listening (before it
	// first connects, and from ChangeLost to the next ChangeAll): a
	// change on another replica would go unheard, so the key and channel
	// caches are not read and every request asks the database.
	deaf atomic.Bool
}

// New checks cfg and builds the services. It starts no goroutine: Start
// does, so an error here leaves nothing running.
func New(cfg Config) (*Services, error) {
	if cfg.Store == nil {
		return nil, errors.New("service: Config.Store is required")
	}
	if cfg.Blobs == nil {
		return nil, errors.New("service: Config.Blobs is required")
	}
	if cfg.PublicURL == nil {
		return nil, errors.New("service: Config.PublicURL is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = 5 * time.Second
	}
	if cfg.FailureLimit == 0 {
		cfg.FailureLimit = 30
	}
	if cfg.FailureRefill == 0 {
		cfg.FailureRefill = time.Second
	}
	if cfg.AccountFailureLimit == 0 {
		cfg.AccountFailureLimit = 10
	}
	if cfg.MaxUploadSize == 0 {
		cfg.MaxUploadSize = 2 << 30
	}
	if cfg.Limits == (conda.Limits{}) {
		cfg.Limits = conda.DefaultLimits()
	}
	if cfg.ToolsChannel == "" {
		cfg.ToolsChannel = "gatehouse-tools"
	}
	c := &core{cfg: cfg, store: cfg.Store, blobs: cfg.Blobs, now: cfg.Clock, log: cfg.Logger, inspect: conda.Inspect}
	c.auth = keyauth.New(keyauth.Config{Settings: cfg.Settings, Deaf: &c.deaf, Event: c.event, Record: c.record})
	c.keys, c.limits, c.hasher = c.auth.Keys(), c.auth.Limiters(), c.auth.Hasher()
	if cfg.Quotas.KeysPerUser == 0 {
		cfg.Quotas.KeysPerUser = DefaultQuotas.KeysPerUser
	}
	if cfg.Quotas.ChannelsPerOwner == 0 {
		cfg.Quotas.ChannelsPerOwner = DefaultQuotas.ChannelsPerOwner
	}
	if cfg.Quotas.BytesPerOwner == 0 {
		cfg.Quotas.BytesPerOwner = DefaultQuotas.BytesPerOwner
	}
	c.cfg.Quotas = cfg.Quotas
	if cfg.ReservedChannels == nil {
		cfg.ReservedChannels = DefaultReservedChannels
	}
	c.reserved = make(map[string]bool, len(cfg.ReservedChannels))
	for _, n := range append(cfg.ReservedChannels, cfg.ToolsChannel) {
		c.reserved[condaname.CanonicalChannel(strings.ToLower(strings.TrimSpace(n)))] = true
	}
	c.inspections = keyauth.NewSlots(cfg.InspectConcurrency, inspectWait, errInspectBusy)
	c.channels = newChannelCache(c)
	c.policies = policy.New(cfg.Store, cfg.Clock, cfg.KeyCacheTTL)
	c.gate = gatepolicy.New(gatepolicy.Config{Store: cfg.Store, Clock: cfg.Clock, Logger: cfg.Logger,
		RequireRegistration: cfg.RequireRegistration, ToolsChannel: cfg.ToolsChannel, Event: c.event, Audit: c.audit,
		SeenKey:    func(p *gatehouse.Principal, userAgent string) { c.reg.Recorder().SeenKey(p, userAgent) },
		KeyRevoked: c.keys.Forget})
	if err := c.gate.Reload(context.Background()); err != nil {
		return nil, err
	}
	c.reg = orgreg.New(orgreg.Config{Store: cfg.Store, Orgs: &Orgs{c}, Clock: cfg.Clock, Logger: cfg.Logger,
		CacheTTL: cfg.KeyCacheTTL, Network: c.gate.Network, Bounds: cfg.ClientBounds,
		Audit: func(ctx context.Context, tx gatehouse.Store, p *gatehouse.Principal, action, target, detail string) error {
			e := c.event(p, action, target)
			e.Detail = detail
			return c.audit(ctx, tx, e)
		}})
	// One key seals every secret the database keeps: identity providers'
	// client secrets and upstream channels' tokens, each under its own
	// context so a value copied between rows does not open.
	var sealer *secret.Sealer
	if cfg.SecretKey != nil {
		var err error
		if sealer, err = secret.NewSealer(cfg.SecretKey); err != nil {
			return nil, fmt.Errorf("service: Config.SecretKey: %w", err)
		}
	}
	c.upstreams = upstream.New(upstream.Config{Store: cfg.Store, Blobs: cfg.Blobs, Clock: cfg.Clock, Logger: cfg.Logger,
		Sealer: upstream.NewSealer(sealer), Spool: cfg.Spool, MaxFileSize: cfg.MaxUploadSize, ProxyTTL: cfg.ProxyTTL, MirrorInterval: cfg.MirrorInterval,
		Allow: cfg.UpstreamAllow, Changed: func(id int64) { c.channels.forget(id) }})
	if err := c.upstreams.Load(context.Background()); err != nil {
		return nil, err
	}
	c.login = login.New(login.Config{Store: cfg.Store, Clock: cfg.Clock, Logger: cfg.Logger, PublicURL: cfg.PublicURL,
		FailureLimit: cfg.FailureLimit, FailureRefill: cfg.FailureRefill, AccountFailureLimit: cfg.AccountFailureLimit,
		IPv6PrefixLen: cfg.IPv6PrefixLen, RateLimited: c.limits.CountRateLimited,
		KeysRevoked: func(keys []*gatehouse.APIKey) {
			for _, k := range keys {
				c.keys.Forget(k.Hash)
			}
		}})
	providers := idp.New(idp.Config{HTTPClient: cfg.IDPClient, Clock: cfg.Clock})
	keys := &Keys{c}
	channels := &Channels{c}
	return &Services{
		Auth: c.auth, Keys: keys, Users: &Users{c}, Orgs: &Orgs{c}, Channels: channels,
		Packages: &Packages{c}, Gate: c.gate, Audit: &Audit{c}, Login: c.login, Upstreams: c.upstreams, Policies: c.policies,
		SSO: sso.New(sso.Config{Store: cfg.Store, Providers: providers, Sealer: sealer, Clock: cfg.Clock, Logger: cfg.Logger,
			PublicURL: cfg.PublicURL, Changed: c.applyChange}),
		Trusted: trustpub.New(trustpub.Config{Store: cfg.Store, Channels: channels, Providers: providers, Clock: cfg.Clock,
			Logger: cfg.Logger, PublicURL: cfg.PublicURL, Mint: keys.mintFor, Blocked: c.limits.AddrBlocked, Failed: c.limits.AddrFailed}),
		Registration: c.reg,
		core:         c,
	}, nil
}

// Start begins the background jobs: last-used writes, the client
// recorder, network-rule reloads, the orphan and expiry sweeps, and the
// change feed of other replicas. Close ends them.
func (s *Services) Start() {
	if s.started {
		return
	}
	s.started = true
	ctx, stop := context.WithCancel(context.Background())
	s.ctx, s.stop = ctx, stop
	c := s.core
	s.run(func() { c.keys.TouchLoop(ctx) })
	s.run(func() { c.reg.Recorder().Loop(ctx) })
	s.run(func() { c.gate.Run(ctx) })
	s.run(func() { c.sweepLoop(ctx) })
	s.run(func() { c.followChanges(ctx) })
	s.run(func() { c.upstreams.Run(ctx); c.upstreams.Wait() })
}

// PublishCLIInBackground publishes the binary at path (this server's
// own) in the tools channel, then the release's binaries for the other
// platforms found in dir ("" for none), as a background job of the
// services (see PublishCLIs): a failure is logged, and Close stops a build
// in progress. Call it after Start, once the tools channel exists.
func (s *Services) PublishCLIInBackground(path, dir, version string) {
	if !s.started {
		return
	}
	ctx := s.ctx
	s.run(func() {
		start := time.Now()
		if err := s.PublishCLIs(ctx, path, dir, version); err != nil && ctx.Err() == nil {
			s.core.log.Warn("the gatehouse CLI was not published in the tools channel for every platform", "err", err)
		}
		s.core.log.Info("publishing the gatehouse CLI finished", "took", time.Since(start).Round(time.Millisecond).String())
	})
}

func (s *Services) run(job func()) {
	s.bg.Add(1)
	go func() { defer s.bg.Done(); job() }()
}

// Close ends the background jobs, writing what they still held (last-used
// times, client counts). It is safe to call twice, or without Start.
func (s *Services) Close() error {
	if s.stop != nil {
		s.stop()
	}
	s.bg.Wait()
	return nil
}

// event starts an audit event for p's action. An organization key's
// actions are the organization's, with the key named.
func (c *core) event(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent {
	e := &gatehouse.AuditEvent{Action: action, Target: target, Success: true}
	if p != nil {
		if p.User != nil {
			e.ActorID, e.Actor = p.User.ID, p.User.Username
		}
		if p.Org != nil && p.Key != nil {
			e.Actor = "org:" + p.Org.Name + " via " + keyauth.KeyTarget(p.Key)
		}
		if p.Addr.IsValid() {
			e.IP = p.Addr.String()
		}
		if p.Method == gatehouse.AuthSystem && e.Actor == "" {
			e.Actor = systemActor
		}
	}
	return e
}

// systemActor names the server in the audit log when it acts for itself.
const systemActor = "gatehouse"

// audit appends e, timed now, in tx: the change it records and the record
// commit together or not at all.
func (c *core) audit(ctx context.Context, tx gatehouse.Store, e *gatehouse.AuditEvent) error {
	e.Time = c.now()
	return tx.AppendAudit(ctx, e)
}

// record appends e on its own, for events that are not part of a change
// (a failed sign-in); a failure is logged, never the caller's problem.
func (c *core) record(ctx context.Context, e *gatehouse.AuditEvent) {
	e.Time = c.now()
	if err := c.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		c.log.Error("audit write failed", "action", e.Action, "err", err)
	}
}

// absURL returns the public URL of path.
func (c *core) absURL(path string) string {
	u := *c.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// PublishCLI publishes the executable at binaryPath as the conda package
// "gatehouse" in the tools channel, through the same path as an upload
// (see toolschannel.Publisher.Publish).
func (s *Services) PublishCLI(ctx context.Context, binaryPath, version string) error {
	return s.publisher().Publish(ctx, binaryPath, version)
}

// PublishCLIs publishes the executable at binaryPath for its own platform
// and the release's binaries in dir for the others (see
// toolschannel.Publisher.PublishAll).
func (s *Services) PublishCLIs(ctx context.Context, binaryPath, dir, version string) error {
	return s.publisher().PublishAll(ctx, binaryPath, dir, version)
}

func (s *Services) publisher() *toolschannel.Publisher {
	c := s.core
	return toolschannel.New(toolschannel.Config{Store: c.store, Packages: s.Packages, Spool: c.cfg.Spool,
		MaxUploadSize: c.cfg.MaxUploadSize, ToolsChannel: c.cfg.ToolsChannel, PublicURL: c.cfg.PublicURL,
		Clock: c.now, Logger: c.log})
}
