package server

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// CLI login: a small OAuth 2.0 authorization server for public clients.
// The authorization code grant with PKCE (S256 only) and a loopback
// redirect (RFC 8252), and the device authorization grant (RFC 8628), both
// end in a short-lived access token ("gat-..."), which the CLI spends on
// POST /api/iam/api-keys to create its API key. Codes, device codes and
// tokens are random, stored as SHA-256 only, and used at most once.
//
// Files: oauth.go (routes, discovery, clients, scopes, tokens),
// oauth_authorize.go (the code flow), oauth_device.go (the device flow),
// oauth_consent.go (the consent page both show), oauth_token.go (the
// token endpoint), oauth_keys.go (key creation for CLIs).

// Lifetimes. Checklist D1: a code used after 10 minutes fails; D4: device
// codes expire within 10 minutes.
const (
	codeLifetime        = 5 * time.Minute
	deviceLifetime      = 10 * time.Minute
	accessTokenLifetime = 10 * time.Minute
	// deviceInterval is how often a device-flow client may poll.
	deviceInterval = 5 * time.Second
	// pollSlack forgives a poll that arrives a little early, because the
	// previous one was held up in transit; closer than interval minus
	// slack is slow_down.
	pollSlack = time.Second
	// sweepOAuthEvery bounds how often the token endpoint deletes expired
	// grants and tokens.
	sweepOAuthEvery = time.Minute
	// oauthKeepExpired is how long expired grants stay to be reported as
	// expired.
	oauthKeepExpired = time.Hour
)

// accessTokenPrefix marks access tokens, so they are never taken for API
// keys ("gk-") and secret scanners can tell them apart.
const accessTokenPrefix = "gat-"

const (
	grantTypeCode   = "authorization_code"
	grantTypeDevice = "urn:ietf:params:oauth:grant-type:device_code"
)

// publicClients are the clients that may log in, by client_id, with the
// name the consent page shows. All are public: no secrets (RFC 8252 §8.4).
var publicClients = map[string]string{
	"gatehouse-cli":                        "the Gatehouse command line",
	"b4ad7f1d-c784-46b5-a9fe-106e50441f5a": "anaconda-auth (conda)",
}

// oauthServer holds what the login endpoints keep between requests.
type oauthServer struct {
	s *Server
	// failures counts wrong user codes and failed token requests per
	// address, and accounts wrong user codes per signed-in user
	// (checklist D4). They are apart from the limiters of keys and
	// passwords, so mistyped codes never block signing in.
	failures, accounts *failureLimiter
	// lastSweep is when expired grants and tokens were last deleted, in
	// UnixNano of the server's clock.
	lastSweep atomic.Int64
}

// oauthRoutes registers discovery, the OAuth endpoints, the pages a person
// approves a login on, and key creation for CLIs. Pages that change state
// are POSTs through webPage (session, CSRF token, same-origin: checklist
// D3, E4); GETs change nothing (E5).
func (s *Server) oauthRoutes(mux *http.ServeMux) {
	o := &oauthServer{
		s:        s,
		failures: newFailureLimiter(s.now, s.cfg.FailureLimit, s.cfg.FailureRefill, 100_000),
		accounts: newFailureLimiter(s.now, s.cfg.AccountFailureLimit, 30*time.Second, 100_000),
	}
	mux.HandleFunc("GET /.well-known/openid-configuration", o.handleDiscovery)
	mux.HandleFunc("GET /oauth/authorize", o.handleAuthorizePage)
	mux.Handle("POST /oauth/authorize", s.webPage(o.handleAuthorizeDecision))
	mux.HandleFunc("POST /oauth/token", o.handleToken)
	mux.HandleFunc("POST /oauth/device/code", o.handleDeviceCode)
	mux.Handle("GET /device", o.signedInPage(o.handleDevicePage))
	mux.Handle("POST /device", s.webPage(o.handleDeviceForm))
	// No scope is required up front: a login token carries only the
	// scopes it was granted; the handler checks what it needs.
	mux.Handle("POST /api/iam/api-keys", s.api(0, o.handleCLIKey))
	mux.Handle("POST /api/auth/api-keys", s.api(0, o.handleCLIKey))
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

func (o *oauthServer) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	s := o.s
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                            strings.TrimSuffix(s.absURL(""), "/"),
		AuthorizationEndpoint:             s.absURL("/oauth/authorize"),
		TokenEndpoint:                     s.absURL("/oauth/token"),
		DeviceAuthorizationEndpoint:       s.absURL("/oauth/device/code"),
		ResponseTypesSupported:            []string{"code"},
		GrantTypesSupported:               []string{grantTypeCode, grantTypeDevice},
		CodeChallengeMethodsSupported:     []string{"S256"},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		ScopesSupported:                   []string{"user", "channels", "cloud:read", "cloud:write", "repo:read", "openid"},
	})
}

// oauthScopeNames maps the scope names clients send to ours. anaconda-auth
// asks for "cloud:read cloud:write" (the platform API) and "repo:read"
// (channels); "openid email profile offline_access" ask for nothing here.
var oauthScopeNames = map[string]gatehouse.Scopes{
	"user":        gatehouse.ScopeUser,
	"cloud:read":  gatehouse.ScopeUser,
	"cloud:write": gatehouse.ScopeUser,
	"channels":    gatehouse.ScopeChannels,
	"repo:read":   gatehouse.ScopeChannels,
}

// cliDefaultScopes is what a login grants when it names none of ours:
// what a CLI needs to use the API and channels. Never Administration.
const cliDefaultScopes = gatehouse.ScopeUser | gatehouse.ScopeChannels

// parseOAuthScope reads an OAuth scope parameter (names separated by
// spaces). Names it does not know are ignored, because OpenID clients
// send several; "admin" is among them: a CLI login never grants it.
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

// hashSecret is how codes, device codes and tokens are stored.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// sweepOAuth deletes grants and access tokens that have expired, and
// returns how many. The server's background loop may call it; the token
// endpoint also does, at most once a minute (maybeSweep).
func (s *Server) sweepOAuth(ctx context.Context) (int64, error) {
	// Rows are kept a while past expiry, so a client polling late still
	// learns its code expired (expired_token) rather than that it never
	// existed (invalid_grant).
	return s.store.DeleteExpiredOAuth(ctx, s.now().Add(-oauthKeepExpired))
}

// maybeSweep runs sweepOAuth if the last run was over a minute ago. Only
// the caller that wins the compare-and-swap sweeps.
func (o *oauthServer) maybeSweep(ctx context.Context) {
	now := o.s.now().UnixNano()
	last := o.lastSweep.Load()
	if now-last < int64(sweepOAuthEvery) || !o.lastSweep.CompareAndSwap(last, now) {
		return
	}
	if n, err := o.s.sweepOAuth(ctx); err != nil {
		o.s.log.Warn("deleting expired sign-ins failed", "err", err)
	} else if n > 0 {
		o.s.log.Debug("deleted expired sign-ins", "count", n)
	}
}

// validAccessTokenFormat checks the shape of a token before any lookup:
// the prefix and 43 base64url characters (32 random bytes).
func validAccessTokenFormat(token string) bool {
	body, ok := strings.CutPrefix(token, accessTokenPrefix)
	if !ok || len(body) != 43 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// oauthStandInName names a login token that names no machine.
const oauthStandInName = "CLI login"

var errBadAccessToken = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This login token is not valid. Run gatehouse login again."),
	Reason: "INVALID TOKEN",
}

// oauthPrincipal verifies an access token. Failures count against the
// address like bad keys (checklist B7). The principal's Key stands for the
// token: ID 0, the token's scopes and expiry, the machine's name, so that
// Principal.Scopes and Require limit the caller to what was granted.
func (s *Server) oauthPrincipal(ctx context.Context, token, ip string) (*gatehouse.Principal, error) {
	if blocked, wait := s.limiter.blocked(ip); blocked {
		s.metrics.rateLimited.Inc()
		return nil, rateLimited(wait)
	}
	fail := func(err error) (*gatehouse.Principal, error) {
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			s.limiter.fail(ip)
		}
		return nil, err
	}
	if !validAccessTokenFormat(token) {
		return fail(errBadAccessToken)
	}
	t, u, err := s.store.AccessTokenByHash(ctx, hashSecret(token))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return fail(errBadAccessToken)
	default:
		return nil, err
	}
	switch {
	case !s.now().Before(t.ExpiresAt):
		return fail(&credError{
			Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This login token expired: they last %d minutes. Run gatehouse login again.", int(accessTokenLifetime.Minutes())),
			Reason: "TOKEN EXPIRED",
		})
	case u.Disabled:
		return fail(&credError{
			Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This account is disabled. Ask an administrator to enable it."),
			Reason: "ACCOUNT DISABLED",
		})
	}
	name := t.ClientName
	if name == "" {
		name = oauthStandInName
	}
	stand := &gatehouse.APIKey{UserID: u.ID, Name: name, Hash: t.Hash, Hint: accessTokenPrefix + "…", Scopes: t.Scopes,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, CreatedVia: string(gatehouse.AuthOAuth)}
	return &gatehouse.Principal{User: u, Key: stand, Method: gatehouse.AuthOAuth}, nil
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
