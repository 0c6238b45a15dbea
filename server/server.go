// Package server is Gatehouse's HTTP core: it builds the service layer
// over the stores it is given, mounts the rooms of the HTTP layer on one
// mux (the JSON API in server/api, conda channels in server/repo, the
// OAuth login server in server/oauth, the web pages in server/web), and
// wraps them in the middleware every request passes: security headers, a
// body deadline, logging with keys redacted, and metrics. It depends on
// the root package's interfaces and the service package, never on a
// storage package, so tests can run it on any backend.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
	index "github.com/gatehouse-dev/gatehouse/repodata"
	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/oauth"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/repo"
	"github.com/gatehouse-dev/gatehouse/server/web"
	"github.com/gatehouse-dev/gatehouse/server/web/identitypages"
	"github.com/gatehouse-dev/gatehouse/server/web/pkgpages"
	"github.com/gatehouse-dev/gatehouse/server/web/signuppages"
	"github.com/gatehouse-dev/gatehouse/service"
	"github.com/gatehouse-dev/gatehouse/service/browse"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/service/orgreg"
	signupsvc "github.com/gatehouse-dev/gatehouse/service/signup"
	"github.com/gatehouse-dev/gatehouse/signup"
	"github.com/gatehouse-dev/gatehouse/spool"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is everything the server needs. Zero values of the optional fields
// get the defaults in New.
type Config struct {
	Store  gatehouse.Store
	Logger *slog.Logger
	Clock  gatehouse.Clock

	// PublicURL is how clients reach the server (used in messages, links
	// and cookie security); required.
	PublicURL *url.URL
	// TLS reports whether the server itself terminates TLS.
	TLS bool

	// KeyCacheTTL bounds how long a verified key is trusted without a
	// database lookup; revocation on another replica takes effect within it.
	KeyCacheTTL time.Duration
	// FailureBudget is how many failed credentials (bad keys, wrong
	// passwords, user codes) a caller may send before 429s.
	ratelimit.FailureBudget
	// Registry receives the server's Prometheus metrics; nil means a
	// fresh registry, served at /metrics.
	Registry *prometheus.Registry
	// Version is reported by /healthz.
	Version string

	// Blobs keeps package files; nil keeps them in memory (for tests).
	Blobs gatehouse.BlobStore
	// TempDir is where uploads are spooled before they are verified.
	TempDir string
	// MaxUploadSize bounds one package file (default 2 GiB).
	MaxUploadSize int64
	// UploadMinRate and UploadGrace: see api.Config.
	UploadMinRate int64
	UploadGrace   time.Duration
	// Limits bound what reading a package may cost.
	Limits conda.Limits
	// ToolsChannel is exempt from the registration gate, so the tooling
	// that registers can always be installed (default gatehouse-tools).
	ToolsChannel string
	// ReservedChannels only administrators may create; nil is
	// service.DefaultReservedChannels.
	ReservedChannels []string
	// Quotas bound ordinary users and organizations (see service.Quotas).
	Quotas service.Quotas
	// ClientBounds bound the registered-client records (checklist I7).
	ClientBounds orgreg.Bounds
	// RepodataMaxAge is the Cache-Control max-age of repodata (default 30 s).
	RepodataMaxAge time.Duration
	// RepodataCompactAfter is how long a subdir goes without a change
	// before its .zst and .gz are compressed again as one frame (default
	// 10 s; negative: never). See repodata.Config.CompactAfter.
	RepodataCompactAfter time.Duration
	// RepodataMemory is the bytes of index files kept in memory (default
	// 32 MiB; negative: none). See repodata.Config.MemoryBudget.
	RepodataMemory int64
	// PackageMemory is the bytes of small package files (at most
	// repo.SmallFileMax each) kept in memory; 0 or negative: none.
	PackageMemory int64
	// ProxyTTL and MirrorInterval pace upstream channels' refreshes.
	ProxyTTL       time.Duration
	MirrorInterval time.Duration
	// UpstreamAllow lists the internal networks upstream channels may
	// reach (see upstream.Config.Allow).
	UpstreamAllow []netip.Prefix
	// IndexDir holds the built channel indexes (derived data, rebuilt
	// when missing); "" is a temporary directory removed at Close.
	IndexDir string
	// TrustedProxies are peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// RequireRegistration are networks gated by configuration, in
	// addition to the rules administrators add.
	RequireRegistration []netip.Prefix

	// SecretKey (32 bytes) seals identity providers' client secrets and
	// upstream channels' tokens; nil
	// accepts only references (env:NAME, file:/path).
	SecretKey []byte
	// IDPClient talks to identity providers and CI token issuers; nil is
	// a client with a 10 s timeout.
	IDPClient *http.Client

	// Signup is who may create an account on their own (default off),
	// SignupDomains the email domains allowed (none: any), SignupContact
	// whom the sign-in page tells people without an account to ask.
	Signup        signup.Mode
	SignupDomains []string
	SignupContact string
}

// Server is the Gatehouse HTTP server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	services *service.Services
	handler  http.Handler
	metrics  *metrics
	addrs    *authn.Addrs
	// hsts: the server is reached over HTTPS (itself, or its public URL).
	hsts     bool
	patterns []string
	index    *index.Index
	tempDir  string // an IndexDir of our own, removed at Close
	stop     chan struct{}
	stopped  chan struct{}
}

// New validates cfg, builds the services and the handlers, and starts
// the services' background jobs. On an error nothing is left running.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is required")
	}
	if cfg.PublicURL == nil {
		return nil, errors.New("server: Config.PublicURL is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Blobs == nil {
		// Tests of pages and keys need no package storage of their own.
		b, err := blobstore.Open(context.Background(), "mem://")
		if err != nil {
			return nil, err
		}
		cfg.Blobs = b
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.MaxUploadSize == 0 {
		cfg.MaxUploadSize = 2 << 30
	}
	if cfg.ToolsChannel == "" {
		cfg.ToolsChannel = "gatehouse-tools"
	}
	if cfg.RepodataMaxAge == 0 {
		cfg.RepodataMaxAge = 30 * time.Second
	}
	svc, err := service.New(service.Config{
		Settings: keyauth.Settings{Store: cfg.Store, Clock: cfg.Clock, Logger: cfg.Logger, PublicURL: cfg.PublicURL,
			Registry: cfg.Registry, KeyCacheTTL: cfg.KeyCacheTTL, FailureBudget: cfg.FailureBudget},
		Blobs: cfg.Blobs, Spool: spool.Dir(cfg.TempDir), MaxUploadSize: cfg.MaxUploadSize, Limits: cfg.Limits,
		ToolsChannel: cfg.ToolsChannel, ReservedChannels: cfg.ReservedChannels, Quotas: cfg.Quotas, RequireRegistration: cfg.RequireRegistration,
		ClientBounds: cfg.ClientBounds, ProxyTTL: cfg.ProxyTTL, MirrorInterval: cfg.MirrorInterval, UpstreamAllow: cfg.UpstreamAllow,
		SecretKey: cfg.SecretKey, IDPClient: cfg.IDPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, services: svc, metrics: newMetrics(cfg.Registry),
		addrs: authn.NewAddrs(cfg.TrustedProxies), hsts: cfg.TLS || cfg.PublicURL.Scheme == "https",
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if cfg.IndexDir == "" {
		if s.tempDir, err = os.MkdirTemp("", "gatehouse-index-"); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		cfg.IndexDir = s.tempDir
	}
	if s.index, err = index.New(index.Config{Store: cfg.Store, Dir: cfg.IndexDir, Clock: cfg.Clock, Logger: cfg.Logger, CompactAfter: cfg.RepodataCompactAfter, MemoryBudget: cfg.RepodataMemory}); err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("server: the index directory: %w", err)
	}
	if s.handler, err = s.routes(); err != nil {
		s.removeTemp()
		return nil, err
	}
	svc.Start()
	go s.sweepIndex()
	return s, nil
}

// sweepIndex removes old shards an earlier process left, every minute;
// replaced revisions go by themselves within seconds.
func (s *Server) sweepIndex() {
	defer close(s.stopped)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.index.Sweep()
		}
	}
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// routes builds the mux: each room registers its own routes.
func (s *Server) routes() (http.Handler, error) {
	cfg, svc := s.cfg, s.services
	replier := reply.New(cfg.Logger)
	sessions := authn.NewSessions(svc.Auth, cfg.TLS || cfg.PublicURL.Scheme == "https")
	browser := browse.New(svc.Channels, cfg.Store, cfg.Blobs)
	signups := signupsvc.New(cfg.Store, signupsvc.Config{Mode: cfg.Signup, Domains: cfg.SignupDomains, Contact: cfg.SignupContact,
		Clock: cfg.Clock, IPv6PrefixLen: cfg.IPv6PrefixLen})
	pages, err := web.New(web.Config{
		Auth: svc.Auth, Keys: svc.Keys, Users: svc.Users, Orgs: svc.Orgs, Channels: svc.Channels,
		Packages: svc.Packages, Gate: svc.Gate, Audit: svc.Audit, SSO: svc.SSO, Registration: svc.Registration,
		Browse: browser, Signup: signups,
		Sessions: sessions, Addrs: s.addrs, Reply: replier, Logger: cfg.Logger, Clock: cfg.Clock, PublicURL: cfg.PublicURL,
	})
	if err != nil {
		return nil, fmt.Errorf("server: parsing templates: %w", err)
	}
	packagePages, err := pkgpages.New(pkgpages.Config{Pages: pages, Browse: browser, Channels: svc.Channels, Packages: svc.Packages,
		Spool: spool.Dir(cfg.TempDir), MaxUploadSize: cfg.MaxUploadSize, PublicURL: cfg.PublicURL})
	if err != nil {
		return nil, fmt.Errorf("server: parsing templates: %w", err)
	}
	signupPages, err := signuppages.New(signuppages.Config{Pages: pages, Signup: signups, Sessions: sessions, Addrs: s.addrs, Reply: replier})
	if err != nil {
		return nil, fmt.Errorf("server: parsing templates: %w", err)
	}
	identityPages, err := identitypages.New(identitypages.Config{Pages: pages, Keys: svc.Keys, Orgs: svc.Orgs, Channels: svc.Channels,
		Gate: svc.Gate, SSO: svc.SSO, Policies: svc.Policies, Trusted: svc.Trusted, Clock: cfg.Clock, PublicURL: cfg.PublicURL})
	if err != nil {
		return nil, fmt.Errorf("server: parsing templates: %w", err)
	}
	jsonAPI := api.New(api.Config{
		Auth: svc.Auth, Keys: svc.Keys, Users: svc.Users, Orgs: svc.Orgs, Channels: svc.Channels,
		Packages: svc.Packages, Gate: svc.Gate, Audit: svc.Audit,
		Policies: svc.Policies, SSO: svc.SSO, Trusted: svc.Trusted, Registration: svc.Registration,
		Sessions: sessions, Addrs: s.addrs, Reply: replier, Clock: cfg.Clock, PublicURL: cfg.PublicURL,
		Spool: spool.Dir(cfg.TempDir), MaxUploadSize: cfg.MaxUploadSize,
		UploadMinRate: cfg.UploadMinRate, UploadGrace: cfg.UploadGrace,
	})
	login := oauth.New(oauth.Config{Login: svc.Login, Keys: svc.Keys, Pages: pages, Addrs: s.addrs,
		Reply: replier, Clock: cfg.Clock, PublicURL: cfg.PublicURL})
	channels := repo.New(repo.Config{
		Auth: svc.Auth, Channels: svc.Channels, Gate: svc.Gate, Registration: svc.Registration, Index: s.index,
		Blobs: cfg.Blobs, Addrs: s.addrs, Reply: replier, Logger: cfg.Logger, PublicURL: cfg.PublicURL,
		RepodataMaxAge: cfg.RepodataMaxAge, Registry: cfg.Registry, Upstreams: svc.Upstreams,
		SmallFileMemory: cfg.PackageMemory,
	})

	mux := &recordingMux{ServeMux: http.NewServeMux()}
	s.healthRoutes(mux, jsonAPI)
	jsonAPI.Routes(mux, map[string]api.Handler{
		"POST /api/iam/api-keys":  login.HandleCLIKey,
		"POST /api/auth/api-keys": login.HandleCLIKey,
	})
	// Conda channels: every method goes to one handler, which answers
	// GET and HEAD and refuses the rest with the JSON conda shows.
	mux.Handle("/repo/", channels)
	mux.Handle("/t/", channels)
	pages.Routes(mux)
	identityPages.Routes(mux)
	packagePages.Routes(mux)
	signupPages.Routes(mux)
	login.Routes(mux)
	s.patterns = mux.patterns
	return s.observe(mux), nil
}

// recordingMux is a ServeMux that remembers its patterns.
type recordingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Routes returns the patterns of every route the server serves, in the
// order they were registered: for route audits (no GET changes state,
// every API route is documented) and for diagnostics.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Services returns the service layer the server runs on, for the
// start-up work of cmd/gatehouse (the first administrator, the tools
// channel, publishing the CLI) and for tests.
func (s *Server) Services() *service.Services { return s.services }

// PublishCLI publishes the executable at binaryPath in the tools channel;
// see service.Services.PublishCLI.
func (s *Server) PublishCLI(ctx context.Context, binaryPath, version string) error {
	return s.services.PublishCLI(ctx, binaryPath, version)
}

// PublishCLIs publishes the executable at binaryPath for its platform and
// the release's binaries in dir for the others; see
// service.Services.PublishCLIs.
func (s *Server) PublishCLIs(ctx context.Context, binaryPath, dir, version string) error {
	return s.services.PublishCLIs(ctx, binaryPath, dir, version)
}

// Close stops background work (last-used writes are flushed).
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.stopped
	s.index.Close()
	err := s.services.Close()
	s.removeTemp()
	return err
}

// HTTPServer wraps h with the timeouts every listener must have
// (checklist I3: slowloris headers and bodies are cut off).
func HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       0, // uploads may be long; bodies get per-handler deadlines
		WriteTimeout:      0, // large downloads; idle clients are cut by IdleTimeout
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
