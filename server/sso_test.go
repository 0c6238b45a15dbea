package server

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// Single sign-on against a real OpenID provider (service/idp/idptest, on
// zitadel's op), with the server in process and a cookie-keeping client
// that follows the redirects between the two as a browser does.

const testSealKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// ssoEnv is a server and an OpenID provider: from newSSOEnv, with
// organization acme, its private channel lab, and a provider whose users
// sign in to acme; from newIDPEnv, with nothing configured.
type ssoEnv struct {
	*fixture
	idp *idptest.Provider
}

// newSSOEnv is newIDPEnv with acme, lab and acme's single sign-on.
func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	e := newIDPEnv(t)
	f := e.fixture
	admin := basic("admin", testPassword)
	if a := f.do(call{method: "POST", path: "/api/orgs", auth: admin, body: map[string]any{"name": "acme"}}); a.status != http.StatusCreated {
		t.Fatalf("creating acme: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "lab", "visibility": "private", "owner": "acme"}}); a.status != http.StatusCreated {
		t.Fatalf("creating lab: %d %s", a.status, a.body)
	}
	a := f.do(call{method: "PUT", path: "/api/orgs/acme/sso", auth: admin, body: map[string]any{
		"issuer": e.idp.URL, "client_id": "gatehouse", "client_secret": "client-s3cret", "domains": []string{"acme.example"},
		"group_roles": map[string]string{"eng": "member", "leads": "admin"}, "group_channels": map[string]any{"eng": map[string]string{"lab": "write"}}}})
	if a.status != http.StatusOK {
		t.Fatalf("configuring SSO: %d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), "client-s3cret") {
		t.Fatalf("the configuration shows the client secret: %s", a.body)
	}
	return e
}

// newIDPEnv is a server that can seal client secrets and reach a provider,
// with its clock on the provider's, and the provider, which knows the
// server as client gatehouse (secret client-s3cret) and has the user
// carol (carol@acme.example, group eng). Nothing is configured yet.
func newIDPEnv(t *testing.T) *ssoEnv {
	t.Helper()
	f := newFixture(t, func(c *Config) {
		key, _ := secret.ParseSealKey(testSealKey)
		c.SecretKey = key
		c.IDPClient = &http.Client{Timeout: 2 * time.Second}
	})
	// Tokens are stamped by the provider's clock: the server's must agree.
	f.clock.mu.Lock()
	f.clock.t = time.Now().UTC()
	f.clock.mu.Unlock()
	e := &ssoEnv{fixture: f, idp: idptest.Start(t)}
	e.idp.AddClient("gatehouse", "client-s3cret", "http://gatehouse.test/login/sso/callback")
	e.idp.AddUser(idptest.User{Username: "carol", Email: "carol@acme.example", EmailVerified: true, Groups: []string{"eng"}})
	return e
}

func (e *ssoEnv) confirm() {
	e.t.Helper()
	if a := e.do(call{method: "POST", path: "/api/admin/sso-domains/acme.example/confirm", auth: basic("admin", testPassword),
		body: map[string]any{"org": "acme"}}); a.status != http.StatusNoContent {
		e.t.Fatalf("confirming the domain: %d %s", a.status, a.body)
	}
}

// handlerTransport sends requests for gatehouse.test to the server in
// process and everything else to the network (the provider on loopback).
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "gatehouse.test" {
		return http.DefaultTransport.RoundTrip(r)
	}
	w := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	r2.RemoteAddr = "192.0.2.7:4000"
	r2.RequestURI = r.URL.RequestURI()
	ht.h.ServeHTTP(w, r2)
	res := w.Result()
	res.Request = r
	return res, nil
}

// browser is a cookie-keeping client; stopAt, when set, stops before
// following a redirect to that path (to capture a callback URL).
type ssoBrowser struct {
	c      *http.Client
	stopAt string
}

func (e *ssoEnv) browser() *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	b := &ssoBrowser{}
	b.c = &http.Client{Jar: jar, Transport: handlerTransport{e.srv}, Timeout: 10 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if b.stopAt != "" && r.URL.Path == b.stopAt {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *ssoBrowser) get(t *testing.T, u string) page {
	t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(t, res)
}

func readPage(t *testing.T, res *http.Response) page {
	t.Helper()
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, body: string(body), header: res.Header}
}

// signIn starts at the email step and signs in at the provider as
// idpUser; it returns the page the browser ends on.
func (b *ssoBrowser) signIn(t *testing.T, email, idpUser string) page {
	t.Helper()
	p := b.get(t, "http://gatehouse.test/login?email="+url.QueryEscape(email)+"&next=/channels")
	if p.url.Host == "gatehouse.test" {
		return p // no provider: the password step, or an error
	}
	if p.url.Path != "/login" || p.status != http.StatusOK {
		t.Fatalf("expected the provider's sign-in page, got %d %s", p.status, p.url)
	}
	res, err := b.c.PostForm(p.url.Scheme+"://"+p.url.Host+"/login", url.Values{"id": {p.url.Query().Get("authRequestID")}, "username": {idpUser}})
	if err != nil {
		t.Fatalf("signing in at the provider: %v", err)
	}
	return readPage(t, res)
}

func (e *ssoEnv) user(name string) *gatehouse.User {
	e.t.Helper()
	u, err := e.store.UserByName(context.Background(), name)
	if err != nil {
		e.t.Fatalf("user %s: %v", name, err)
	}
	return u
}

func TestSSOSignInCreatesTheAccountAndFollowsGroups(t *testing.T) {
	e := newSSOEnv(t)
	b := e.browser()

	t.Run("before a server administrator confirms the claim, the address gets the password step (checklist K3)", func(t *testing.T) {
		p := b.signIn(t, "carol@acme.example", "carol")
		if p.url.Host != "gatehouse.test" || !strings.Contains(p.body, `id="password"`) {
			t.Fatalf("ended at %s (%d), want the password step", p.url, p.status)
		}
	})
	e.confirm()

	var key string
	t.Run("the first sign-in creates the account, makes it a member and gives the group's channel", func(t *testing.T) {
		p := b.signIn(t, "carol@acme.example", "carol")
		if p.status != http.StatusOK || p.url.Host != "gatehouse.test" || p.url.Path != "/channels" {
			t.Fatalf("ended at %s (%d):\n%s", p.url, p.status, p.body)
		}
		carol := e.user("carol")
		if carol.Email != "carol@acme.example" || carol.PasswordHash != "" {
			t.Errorf("carol = %+v", carol)
		}
		acme, _ := e.store.OrgByName(context.Background(), "acme")
		m, err := e.store.OrgMember(context.Background(), acme.ID, carol.ID)
		if err != nil || m.Role != gatehouse.OrgMember {
			t.Fatalf("membership = %+v, %v", m, err)
		}
		nk, err := e.srv.Services().Keys.CreateKey(context.Background(), &gatehouse.Principal{User: carol, Method: gatehouse.AuthSession},
			gatehouse.KeyRequest{Name: "laptop", Scopes: gatehouse.ScopeChannels | gatehouse.ScopeUser, ExpiresAt: e.clock.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		key = nk.Secret
		if a := e.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(key)}); a.status != http.StatusOK {
			t.Fatalf("carol's key on lab: %d %s", a.status, a.body)
		}
	})

	t.Run("losing the group takes the membership and the grant away, through the keys too (checklist K4)", func(t *testing.T) {
		e.idp.SetGroups("carol")
		// Another browser: this one's session would skip the sign-in.
		if p := e.browser().signIn(t, "carol@acme.example", "carol"); p.status != http.StatusOK || p.url.Path != "/channels" {
			t.Fatalf("signing in again ended at %s (%d)", p.url, p.status)
		}
		a := e.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(key)})
		if a.status != http.StatusForbidden || !strings.Contains(string(a.body), "ACCESS DENIED") {
			t.Fatalf("carol's key on lab after losing the group: %d %s", a.status, a.body)
		}
		acme, _ := e.store.OrgByName(context.Background(), "acme")
		if _, err := e.store.OrgMember(context.Background(), acme.ID, e.user("carol").ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("carol is still a member: %v", err)
		}
	})

	t.Run("the audit log records the sign-ins and the changes the groups made", func(t *testing.T) {
		events, _ := e.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: gatehouse.AuditSSOSync})
		if len(events) != 2 {
			t.Errorf("%d sync events, want 2 (given, taken back)", len(events))
		}
	})
}

func TestSSORefusals(t *testing.T) {
	e := newSSOEnv(t)
	e.confirm()
	e.idp.AddUser(idptest.User{Username: "unverified", Email: "u@acme.example", EmailVerified: false})
	e.idp.AddUser(idptest.User{Username: "outsider", Email: "o@elsewhere.example", EmailVerified: true})
	e.idp.AddUser(idptest.User{Username: "twin", Email: "alice@acme.example", EmailVerified: true})
	alice := e.user("admin")
	alice.Email = "alice@acme.example"
	if err := e.store.UpdateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, p page, want string) {
		t.Helper()
		if p.status < 400 || !strings.Contains(p.body, want) {
			t.Fatalf("ended at %s with %d, want a refusal saying %q:\n%s", p.url, p.status, want, p.body)
		}
		for _, c := range e.browserCookies(p) {
			if strings.Contains(c, "gatehouse_session") {
				t.Errorf("a refused sign-in set a session cookie")
			}
		}
	}
	tests := []struct {
		name   string
		tamper idptest.Tamper
		user   string
		want   string
	}{
		{"an ID token for another audience is refused (checklist K2)", idptest.Tamper{Audience: []string{"someone-else"}}, "carol", "another audience"},
		{"an expired ID token is refused (checklist K2)", idptest.Tamper{Lifetime: -time.Minute}, "carol", "expired"},
		{"an ID token with a bad signature is refused (checklist K2)", idptest.Tamper{Rogue: true}, "carol", "signature"},
		{"an ID token with a wrong nonce is refused (checklist K1)", idptest.Tamper{Nonce: "not-the-nonce"}, "carol", "nonce"},
		{"an address the provider has not verified is refused (checklist K3)", idptest.Tamper{}, "unverified", "not verified"},
		{"an address in a domain nobody claimed is refused (checklist K3)", idptest.Tamper{}, "outsider", "not in a domain"},
		{"an existing local account with the same address is never taken over (checklist K3)", idptest.Tamper{}, "twin", "exists already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.idp.SetTamper(tt.tamper)
			defer e.idp.SetTamper(idptest.Tamper{})
			refused(t, e.browser().signIn(t, "carol@acme.example", tt.user), tt.want)
		})
	}
	if _, err := e.store.UserByName(context.Background(), "carol"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("a refused sign-in created an account: %v", err)
	}
	if us, _ := e.store.UsersByEmail(context.Background(), "o@elsewhere.example"); len(us) != 0 {
		t.Errorf("the outsider got an account")
	}

	t.Run("a wrong, missing or replayed state, or another browser, is refused (checklist K1)", func(t *testing.T) {
		b := e.browser()
		b.stopAt = "/login/sso/callback"
		p := b.signIn(t, "carol@acme.example", "carol")
		loc := p.header.Get("Location")
		if !strings.HasPrefix(loc, "http://gatehouse.test/login/sso/callback?") {
			t.Fatalf("stopped at %s with Location %q", p.url, loc)
		}
		cb, _ := url.Parse(loc)
		wrong := *cb
		q := wrong.Query()
		q.Set("state", strings.Repeat("A", 43))
		wrong.RawQuery = q.Encode()
		b.stopAt = ""
		refused(t, b.get(t, wrong.String()), "unknown")
		noState := *cb
		q.Del("state")
		noState.RawQuery = q.Encode()
		refused(t, b.get(t, noState.String()), "without a valid state")
		refused(t, e.browser().get(t, cb.String()), "another browser")
		// The state was spent by the other browser's attempt: the real
		// one cannot use it either.
		refused(t, b.get(t, cb.String()), "unknown")
	})

	t.Run("a provider that is down gives a clear page, and the password step still works (checklist K8)", func(t *testing.T) {
		b := e.browser()
		b.stopAt = "/login/sso/callback"
		p := b.signIn(t, "carol@acme.example", "carol")
		cb := p.header.Get("Location")
		e.idp.SetDown(true)
		defer e.idp.SetDown(false)
		b.stopAt = ""
		got := b.get(t, cb)
		if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "did not answer") {
			t.Fatalf("callback while the provider is down: %d\n%s", got.status, got.body)
		}
		if a := e.do(call{method: "GET", path: "/api/account", auth: basic("admin", testPassword)}); a.status != http.StatusOK {
			t.Errorf("password sign-in while the provider is down: %d", a.status)
		}
	})
}

// browserCookies lists the Set-Cookie headers of the last answer.
func (e *ssoEnv) browserCookies(p page) []string { return p.header.Values("Set-Cookie") }

func TestSSORequiredRefusesPasswordSignIn(t *testing.T) { // checklist K5
	e := newSSOEnv(t)
	e.confirm()
	e.user2("erin")
	admin := basic("admin", testPassword)
	if a := e.do(call{method: "PUT", path: "/api/orgs/acme/members/erin", auth: admin, body: map[string]any{"role": "member"}}); a.status != http.StatusNoContent {
		t.Fatalf("adding erin: %d %s", a.status, a.body)
	}
	if a := e.do(call{method: "GET", path: "/api/account", auth: basic("erin", testPassword)}); a.status != http.StatusOK {
		t.Fatalf("before SSO is required: %d", a.status)
	}
	a := e.do(call{method: "PUT", path: "/api/orgs/acme/sso", auth: admin, body: map[string]any{
		"issuer": e.idp.URL, "client_id": "gatehouse", "domains": []string{"acme.example"}, "required": true}})
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"client_secret_set":true`) {
		t.Fatalf("requiring SSO (the secret kept): %d %s", a.status, a.body)
	}
	a = e.do(call{method: "GET", path: "/api/account", auth: basic("erin", testPassword)})
	if a.status != http.StatusForbidden || !strings.Contains(string(a.body), "acme requires its members to sign in through its identity provider") {
		t.Errorf("erin's password over HTTP Basic: %d %s", a.status, a.body)
	}
	if a := e.do(call{method: "GET", path: "/api/account", auth: admin}); a.status != http.StatusOK {
		t.Errorf("a server administrator is exempt: %d %s", a.status, a.body)
	}
}

func (f *fixture) user2(name string) *gatehouse.User { return f.user(name, false) }

// A banner after sign-in lists the keys that expire within the warning
// window, once.
func TestSignInBannerListsKeysExpiringSoon(t *testing.T) {
	e := newSSOEnv(t)
	if _, err := e.srv.Services().Keys.CreateKey(context.Background(), adminPrincipal(e.fixture),
		gatehouse.KeyRequest{Name: "old-laptop", Scopes: gatehouse.ScopeUser, ExpiresAt: e.clock.Now().Add(3 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	p := b.get(t, "http://gatehouse.test/login?email=admin")
	token := formFields(p.body).Get("csrf_token")
	res, err := b.c.PostForm("http://gatehouse.test/login", url.Values{"csrf_token": {token}, "username": {"admin"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	first := readPage(t, res)
	if !strings.Contains(first.body, `id="expiry-banner"`) || !strings.Contains(first.body, "“old-laptop”") {
		t.Fatalf("no banner after sign-in on %s:\n%s", first.url, first.body)
	}
	if again := b.get(t, "http://gatehouse.test/settings/keys"); strings.Contains(again.body, `id="expiry-banner"`) {
		t.Error("the banner shows again on the next page")
	} else if !strings.Contains(again.body, "data-expiring") {
		t.Error("the keys list does not flag the key")
	}
}
