// Package idptest runs a real OpenID Connect provider for tests, the way
// net/http/httptest runs a server: built on zitadel/oidc's op package (the
// provider library ZITADEL itself runs on), with its own users, clients,
// signing key and a one-field sign-in page. Tests drive single sign-on
// against it exactly as against any provider (discovery, authorization
// code + PKCE, ID tokens checked by coreos/go-oidc), and it issues CI ID
// tokens shaped like GitHub Actions' and GitLab's for trusted publishing.
// Knobs (Tamper, SetDown, SetDelay) make it misbehave on purpose: another
// audience, a wrong nonce, an expired token, a foreign signature, an
// outage.
package idptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account at the provider.
type User struct {
	Username      string // what is typed on the sign-in page
	Subject       string // "sub"; defaults to "sub-" + Username
	Email         string
	EmailVerified bool
	Groups        []string
}

// Tamper makes the provider misbehave on the ID tokens it issues next.
type Tamper struct {
	Audience []string      // "aud" instead of the client's ID
	Nonce    string        // "nonce" instead of the one asked for
	Lifetime time.Duration // ID token lifetime; negative: already expired
	Rogue    bool          // sign with a key the provider never published
}

// Provider is a running provider.
type Provider struct {
	// URL is the issuer: http://127.0.0.1:port.
	URL string

	srv   *httptest.Server
	op    *op.Provider
	key   *rsa.PrivateKey
	rogue *rsa.PrivateKey
	kid   string

	mu       sync.Mutex
	users    map[string]*User
	clients  map[string]*client
	requests map[string]*authRequest
	codes    map[string]string
	tamper   Tamper
	down     bool
	delay    time.Duration
	// ciRequestToken guards the GitHub-like token endpoint.
	ciRequestToken string
	ciClaims       map[string]any
}

// Start runs a provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{users: map[string]*User{}, clients: map[string]*client{}, requests: map[string]*authRequest{},
		codes: map[string]string{}, ciRequestToken: rand.Text(), kid: "test-" + rand.Text()[:8]}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewUnstartedServer(nil)
	p.URL = "http://" + p.srv.Listener.Addr().String()
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	p.op, err = op.NewProvider(&op.Config{CryptoKey: cryptoKey, CodeMethodS256: true, AuthMethodPost: true,
		SupportedScopes: []string{"openid", "email", "profile", "groups"}}, &storage{p}, op.StaticIssuer(p.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /ci/token", p.ciToken)
	mux.Handle("/", p.op)
	p.srv.Config.Handler = p.gate(mux)
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// gate answers 503 while the provider is down, after the delay if any.
func (p *Provider) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down, delay := p.down, p.delay
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		aud := p.tamper.Audience
		p.mu.Unlock()
		if aud != nil && r.URL.Path == p.op.TokenEndpoint().Relative() {
			// The library always names the client in "aud": to hand out a
			// token for another audience, the answer is re-signed.
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := p.withAudience(rec.Body.Bytes(), aud)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AddClient registers a relying party (a confidential web client).
func (p *Provider) AddClient(id, secret string, redirectURIs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[id] = &client{p: p, id: id, secret: secret, redirects: redirectURIs}
}

// AddUser adds or replaces a user.
func (p *Provider) AddUser(u User) {
	if u.Subject == "" {
		u.Subject = "sub-" + u.Username
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Username] = &u
}

// SetGroups changes a user's groups, as a directory change would.
func (p *Provider) SetGroups(username string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[username].Groups = groups
}

// SetTamper makes the next ID tokens misbehave; Tamper{} ends it.
func (p *Provider) SetTamper(t Tamper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = t
}

// SetDown makes every endpoint answer 503 (true) or work again (false).
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// SetDelay makes every answer wait (a slow provider).
func (p *Provider) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

func (p *Provider) user(subject string) *User {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.users {
		if u.Subject == subject {
			return u
		}
	}
	return nil
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.}}">
<label for="idp-username">Username</label>
<input id="idp-username" name="username" autocomplete="off">
<button type="submit" id="idp-sign-in">Sign in</button>
</form></body></html>`))

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loginTmpl.Execute(w, r.URL.Query().Get("authRequestID"))
}

// login signs the typed user in and sends the browser back through the
// provider's callback, which redirects to the relying party with a code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id, name := r.PostFormValue("id"), r.PostFormValue("username")
	p.mu.Lock()
	req, okReq := p.requests[id]
	u, okUser := p.users[name]
	if okReq && okUser {
		req.subject = u.Subject
		req.authTime = time.Now()
	}
	p.mu.Unlock()
	if !okReq || !okUser {
		http.Error(w, "unknown user or sign-in", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, p.op.AuthorizationEndpoint().Absolute(p.URL)+"/callback?id="+id, http.StatusFound)
}

// GitHubClaims are claims shaped like a GitHub Actions ID token's.
func GitHubClaims(repository, ref, environment string) map[string]any {
	owner, _, _ := strings.Cut(repository, "/")
	return map[string]any{
		"sub":              "repo:" + repository + ":environment:" + environment,
		"repository":       repository,
		"repository_owner": owner,
		"ref":              ref,
		"ref_type":         "branch",
		"environment":      environment,
		"workflow_ref":     repository + "/.github/workflows/release.yml@" + ref,
		"event_name":       "push",
		"run_id":           "1234567890",
		"actor":            "octocat",
		"jti":              rand.Text(),
	}
}

// GitLabClaims are claims shaped like a GitLab CI ID token's.
func GitLabClaims(projectPath, ref string) map[string]any {
	ns, _, _ := strings.Cut(projectPath, "/")
	return map[string]any{
		"sub":            "project_path:" + projectPath + ":ref_type:branch:ref:" + ref,
		"project_path":   projectPath,
		"namespace_path": ns,
		"ref":            ref,
		"ref_type":       "branch",
		"ref_protected":  "true",
		"pipeline_id":    "4242",
		"user_login":     "tanuki",
		"jti":            rand.Text(),
	}
}

// withAudience re-signs the id_token of a token answer with another "aud".
func (p *Provider) withAudience(body []byte, aud []string) []byte {
	var answer map[string]any
	if json.Unmarshal(body, &answer) != nil {
		return body
	}
	raw, _ := answer["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return body
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return body
	}
	claims["aud"] = aud
	answer["id_token"] = p.sign(claims)
	out, _ := json.Marshal(answer)
	return out
}

// IssueToken signs an ID token for audience with the claims, valid for
// lifetime (negative: expired already), the way a CI system issues one.
func (p *Provider) IssueToken(audience string, claims map[string]any, lifetime time.Duration) string {
	now := time.Now()
	all := map[string]any{"iss": p.URL, "aud": audience, "iat": now.Add(-time.Second).Unix(),
		"nbf": now.Add(-time.Second).Unix(), "exp": now.Add(lifetime).Unix()}
	for k, v := range claims {
		all[k] = v
	}
	return p.sign(all)
}

// sign makes a JWT of the claims with the provider's key (the rogue one
// under Tamper.Rogue).
func (p *Provider) sign(all map[string]any) string {
	p.mu.Lock()
	key := p.key
	if p.tamper.Rogue {
		key = p.rogue
	}
	p.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(all)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// SetCIClaims sets the claims the GitHub-like token endpoint issues.
func (p *Provider) SetCIClaims(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ciClaims = claims
}

// ActionsEnv is what a GitHub Actions job with "id-token: write" has: the
// URL and bearer token to ask for ID tokens.
func (p *Provider) ActionsEnv() (requestURL, requestToken string) {
	return p.URL + "/ci/token?api-version=2.0", p.ciRequestToken
}

// ciToken answers like GitHub's ACTIONS_ID_TOKEN_REQUEST_URL: a bearer
// token proves the job, ?audience= chooses the audience, the answer is
// {"value": "<jwt>"}.
func (p *Provider) ciToken(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	want, claims := p.ciRequestToken, p.ciClaims
	p.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+want || claims == nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	fresh := map[string]any{}
	for k, v := range claims {
		fresh[k] = v
	}
	fresh["jti"] = rand.Text()
	tok := p.IssueToken(r.URL.Query().Get("audience"), fresh, 5*time.Minute)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"count":1,"value":%q}`, tok)
}

// authRequest is one authorization request in flight.
type authRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	challenge                               *oidc.CodeChallenge
	subject                                 string
	authTime                                time.Time
	p                                       *Provider
}

func (a *authRequest) GetID() string       { return a.id }
func (a *authRequest) GetACR() string      { return "" }
func (a *authRequest) GetAMR() []string    { return []string{"pwd"} }
func (a *authRequest) GetClientID() string { return a.clientID }
func (a *authRequest) GetAudience() []string {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	if a.p.tamper.Audience != nil {
		return a.p.tamper.Audience
	}
	return []string{a.clientID}
}
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return oidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return "" }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.subject != "" }
func (a *authRequest) GetNonce() string {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	if a.p.tamper.Nonce != "" {
		return a.p.tamper.Nonce
	}
	return a.nonce
}

// client is a registered relying party.
type client struct {
	p          *Provider
	id, secret string
	redirects  []string
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.p.URL + "/login?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) DevMode() bool                        { return true }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IDTokenLifetime() time.Duration {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.p.tamper.Lifetime != 0 {
		return c.p.tamper.Lifetime
	}
	return 5 * time.Minute
}
