package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/gate"
	"github.com/gatehouse-dev/gatehouse/logsink"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/gatehouse-dev/gatehouse/service"
	"github.com/gatehouse-dev/gatehouse/service/orgreg"
	"github.com/gatehouse-dev/gatehouse/signup"
	"github.com/gatehouse-dev/gatehouse/spool"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
	"github.com/spf13/cobra"
)

// serverConfig is the server's configuration: defaults, then GATEHOUSE_*
// environment variables, then flags.
type serverConfig struct {
	Listen string
	// MetricsListen, if set, serves /metrics without a credential on an
	// address of its own (a monitoring network); the main listener's
	// /metrics needs an administrator.
	MetricsListen string
	// PprofListen, if set, serves the Go runtime's profiles on a loopback
	// address, for measuring memory and CPU in place.
	PprofListen string
	Data        string
	Database    string
	Blob        string
	PublicURL   string
	TLSCert     string
	TLSKey      string
	LogFormat   string
	LogLevel    string

	TrustedProxies      string
	RequireRegistration string
	Signup              string
	SignupDomains       string
	SignupContact       string
	ToolsChannel        string
	ReservedChannels    string
	RepodataMaxAge      time.Duration
	RepodataCompact     time.Duration
	RepodataMemory      int64
	PackageMemory       int64
	MaxUploadSize       int64
	IPv6PrefixLen       int64
	QuotaKeys           int64
	QuotaChannels       int64
	QuotaBytes          int64
	MaxClientsPerOrg    int64
	MaxClientsPerKey    int64
	MaxClients          int64
	UploadMinRate       int64
	PublishCLI          bool
	CLIBinaries         string
	ProxyTTL            time.Duration
	// UpstreamAllow lists the internal networks upstream channels may
	// reach (comma-separated CIDRs); others are refused when connecting.
	UpstreamAllow  string
	MirrorInterval time.Duration

	InitialAdmin         string
	InitialAdminPassword string

	// SecretKey (32 bytes, base64 or hex) seals identity providers' client
	// secrets and upstream channels' tokens in the database.
	SecretKey string
}

// prefixes parses a comma-separated CIDR list of the flag name.
func prefixes(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := gate.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--%s (%s): %s", flag, envName(flag), gatehouse.ErrorMessage(err))
		}
		out = append(out, p)
	}
	return out, nil
}

// splitList reads a comma-separated list; the empty string is an empty
// list, not a missing one.
func splitList(list string) []string {
	out := []string{}
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// envName maps a flag to its environment variable.
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// loopback reports whether addr is host:port with a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && gate.LoopbackHost(host)
}

// Validate reports every problem at once.
func (c *serverConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: want host:port, such as 127.0.0.1:8080", c.Listen))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: want host:port, such as 127.0.0.1:9090", c.MetricsListen))
		}
	}
	if c.PprofListen != "" && !loopback(c.PprofListen) {
		errs = append(errs, fmt.Errorf("--pprof-listen %q: want a loopback host:port, such as 127.0.0.1:6060 (profiles show the process's memory)", c.PprofListen))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("--data: a directory is required"))
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, errors.New("--database: want a postgres:// URL (leave it empty for SQLite in --data)"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url %q: want an http:// or https:// URL", c.PublicURL))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if _, err := prefixes("trusted-proxies", c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if _, err := prefixes("require-registration", c.RequireRegistration); err != nil {
		errs = append(errs, err)
	}
	if _, err := prefixes("upstream-allow", c.UpstreamAllow); err != nil {
		errs = append(errs, err)
	}
	if _, err := signup.ParseMode(c.Signup); err != nil {
		errs = append(errs, err)
	}
	for _, d := range splitList(c.SignupDomains) {
		if d = strings.TrimPrefix(d, "@"); d == "" || strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") {
			errs = append(errs, fmt.Errorf("--signup-domains: %q is not an email domain such as example.com", d))
		}
	}
	for _, n := range splitList(c.ReservedChannels) {
		if err := condaname.ValidateChannel(n); err != nil {
			errs = append(errs, fmt.Errorf("--reserved-channels: %q: %s", n, gatehouse.ErrorMessage(err)))
		}
	}
	if err := condaname.ValidateChannel(c.ToolsChannel); err != nil {
		errs = append(errs, fmt.Errorf("--tools-channel %q: %s", c.ToolsChannel, gatehouse.ErrorMessage(err)))
	}
	if c.CLIBinaries != "" {
		if fi, err := os.Stat(c.CLIBinaries); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("--cli-binaries %q: not a directory (give the directory scripts/release wrote, such as dist/1.4.0)", c.CLIBinaries))
		}
	}
	if c.RepodataMaxAge < 0 {
		errs = append(errs, errors.New("--repodata-max-age: must not be negative"))
	}
	if c.RepodataCompact < 0 {
		errs = append(errs, errors.New("--repodata-compact-after: must not be negative (0 turns compaction off)"))
	}
	if c.RepodataMemory < 0 {
		errs = append(errs, errors.New("--repodata-memory: must not be negative (0 sends every index file but the smallest from disk)"))
	}
	if c.PackageMemory < 0 {
		errs = append(errs, errors.New("--package-memory: must not be negative (0 sends every package file from storage)"))
	}
	if c.MaxUploadSize <= 0 {
		errs = append(errs, errors.New("--max-upload-size: must be positive"))
	}
	for _, q := range []struct {
		name string
		v    int64
	}{{"quota-keys-per-user", c.QuotaKeys}, {"quota-channels-per-owner", c.QuotaChannels}, {"quota-bytes-per-owner", c.QuotaBytes},
		{"upload-min-rate", c.UploadMinRate}} {
		if q.v == 0 || q.v < -1 {
			errs = append(errs, fmt.Errorf("--%s: want a positive number, or -1 for no limit", q.name))
		}
	}
	for _, q := range []struct {
		name string
		v    int64
	}{{"max-clients-per-org", c.MaxClientsPerOrg}, {"max-clients-per-key", c.MaxClientsPerKey}, {"max-clients", c.MaxClients}} {
		if q.v < 1 {
			errs = append(errs, fmt.Errorf("--%s: want a positive number of client records", q.name))
		}
	}
	if c.IPv6PrefixLen < 16 || c.IPv6PrefixLen > 128 {
		errs = append(errs, errors.New("--ipv6-prefix: want a network length from 16 to 128, such as 64"))
	}
	if c.SecretKey != "" {
		if _, err := secret.ParseSealKey(c.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("--secret-key (%s): %v; make one with: openssl rand -base64 32", envName("secret-key"), err))
		}
	}
	if c.InitialAdmin != "" {
		if err := gatehouse.ValidateName("username", c.InitialAdmin); err != nil {
			errs = append(errs, fmt.Errorf("GATEHOUSE_INITIAL_ADMIN %q: %s", c.InitialAdmin, gatehouse.ErrorMessage(err)))
		}
	}
	return errors.Join(errs...)
}

// redacted is the configuration with secrets hidden (checklist H6).
func (c serverConfig) redacted() serverConfig {
	if c.InitialAdminPassword != "" {
		c.InitialAdminPassword = "<redacted>"
	}
	if c.SecretKey != "" {
		c.SecretKey = "<redacted>"
	}
	if u, err := url.Parse(c.Database); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			c.Database = u.String()
		}
	}
	return c
}

func newServerCommand(getenv func(string) string) *cobra.Command {
	cfg := &serverConfig{}
	var printConfig bool
	var publishErr error // a GATEHOUSE_PUBLISH_CLI that is not a boolean
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Gatehouse server",
		Long: `Run the Gatehouse server. With no flags it keeps everything in ./gatehouse-data
(SQLite database and package files) and listens on 127.0.0.1:8080.
Every flag can also be set as an environment variable: --public-url is GATEHOUSE_PUBLIC_URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.InitialAdminPassword = getenv("GATEHOUSE_INITIAL_ADMIN_PASSWORD")
			if cfg.InitialAdmin == "" {
				cfg.InitialAdmin = "admin"
			}
			if err := errors.Join(cfg.Validate(), publishErr); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			if printConfig {
				fmt.Fprintf(cmd.OutOrStdout(), "%+v\n", cfg.redacted())
				return nil
			}
			return runServer(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	str := func(p *string, name, def, usage string) {
		if v := getenv(envName(name)); v != "" {
			def = v
		}
		f.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&cfg.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	str(&cfg.MetricsListen, "metrics-listen", "", "address of a second listener serving only /metrics without a credential (the main one needs an administrator's)")
	str(&cfg.PprofListen, "pprof-listen", "", "loopback address serving the Go runtime's profiles (/debug/pprof/); off by default")
	str(&cfg.Data, "data", "./gatehouse-data", "directory for the SQLite database and package files")
	str(&cfg.Database, "database", "", "a postgres:// URL to use PostgreSQL instead of SQLite")
	str(&cfg.Blob, "blob", "", "a blob URL (s3://bucket?endpoint=...) for package files instead of --data")
	str(&cfg.PublicURL, "public-url", "", "the URL clients use to reach this server (default: from --listen)")
	str(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	str(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	str(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	str(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	str(&cfg.InitialAdmin, "initial-admin", "admin", "username of the administrator created on first start")
	str(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated networks of reverse proxies whose X-Forwarded-For is believed")
	str(&cfg.RequireRegistration, "require-registration", "", "comma-separated networks that must register before using channels (administrators can add more on the web)")
	str(&cfg.Signup, "signup", "off", "who may create an account on their own: off (administrators create accounts), open, or approval (an administrator approves each)")
	str(&cfg.SignupDomains, "signup-domains", "", "comma-separated email domains allowed to sign up (default: any)")
	str(&cfg.SignupContact, "signup-contact", "", "whom people without an account should ask, shown on the sign-in page when sign-up is off (an email address)")
	str(&cfg.ToolsChannel, "tools-channel", "gatehouse-tools", "channel exempt from the registration gate, serving the gatehouse CLI")
	str(&cfg.ReservedChannels, "reserved-channels", strings.Join(service.DefaultReservedChannels, ","), "comma-separated channel names only administrators may create (and their look-alikes)")
	str(&cfg.SecretKey, "secret-key", "", "32 random bytes (base64 or hex) that encrypt the secrets the database keeps: identity providers' client secrets and upstream channels' tokens (openssl rand -base64 32)")
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		if v := getenv(envName(name)); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			} else {
				def = -1 // reported by Validate
			}
		}
		f.DurationVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	dur(&cfg.RepodataMaxAge, "repodata-max-age", 30*time.Second, "Cache-Control max-age of repodata")
	dur(&cfg.RepodataCompact, "repodata-compact-after", 10*time.Second, "how long a subdir goes without a change before its repodata.json.zst and .gz are recompressed as one frame (0: never)")
	dur(&cfg.ProxyTTL, "proxy-ttl", 10*time.Minute, "how long a proxy channel uses upstream repodata before fetching it again")
	dur(&cfg.MirrorInterval, "mirror-interval", time.Hour, "how often mirror channels sync")
	str(&cfg.UpstreamAllow, "upstream-allow", "", "comma-separated loopback, private or link-local networks that proxy and mirror channels may reach (refused by default)")
	num := func(p *int64, name string, def int64, usage string) {
		if v := getenv(envName(name)); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				def = n
			} else {
				def = -1 // reported by Validate
			}
		}
		f.Int64Var(p, name, def, usage+" (env "+envName(name)+")")
	}
	num(&cfg.RepodataMemory, "repodata-memory", 32<<20, "bytes of current repodata.json, .zst, .gz and shard indexes kept in memory, each at most a quarter of it (0: none but the smallest files)")
	num(&cfg.PackageMemory, "package-memory", 16<<20, "bytes of package files of at most 64 KiB kept in memory, answered without touching storage (0: none)")
	num(&cfg.MaxUploadSize, "max-upload-size", 2<<30, "largest package file accepted, in bytes")
	num(&cfg.QuotaKeys, "quota-keys-per-user", int64(service.DefaultQuotas.KeysPerUser), "active API keys one user may hold (-1: no limit; administrators are not bound)")
	num(&cfg.QuotaChannels, "quota-channels-per-owner", int64(service.DefaultQuotas.ChannelsPerOwner), "channels one user or organization may own (-1: no limit)")
	num(&cfg.QuotaBytes, "quota-bytes-per-owner", service.DefaultQuotas.BytesPerOwner, "package bytes one user's or organization's channels may hold (-1: no limit)")
	num(&cfg.MaxClientsPerOrg, "max-clients-per-org", int64(orgreg.DefaultBounds.PerOrg), "registered-client records kept per organization, least recently seen evicted first")
	num(&cfg.MaxClientsPerKey, "max-clients-per-key", int64(orgreg.DefaultBounds.PerKey), "registered-client records kept per API key")
	num(&cfg.MaxClients, "max-clients", int64(orgreg.DefaultBounds.Total), "registered-client records kept in all")
	num(&cfg.UploadMinRate, "upload-min-rate", api.DefaultUploadMinRate, "bytes a second an upload must average after its first minute, or it is stopped (-1: no minimum)")
	num(&cfg.IPv6PrefixLen, "ipv6-prefix", 64, "IPv6 network length whose addresses share one failure budget (128: each address alone)")
	publishCLI := true
	if v := getenv(envName("publish-cli")); v != "" {
		if publishCLI, publishErr = strconv.ParseBool(v); publishErr != nil {
			publishErr = fmt.Errorf("%s=%q: want true or false", envName("publish-cli"), v)
		}
	}
	f.BoolVar(&cfg.PublishCLI, "publish-cli", publishCLI, "publish this binary as the conda package gatehouse in the tools channel at start (env "+envName("publish-cli")+")")
	str(&cfg.CLIBinaries, "cli-binaries", "", "a directory of the release's gatehouse binaries for other platforms (gatehouse-linux-64, gatehouse-osx-arm64, gatehouse-win-64.exe, ...; scripts/release builds them), published in the tools channel at start with this one")
	f.BoolVar(&printConfig, "print-config", false, "print the configuration (secrets redacted) and exit")
	return cmd
}

func newLogger(cfg *serverConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServer(ctx context.Context, cfg *serverConfig, stderr io.Writer) error {
	// Log lines are gathered and written in batches (one write per request
	// line was a twentieth of a small answer's CPU). Close writes the rest
	// when the server stops; a crash loses only the lines of the last
	// moment, and a panic's own report goes straight to stderr.
	sink := logsink.New(stderr, 0)
	defer sink.Close()
	log := newLogger(cfg, sink)
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	dsn := cfg.Database
	if dsn == "" {
		dsn = filepath.Join(cfg.Data, "gatehouse.db")
	}
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer store.Close()
	blobURL := cfg.Blob
	if blobURL == "" {
		abs, err := filepath.Abs(filepath.Join(cfg.Data, "packages"))
		if err != nil {
			return err
		}
		blobURL = "file://" + abs
	}
	blobs, err := blobstore.Open(ctx, blobURL)
	if err != nil {
		return fmt.Errorf("opening package storage: %w", err)
	}
	defer blobs.Close()
	spoolDir := filepath.Join(cfg.Data, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return fmt.Errorf("creating the upload spool directory: %w", err)
	}
	// Spool files belong to uploads of this process; any found at start
	// were cut off by a crash and can each be as large as an upload.
	if n := spool.Dir(spoolDir).Clear(); n > 0 {
		log.Info("removed upload spool files left by a previous run", "count", n)
	}
	trusted, _ := prefixes("trusted-proxies", cfg.TrustedProxies)
	gated, _ := prefixes("require-registration", cfg.RequireRegistration)
	upstreamAllow, _ := prefixes("upstream-allow", cfg.UpstreamAllow)
	signupMode, _ := signup.ParseMode(cfg.Signup) // checked by Validate

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	public := cfg.PublicURL
	if public == "" {
		public = scheme + "://" + ln.Addr().String()
	}
	pu, _ := url.Parse(public)
	var sealKey []byte
	if cfg.SecretKey != "" {
		sealKey, _ = secret.ParseSealKey(cfg.SecretKey) // checked by Validate
	}
	srv, err := server.New(server.Config{
		Store: store, Logger: log, PublicURL: pu, TLS: cfg.TLSCert != "", Version: version, SecretKey: sealKey,
		Blobs: blobs, TempDir: spoolDir, MaxUploadSize: cfg.MaxUploadSize, ToolsChannel: cfg.ToolsChannel,
		RepodataMaxAge: cfg.RepodataMaxAge, RepodataCompactAfter: zeroOff(cfg.RepodataCompact), RepodataMemory: zeroOff(cfg.RepodataMemory), PackageMemory: cfg.PackageMemory, TrustedProxies: trusted, RequireRegistration: gated,
		FailureBudget: ratelimit.FailureBudget{IPv6PrefixLen: int(cfg.IPv6PrefixLen)}, ReservedChannels: splitList(cfg.ReservedChannels),
		Quotas:       service.Quotas{KeysPerUser: int(cfg.QuotaKeys), ChannelsPerOwner: int(cfg.QuotaChannels), BytesPerOwner: cfg.QuotaBytes},
		ClientBounds: orgreg.Bounds{PerOrg: int(cfg.MaxClientsPerOrg), PerKey: int(cfg.MaxClientsPerKey), Total: int(cfg.MaxClients)},
		IndexDir:     filepath.Join(cfg.Data, "index"), ProxyTTL: cfg.ProxyTTL,
		MirrorInterval: cfg.MirrorInterval, UpstreamAllow: upstreamAllow,
		Signup: signupMode, SignupDomains: splitList(cfg.SignupDomains), SignupContact: cfg.SignupContact,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	if err := bootstrap(ctx, srv.Services(), cfg, log); err != nil {
		ln.Close()
		return err
	}
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		stop, err := serveAside(cfg.MetricsListen, mux, log, "metrics", "/metrics")
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	if cfg.PprofListen != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		stop, err := serveAside(cfg.PprofListen, mux, log, "profiles", "/debug/pprof/")
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	hs := server.HTTPServer(srv, log)
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "public_url", public, "version", version)
	if cfg.PublishCLI {
		// In the background, so readiness does not wait; the services
		// stop it at Close, before the stores close.
		if exe, err := os.Executable(); err != nil {
			log.Warn("the gatehouse CLI was not published in the tools channel", "err", err)
		} else {
			srv.Services().PublishCLIInBackground(exe, cfg.CLIBinaries, version)
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrap makes a new installation usable, through the services so the
// audit log records it: the first administrator on an empty database (its
// password from GATEHOUSE_INITIAL_ADMIN_PASSWORD or, if unset, random and
// printed once), and the registration-exempt tools channel.
func bootstrap(ctx context.Context, svc *service.Services, cfg *serverConfig, log *slog.Logger) error {
	pw, generated := cfg.InitialAdminPassword, false
	if pw == "" {
		pw, generated = secret.Token()[:24], true
	}
	if err := gatehouse.ValidatePassword("GATEHOUSE_INITIAL_ADMIN_PASSWORD", pw); err != nil {
		return fmt.Errorf("GATEHOUSE_INITIAL_ADMIN_PASSWORD: %s", gatehouse.ErrorMessage(err))
	}
	created, err := svc.Users.EnsureInitialAdmin(ctx, cfg.InitialAdmin, pw, generated)
	if err != nil {
		return fmt.Errorf("creating the initial administrator: %w", err)
	}
	switch {
	case created && generated:
		// Shown once, so the operator can sign in; change it on the
		// Account Settings page.
		log.Warn("created the initial administrator with a random password; sign in with it to choose your own",
			"username", cfg.InitialAdmin, "password", pw)
	case created:
		log.Info("created the initial administrator", "username", cfg.InitialAdmin)
	}
	return svc.Channels.EnsureToolsChannel(ctx, cfg.ToolsChannel)
}

// serveAside serves mux on a listener of its own at addr (metrics,
// profiles), beside the main one, until the returned stop is called.
func serveAside(addr string, mux *http.ServeMux, log *slog.Logger, what, path string) (stop func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for %s: %w", addr, what, err)
	}
	hs := server.HTTPServer(mux, log)
	go hs.Serve(l)
	log.Info("serving "+what, "url", "http://"+l.Addr().String()+path)
	return hs.Close, nil
}

// zeroOff maps a flag whose 0 means "off" (compaction, the repodata
// memory) to the setting of the package below, where 0 is its default and
// a negative value is off.
func zeroOff[T int64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}
