package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
	"github.com/spf13/cobra"
)

// serverConfig is the server's configuration: defaults, then GATEHOUSE_*
// environment variables, then flags.
type serverConfig struct {
	Listen    string
	Data      string
	Database  string
	Blob      string
	PublicURL string
	TLSCert   string
	TLSKey    string
	LogFormat string
	LogLevel  string

	InitialAdmin         string
	InitialAdminPassword string
}

// envName maps a flag to its environment variable.
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Validate reports every problem at once.
func (c *serverConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: want host:port, such as 127.0.0.1:8080", c.Listen))
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
			if err := cfg.Validate(); err != nil {
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
	str(&cfg.Data, "data", "./gatehouse-data", "directory for the SQLite database and package files")
	str(&cfg.Database, "database", "", "a postgres:// URL to use PostgreSQL instead of SQLite")
	str(&cfg.Blob, "blob", "", "a blob URL (s3://bucket?endpoint=...) for package files instead of --data")
	str(&cfg.PublicURL, "public-url", "", "the URL clients use to reach this server (default: from --listen)")
	str(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	str(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	str(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	str(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	str(&cfg.InitialAdmin, "initial-admin", "admin", "username of the administrator created on first start")
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
	log := newLogger(cfg, stderr)
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
	if err := bootstrapAdmin(ctx, store, cfg, log); err != nil {
		return err
	}

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
	srv, err := server.New(server.Config{
		Store: store, Logger: log, PublicURL: pu, TLS: cfg.TLSCert != "", Version: version,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
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

// bootstrapAdmin creates the first administrator on an empty database. Its
// password comes from GATEHOUSE_INITIAL_ADMIN_PASSWORD or, if unset, is
// random and printed once.
func bootstrapAdmin(ctx context.Context, store gatehouse.Store, cfg *serverConfig, log *slog.Logger) error {
	n, err := store.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw, generated := cfg.InitialAdminPassword, false
	if pw == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		pw, generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	if err := gatehouse.ValidatePassword("GATEHOUSE_INITIAL_ADMIN_PASSWORD", pw); err != nil {
		return fmt.Errorf("GATEHOUSE_INITIAL_ADMIN_PASSWORD: %s", gatehouse.ErrorMessage(err))
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	now := gatehouse.SystemClock()
	u := &gatehouse.User{Username: cfg.InitialAdmin, PasswordHash: hash, IsAdmin: true, CreatedAt: now, PasswordChangedAt: now}
	if err := store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("creating the initial administrator: %w", err)
	}
	if generated {
		// Shown once, so the operator can sign in; change it on the
		// Account Settings page.
		log.Warn("created the initial administrator with a random password; sign in and change it",
			"username", u.Username, "password", pw)
	} else {
		log.Info("created the initial administrator", "username", u.Username)
	}
	return nil
}
