// Package server is Gatehouse's HTTP layer: routes, middleware (credentials,
// rate limits, logging with redaction, metrics), the JSON API and the web UI.
// It depends on the root package's interfaces, never on a storage package,
// so tests can run it on any backend.
package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/gate"
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
	// FailureLimit is how many failed credentials (bad keys, wrong
	// passwords) one address may send in a burst before 429s, and
	// FailureRefill how often one more is allowed.
	FailureLimit  int
	FailureRefill time.Duration
	// AccountFailureLimit is the same budget per account name (checklist
	// E7), whatever address the attempts come from.
	AccountFailureLimit int
	// Registerer receives the server's Prometheus metrics; nil means a
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
	// Limits bound what reading a package may cost.
	Limits conda.Limits
	// ToolsChannel is exempt from the registration gate, so the tooling
	// that registers can always be installed (default gatehouse-tools).
	ToolsChannel string
	// RepodataMaxAge is the Cache-Control max-age of repodata (default 30 s).
	RepodataMaxAge time.Duration
	// TrustedProxies are peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// RequireRegistration are networks gated by configuration, in
	// addition to the rules administrators add.
	RequireRegistration []netip.Prefix
}

// Server is the Gatehouse HTTP server.
type Server struct {
	cfg      Config
	store    gatehouse.Store
	log      *slog.Logger
	now      gatehouse.Clock
	keys     *keyAuth
	limiter  *failureLimiter
	accounts *failureLimiter
	metrics  *metrics
	handler  http.Handler
	secure   bool
	cookie   string

	templates   map[string]*template.Template
	crossOrigin *http.CrossOriginProtection

	proxies  *gate.Proxies
	gate     *gatekeeper
	chans    *channelCache
	repodata *repodataCache
	clients  *clientRecorder
	stop     context.CancelFunc
	bg       sync.WaitGroup
}

// New validates cfg and builds the server.
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
	if cfg.Limits == (conda.Limits{}) {
		cfg.Limits = conda.DefaultLimits()
	}
	if cfg.ToolsChannel == "" {
		cfg.ToolsChannel = "gatehouse-tools"
	}
	if cfg.RepodataMaxAge == 0 {
		cfg.RepodataMaxAge = 30 * time.Second
	}
	s := &Server{
		cfg:   cfg,
		store: cfg.Store,
		log:   cfg.Logger,
		now:   cfg.Clock,
	}
	s.secure = cfg.TLS || cfg.PublicURL.Scheme == "https"
	s.cookie = "gatehouse_session"
	if s.secure {
		// checklist E1: a __Host- cookie is only ever sent to this origin,
		// over TLS, for the whole path.
		s.cookie = "__Host-gatehouse_session"
	}
	s.metrics = newMetrics(cfg.Registry)
	s.keys = newKeyAuth(cfg.Store, cfg.Clock, cfg.KeyCacheTTL, s.log, s.metrics)
	s.limiter = newFailureLimiter(cfg.Clock, cfg.FailureLimit, cfg.FailureRefill, 100_000)
	// Accounts refill slowly: 10 tries, then one per 30 s per name, never
	// a permanent lock (checklist E7).
	s.accounts = newFailureLimiter(cfg.Clock, cfg.AccountFailureLimit, 30*time.Second, 100_000)
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, fmt.Errorf("server: parsing templates: %w", err)
	}
	s.templates = tmpl
	// checklist E4, D3: browsers' cross-site POSTs are refused before any
	// handler runs; the CSRF token is the second line.
	s.crossOrigin = http.NewCrossOriginProtection()
	s.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.webError(w, r, nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Cross-site requests are refused. Use the form on this site."))
	}))
	s.proxies = gate.NewProxies(cfg.TrustedProxies)
	s.gate = newGatekeeper(cfg.Store, s.log, cfg.RequireRegistration, []string{cfg.ToolsChannel})
	if err := s.gate.reload(context.Background()); err != nil {
		return nil, fmt.Errorf("server: loading network rules: %w", err)
	}
	s.chans = newChannelCache(cfg.Store, cfg.Clock, cfg.KeyCacheTTL)
	s.repodata = newRepodataCache(cfg.Store, cfg.Clock)
	s.clients = newClientRecorder(cfg.Store, cfg.Clock, s.log)
	s.handler = s.routes()
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.followChanges(ctx) // other replicas' revocations; Close stops it
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.gate.run(ctx) }()
	go func() { defer s.bg.Done(); s.sweepLoop(ctx) }()
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops background work (last-used writes are flushed).
func (s *Server) Close() error {
	s.stop()
	s.bg.Wait()
	s.keys.close()
	s.clients.close()
	return nil
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

// absURL returns the public URL of path.
func (s *Server) absURL(path string) string {
	u := *s.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

func (s *Server) audit(ctx context.Context, e *gatehouse.AuditEvent) {
	e.Time = s.now()
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit write failed", "action", e.Action, "err", err)
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readyz: database unreachable", "err", err)
		http.Error(w, "database unreachable\n", http.StatusServiceUnavailable)
		return
	}
	if err := s.cfg.Blobs.Ping(ctx); err != nil {
		s.log.Warn("readyz: package storage unreachable", "err", err)
		http.Error(w, "package storage unreachable\n", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "ok")
}
