// Package oauth is the small OAuth 2.0 authorization server the CLI logs
// in through: the authorization code grant with PKCE (S256 only) and a
// loopback redirect (RFC 8252), and the device authorization grant (RFC
// 8628), both ending in a short-lived access token ("gat-..."), which the
// CLI spends on POST /api/auth/api-keys to create its API key. This
// package speaks the protocol (parameters, redirects, error answers); the
// LoginService keeps the grants, each used at most once.
//
// Files: oauth.go (routes, discovery, scopes), authorize.go (the code
// flow), device.go (the device flow), consent.go (the consent page both
// show), token.go (the token endpoint), keys.go (key creation for CLIs).
package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

const (
	grantTypeCode   = "authorization_code"
	grantTypeDevice = "urn:ietf:params:oauth:grant-type:device_code"
)

// Config is what the login endpoints need.
type Config struct {
	Login gatehouse.LoginService
	Keys  gatehouse.KeyService
	Pages *web.Pages
	Addrs *authn.Addrs
	Reply *reply.Replier
	Clock gatehouse.Clock
	// PublicURL is the issuer: where the endpoints are.
	PublicURL *url.URL
}

// Server serves the login endpoints and pages.
type Server struct {
	cfg Config
}

// New returns the login endpoints.
func New(cfg Config) *Server { return &Server{cfg: cfg} }

// Routes registers discovery, the OAuth endpoints and the pages a person
// approves a login on. Pages that change state are POSTs through
// web.Pages.Page (session, CSRF token, same-origin: checklist D3, E4);
// GETs change nothing (E5). Key creation for CLIs is an API route the
// HTTP core mounts with its authentication: see HandleCLIKey.
func (o *Server) Routes(mux Mux) {
	mux.HandleFunc("GET /.well-known/openid-configuration", o.handleDiscovery)
	mux.HandleFunc("GET /oauth/authorize", o.handleAuthorizePage)
	mux.Handle("POST /oauth/authorize", o.cfg.Pages.Page(o.handleAuthorizeDecision))
	mux.HandleFunc("POST /oauth/token", o.handleToken)
	mux.HandleFunc("POST /oauth/device/code", o.handleDeviceCode)
	mux.Handle("GET /device", o.cfg.Pages.SignedInPage(o.handleDevicePage))
	mux.Handle("POST /device", o.cfg.Pages.Page(o.handleDeviceForm))
}

// absURL returns the public URL of path.
func (o *Server) absURL(path string) string {
	u := *o.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// discovery is the subset of OpenID Provider Metadata (and RFC 8414) that
// CLI login needs; anaconda-auth reads the endpoints from it.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
}

func (o *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	reply.JSON(w, http.StatusOK, discovery{
		Issuer:                            strings.TrimSuffix(o.absURL(""), "/"),
		AuthorizationEndpoint:             o.absURL("/oauth/authorize"),
		TokenEndpoint:                     o.absURL("/oauth/token"),
		DeviceAuthorizationEndpoint:       o.absURL("/oauth/device/code"),
		ResponseTypesSupported:            []string{"code"},
		GrantTypesSupported:               []string{grantTypeCode, grantTypeDevice},
		CodeChallengeMethodsSupported:     []string{"S256"},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		ScopesSupported:                   []string{"user", "channels", "admin", "cloud:read", "cloud:write", "repo:read", "openid"},
	})
}

// oauthScopeNames maps the scope names clients send to ours. anaconda-auth
// asks for "cloud:read cloud:write" (the platform API) and "repo:read"
// (channels); "openid email profile offline_access" ask for nothing here.
// "admin" (gatehouse login --admin) asks for Administration: the consent
// page names it, and it is worth something only to an administrator (a
// login's scopes are cut to what its user holds, at every use).
var oauthScopeNames = map[string]gatehouse.Scopes{
	"admin":       gatehouse.ScopeAdmin,
	"user":        gatehouse.ScopeUser,
	"cloud:read":  gatehouse.ScopeUser,
	"cloud:write": gatehouse.ScopeUser,
	"channels":    gatehouse.ScopeChannels,
	"repo:read":   gatehouse.ScopeChannels,
}

// cliDefaultScopes is what a login grants when it names none of ours:
// what a CLI needs to use the API and channels. Administration only when
// asked for by name.
const cliDefaultScopes = gatehouse.ScopeUser | gatehouse.ScopeChannels

// parseOAuthScope reads an OAuth scope parameter (names separated by
// spaces). Names it does not know are ignored, because OpenID clients
// send several.
func parseOAuthScope(scope string) gatehouse.Scopes {
	var s gatehouse.Scopes
	for _, name := range strings.Fields(scope) {
		s |= oauthScopeNames[name]
	}
	if s == 0 {
		return cliDefaultScopes
	}
	return s
}

// scopeNames is how a token answer and a consent form spell scopes.
func scopeNames(s gatehouse.Scopes) string { return strings.Join(s.Names(), " ") }

// maxClientName bounds the machine name a client gives (runes).
const maxClientName = 64

// cleanClientName makes the machine name a client sends safe to show and
// store: printable, no line breaks, at most 64 characters, trimmed.
// Templates escape it; this keeps it readable and honest.
func cleanClientName(name string) string {
	name = strings.ToValidUTF8(name, "")
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == maxClientName {
			break
		}
		if unicode.IsSpace(r) {
			r = ' '
		} else if !unicode.IsPrint(r) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// requestClientName is the machine name of a login request: client_name,
// or machine, as some clients call it.
func requestClientName(get func(string) string) string {
	if n := cleanClientName(get("client_name")); n != "" {
		return n
	}
	return cleanClientName(get("machine"))
}

// validUTF8Param reports whether a request parameter is text worth
// reading: UTF-8, no control characters, at most max bytes.
func validUTF8Param(v string, max int) bool {
	if len(v) > max || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }
