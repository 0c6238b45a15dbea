package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/gatehouse-dev/gatehouse/gate"
)

// target is the server a command talks to.
type target struct {
	base     *url.URL // scheme://host[:port][/prefix]
	domain   string   // credstore.DomainKey: what keys are stored under
	insecure bool     // ssl_verify = false
	warned   bool     // the person was told about insecure

	configPath string
}

// ParseServer turns what a person typed after --at into the server's base
// URL: a host (https assumed), host:port, or a full http:// or https://
// URL. A bare loopback host (127.0.0.1, localhost, [::1]) means http, as a
// local server rarely has a certificate. A channel URL (what the channel
// page shows: host/repo/lab, /t/<key>/repo/lab, /channels/lab) names its
// server: everything from /repo, /t/ or /channels on is dropped.
func ParseServer(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the server address is empty: give a host name such as packages.example.com")
	}
	if !strings.Contains(s, "://") {
		scheme := "https"
		if gate.LoopbackHost(hostOnly(s)) {
			scheme = "http"
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			s = "[" + s + "]" // a bare IPv6 literal has no port
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%q is not a server address: use a host (packages.example.com), host:port, or an http:// or https:// URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the server address %q uses %q: only http:// and https:// are supported", s, u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("the server address must not contain a user name or password; log in with gatehouse login instead")
	}
	if _, err := credstore.DomainKey(u.Scheme + "://" + u.Host); err != nil {
		return nil, err
	}
	u.Path = serverPath(strings.TrimRight(u.Path, "/"))
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// serverPath cuts a channel URL's path down to the server's prefix.
func serverPath(p string) string {
	cut := len(p)
	for _, seg := range []string{"/repo", "/t", "/channels"} {
		if i := strings.Index(p+"/", seg+"/"); i >= 0 && i < cut {
			cut = i
		}
	}
	return p[:cut]
}

// hostOnly returns the host part of "host", "host:port" or "[v6]:port".
func hostOnly(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}

// target resolves --at (or the configured domain) into a server.
func (e *Env) target(at string) (*target, error) {
	cfg, err := credstore.LoadConfig(e.creds())
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Err: err}
	}
	s := at
	if strings.TrimSpace(s) == "" {
		s = cfg.Domain
	}
	if strings.TrimSpace(s) == "" {
		return nil, exitf(ExitFailure, "No server given: use --at HOST, or set %s (or domain under [plugin.auth] in %s).", credstore.EnvDomain, cfg.Path)
	}
	base, err := ParseServer(s)
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Err: err}
	}
	domain, err := credstore.DomainKey(base.Scheme + "://" + base.Host)
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Err: err}
	}
	t := &target{base: base, domain: domain, configPath: cfg.Path}
	t.insecure = cfg.SSLVerify != nil && !*cfg.SSLVerify
	return t, nil
}

// httpClient is the http.Client for t.
func (e *Env) httpClient(t *target) *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return client.NewHTTPClient(t.insecure)
}

// newClient returns a client of t authenticating with key.
func (e *Env) newClient(t *target, key string, opts ...client.Option) (*client.Client, error) {
	if t.insecure && !t.warned && t.base.Scheme == "https" {
		t.warned = true
		e.warnf("ssl_verify is false (%s or %s): the TLS certificate of %s is not checked.", credstore.EnvSSLVerify, t.configPath, t.domain)
	}
	domain := t.domain
	return client.New(t.base.String(), key, append([]client.Option{client.WithVersion(e.version()), client.WithHTTPClient(e.httpClient(t)),
		client.WithKeyExpiryNotice(func(exp time.Time) {
			// Every command that uses a key says so on stderr when it
			// expires within the server's warning window.
			days := int(time.Until(exp).Hours() / 24)
			if e.Now != nil {
				days = int(exp.Sub(e.now()).Hours() / 24)
			}
			e.warnf("the API key for %s expires on %s (in %d days). Create a new one: gatehouse login --force --at %s",
				domain, exp.UTC().Format(time.DateOnly), days, domain)
		})}, opts...)...)
}

// session is a server and the key found for it.
type session struct {
	t      *target
	entry  *credstore.Entry
	source credstore.Source
	c      *client.Client
}

// connect resolves the server and finds its key. With no key anywhere it
// fails with exit status 2 and the sentence that says how to log in.
func (e *Env) connect(at string) (*session, error) {
	t, err := e.target(at)
	if err != nil {
		return nil, err
	}
	entry, src, err := credstore.Lookup(e.creds(), t.domain)
	if errors.Is(err, credstore.ErrNotFound) {
		return nil, &ExitError{Code: ExitNoKey, Err: err}
	}
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Err: err}
	}
	c, err := e.newClient(t, entry.APIKey)
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Err: err}
	}
	return &session{t: t, entry: entry, source: src, c: c}, nil
}

// sourceText says where a key came from, for people.
func (e *Env) sourceText(src credstore.Source) string {
	ce := e.creds()
	switch src {
	case credstore.SourceEnv:
		return "the environment variable " + credstore.EnvAPIKey
	case credstore.SourceSecret:
		dir := e.SecretsDir
		if dir == "" {
			dir = "/run/secrets"
		}
		return "the Docker secret " + dir + "/" + credstore.EnvAPIKey
	case credstore.SourceConfig:
		p, _ := ce.ConfigPath()
		return "api_key in " + p
	case credstore.SourceFile:
		p, _ := ce.KeyringPath()
		return "the keyring file " + p
	case credstore.SourceSystem:
		return "the system keyring"
	}
	return string(src)
}

// removable reports whether gatehouse can delete a key from its source.
func removable(src credstore.Source) bool {
	return src == credstore.SourceFile || src == credstore.SourceSystem
}
