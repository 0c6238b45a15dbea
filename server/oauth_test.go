package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
	"golang.org/x/oauth2"
)

func TestOAuthDiscoveryNamesTheEndpoints(t *testing.T) {
	e := newOAuthEnv(t)
	_, doc := e.discover(t)
	want := map[string]any{
		"issuer":                                e.ts.URL,
		"authorization_endpoint":                e.ts.URL + "/oauth/authorize",
		"token_endpoint":                        e.ts.URL + "/oauth/token",
		"device_authorization_endpoint":         e.ts.URL + "/oauth/device/code",
		"response_types_supported":              []any{"code"},
		"grant_types_supported":                 []any{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code"},
		"code_challenge_methods_supported":      []any{"S256"},
		"token_endpoint_auth_methods_supported": []any{"none"},
	}
	for k, v := range want {
		if got := doc[k]; !equalJSON(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	scopes, _ := doc["scopes_supported"].([]any)
	for _, s := range []string{"user", "channels", "cloud:read", "repo:read"} {
		if !containsAny(scopes, s) {
			t.Errorf("scopes_supported %v lacks %q", scopes, s)
		}
	}
}

func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The whole code flow as a CLI runs it, with golang.org/x/oauth2 as the
// client: discovery, PKCE S256, the browser's consent, the exchange, and
// the key the token creates.
func TestOAuthCodeFlowWithPKCEEndsInAWorkingKey(t *testing.T) {
	e := newOAuthEnv(t)
	alice := e.addUser("alice", false)
	cfg := e.cliConfig(t, "openid", "email", "profile", "offline_access")
	verifier := oauth2.GenerateVerifier()
	state := "state-" + secret.Token()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("client_name", "cli-buildhost"))

	b := e.browser()
	b.signIn("alice", webTestPassword)
	page := e.consent(t, b, authURL)
	t.Run("the consent page names the machine, the program, the account and the scopes", func(t *testing.T) {
		assertContains(t, "consent page", page.Body, `<strong>cli-buildhost</strong>`, "the Gatehouse command line",
			`<dd id="consent-account"><strong>alice</strong></dd>`, "User resources", "Platform channels",
			`id="consent-approve"`, `id="consent-deny"`)
		if strings.Contains(page.Body, "Administration") {
			t.Error("a CLI login offers the Administration scope")
		}
	})
	t.Run("the consent page lets its form redirect to the loopback origin, and nothing else changes in the CSP", func(t *testing.T) {
		csp := page.Header.Get("Content-Security-Policy")
		assertContains(t, "CSP", csp, "form-action 'self' http://127.0.0.1:43117", "frame-ancestors 'none'", "script-src 'self'", "base-uri 'none'")
		if page.Header.Get("X-Frame-Options") != "DENY" || page.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", page.Header)
		}
	})

	q := redirectQuery(t, decide(b, page, "/oauth/authorize", "approve"))
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q echoed (the CLI refuses any other: checklist D1)", q.Get("state"), state)
	}
	tok, err := cfg.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, login.AccessTokenPrefix) || tok.TokenType != "Bearer" || tok.ExpiresIn != 600 {
		t.Errorf("token %q type %q expires_in %d; want gat-..., Bearer, 600", tok.AccessToken[:4], tok.TokenType, tok.ExpiresIn)
	}
	if got := tok.Extra("scope"); got != "user channels" {
		t.Errorf("scope = %v, want the default of a login naming none of ours: \"user channels\"", got)
	}

	r := e.apiCall(http.MethodPost, "/api/iam/api-keys", "Bearer "+tok.AccessToken,
		`{"scopes": ["cloud:read", "cloud:write", "repo:read"], "tags": ["anaconda-auth/v0.15"]}`,
		http.Header{"X-Client-Hostname": {"buildhost"}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("creating the key: %d %s", r.StatusCode, r.Body)
	}
	created := jsonOf(t, r)
	key, _ := created["api_key"].(string)
	// anaconda-auth (its tag) gets the JWT form it decodes.
	if apikey.CheckJWT(key) != nil || created["name"] != "cli-buildhost" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("created %v, Cache-Control %q", created, r.Header.Get("Cache-Control"))
	}
	if !equalJSON(created["scopes"], []any{"user", "channels"}) {
		t.Errorf("scopes = %v, want [user channels]", created["scopes"])
	}
	wantExpiry := e.clock().UTC().Truncate(time.Second).Add(gatehouse.Days(gatehouse.DefaultKeyDays)).Format(time.RFC3339)
	if created["expires_at"] != wantExpiry {
		t.Errorf("expires_at = %v, want the default %d days from now, %s", created["expires_at"], gatehouse.DefaultKeyDays, wantExpiry)
	}
	if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusOK {
		t.Errorf("the new key on /api/account: %d %s", r.StatusCode, r.Body)
	}
	keys := e.keys(alice)
	if len(keys) != 1 || keys[0].CreatedVia != string(gatehouse.AuthOAuth) {
		t.Errorf("keys = %+v, want one, created via oauth", keys)
	}
	assertAudited(t, e, gatehouse.AuditOAuthApprove, gatehouse.AuditOAuthToken, gatehouse.AuditKeyCreate)
}

// assertAudited fails unless each action has a successful event.
func assertAudited(t *testing.T, e *oauthEnv, actions ...string) {
	t.Helper()
	for _, a := range actions {
		evs, err := e.store.ListAudit(t.Context(), gatehouse.AuditFilter{Action: a})
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, ev := range evs {
			ok = ok || ev.Success
		}
		if !ok {
			t.Errorf("no successful %s in the audit log (%d events)", a, len(evs))
		}
	}
}

// codeLogin is one approved authorization waiting to be exchanged.
type codeLogin struct {
	cfg      *oauth2.Config
	verifier string
	code     string
}

func (e *oauthEnv) approvedCode(t *testing.T, b *webBrowser) codeLogin {
	t.Helper()
	cfg := e.cliConfig(t)
	verifier := oauth2.GenerateVerifier()
	q := e.approveCode(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	return codeLogin{cfg: cfg, verifier: verifier, code: q.Get("code")}
}

// exchangeForm is the token request for l, as anaconda-auth posts it.
func (l codeLogin) exchangeForm() url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {"gatehouse-cli"}, "code": {l.code},
		"redirect_uri": {loopback}, "code_verifier": {l.verifier}}
}

// checklist D1: a replayed code, one used after its lifetime, with the
// wrong verifier, redirect URI or client: 400 invalid_grant (or
// invalid_client), and no token, so no key.
func TestOAuthCodeExchangeRefusals(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *oauthEnv, f url.Values)
		want   string
	}{
		{"a wrong code verifier", func(e *oauthEnv, f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, "invalid_grant"},
		{"a verifier that is the challenge itself", func(e *oauthEnv, f url.Values) { f.Set("code_verifier", s256(f.Get("code_verifier"))) }, "invalid_grant"},
		{"no code verifier", func(e *oauthEnv, f url.Values) { f.Del("code_verifier") }, "invalid_request"},
		{"another redirect URI", func(e *oauthEnv, f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:43118/callback") }, "invalid_grant"},
		{"another client", func(e *oauthEnv, f url.Values) {
			f.Set("client_id", "b4ad7f1d-c784-46b5-a9fe-106e50441f5a")
		}, "invalid_grant"},
		{"an unknown client", func(e *oauthEnv, f url.Values) { f.Set("client_id", "evil") }, "invalid_client"},
		{"a code that does not exist", func(e *oauthEnv, f url.Values) { f.Set("code", secret.Token()) }, "invalid_grant"},
		{"the code after 5 minutes", func(e *oauthEnv, f url.Values) { e.advance(codeLifetime) }, "invalid_grant"},
		{"the code after 10 minutes", func(e *oauthEnv, f url.Values) { e.advance(10 * time.Minute) }, "invalid_grant"},
		{"an unknown grant type", func(e *oauthEnv, f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
		{"a parameter sent twice", func(e *oauthEnv, f url.Values) { f.Add("code", f.Get("code")) }, "invalid_request"},
	}
	for _, c := range cases {
		t.Run("exchanging a code with "+c.name+" is refused and mints nothing", func(t *testing.T) {
			e := newOAuthEnv(t)
			e.addUser("alice", false)
			b := e.browser()
			b.signIn("alice", webTestPassword)
			l := e.approvedCode(t, b)
			form := l.exchangeForm()
			c.mutate(e, form)
			status, body, h := e.postForm(t, "/oauth/token", form)
			if status != http.StatusBadRequest || body["error"] != c.want || body["error_description"] == "" {
				t.Errorf("status %d body %v, want 400 %s with a description", status, body, c.want)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
			if n := e.rows(t, "oauth_tokens"); n != 0 {
				t.Errorf("%d access tokens exist after a refused exchange", n)
			}
			if n := e.rows(t, "api_keys"); n != 0 {
				t.Errorf("%d keys exist", n)
			}
		})
	}

	t.Run("a code is used once: the replay is refused, mints nothing, and takes back what the code issued", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.addUser("alice", false)
		b := e.browser()
		b.signIn("alice", webTestPassword)
		l := e.approvedCode(t, b)
		if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier)); err != nil {
			t.Fatal(err)
		}
		_, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest || re.ErrorCode != "invalid_grant" {
			t.Fatalf("replay: %v, want 400 invalid_grant", err)
		}
		// checklist D9: a replayed code may be a stolen one, so the token
		// its first use issued is gone too.
		if n := e.rows(t, "oauth_tokens"); n != 0 {
			t.Errorf("%d access tokens, want none: the replay revokes what the code issued", n)
		}
		evs, _ := e.store.ListAudit(t.Context(), gatehouse.AuditFilter{Action: gatehouse.AuditOAuthToken})
		if len(evs) != 2 || evs[0].Success || !evs[1].Success || evs[0].ActorID == 0 {
			t.Errorf("audit %+v, want the token issued and then the refused replay, naming the user", evs)
		}
	})

	t.Run("a code presented with a wrong verifier is burnt: the right verifier then fails too", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.addUser("alice", false)
		b := e.browser()
		b.signIn("alice", webTestPassword)
		l := e.approvedCode(t, b)
		if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Fatal("a wrong verifier was accepted")
		}
		if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier)); err == nil {
			t.Fatal("the code still worked after a wrong verifier was tried")
		}
	})

	t.Run("a code just inside its lifetime still works", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.addUser("alice", false)
		b := e.browser()
		b.signIn("alice", webTestPassword)
		l := e.approvedCode(t, b)
		e.advance(codeLifetime - time.Second)
		if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier)); err != nil {
			t.Fatalf("Exchange at %v: %v", codeLifetime-time.Second, err)
		}
	})
}

func TestOAuthDenyGoesBackAsAccessDenied(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	cfg := e.cliConfig(t)
	authURL := cfg.AuthCodeURL("the-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	q := redirectQuery(t, decide(b, e.consent(t, b, authURL), "/oauth/authorize", "deny"))
	if q.Get("error") != "access_denied" || q.Get("state") != "the-state" || q.Has("code") {
		t.Errorf("redirect query %v, want error=access_denied, the state, no code", q)
	}
	if n := e.rows(t, "oauth_grants"); n != 0 {
		t.Errorf("a denial stored %d grants", n)
	}
	assertAudited(t, e, gatehouse.AuditOAuthDeny)
}

func TestOAuthAuthorizeSignedOutSignsInAndComesBack(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	cfg := e.cliConfig(t)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("client_name", "cli-laptop"))
	b := e.browser()
	r := b.get(e.local(t, authURL))
	wantLoc := "/login?next=" + url.QueryEscape(e.local(t, authURL))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != wantLoc {
		t.Fatalf("signed out: %d %q, want 303 %q", r.StatusCode, r.Header.Get("Location"), wantLoc)
	}
	login := b.get(r.Header.Get("Location") + "&email=alice") // the password step of the sign-in page
	form := url.Values{"username": {"alice"}, "password": {webTestPassword}, "next": {formFields(login.Body).Get("next")},
		"csrf_token": {formFields(login.Body).Get("csrf_token")}}
	r = b.do(http.MethodPost, "/login", form)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != e.local(t, authURL) {
		t.Fatalf("after signing in: %d %q, want back to %q", r.StatusCode, r.Header.Get("Location"), e.local(t, authURL))
	}
	assertContains(t, "consent page after signing in", e.consent(t, b, authURL).Body, "cli-laptop")
}

// A request whose client or redirect URI is not right gets an error page:
// never a redirect to an address nobody checked (RFC 6749 §4.1.2.1).
func TestOAuthAuthorizeRefusesUnknownClientsAndNonLoopbackRedirects(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	challenge := s256(oauth2.GenerateVerifier())
	authorize := func(clientID, redirect string) *webResp {
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {"s"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		return b.get("/oauth/authorize?" + q.Encode())
	}
	bad := []struct{ why, client, redirect string }{
		{"an unknown client", "evil-cli", loopback},
		{"no client", "", loopback},
		{"no redirect URI", "gatehouse-cli", ""},
		{"https to loopback", "gatehouse-cli", "https://127.0.0.1:8000/cb"},
		{"another host", "gatehouse-cli", "http://evil.example/cb"},
		{"a host that starts like loopback", "gatehouse-cli", "http://127.0.0.1.evil.example/cb"},
		{"user info hiding another host", "gatehouse-cli", "http://127.0.0.1:80@evil.example/cb"},
		{"user info before loopback", "gatehouse-cli", "http://evil.example@127.0.0.1/cb"},
		{"a backslash trick", "gatehouse-cli", `http://127.0.0.1\@evil.example/cb`},
		{"a fragment", "gatehouse-cli", "http://127.0.0.1:8000/cb#x"},
		{"another loopback address", "gatehouse-cli", "http://127.0.0.2:8000/cb"},
		{"a port out of range", "gatehouse-cli", "http://127.0.0.1:65536/cb"},
		{"an empty port", "gatehouse-cli", "http://127.0.0.1:/cb"},
		{"an IPv6 zone", "gatehouse-cli", "http://[::1%25eth0]:8000/cb"},
		{"a custom scheme", "gatehouse-cli", "gatehouse://cb"},
		{"a relative URI", "gatehouse-cli", "/cb"},
		{"a javascript URI", "gatehouse-cli", "javascript:alert(1)"},
		// RFC 8252 §8.3: the name may resolve, or be served, elsewhere.
		{"localhost by name", "gatehouse-cli", "http://localhost:8000/auth/oidc"},
	}
	for _, c := range bad {
		t.Run("a request with "+c.why+" gets an error page", func(t *testing.T) {
			r := authorize(c.client, c.redirect)
			if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(r.Body, `id="page-error"`) {
				t.Errorf("status %d, Location %q; want 400 and an error page", r.StatusCode, r.Header.Get("Location"))
			}
		})
	}
	good := []string{loopback, "http://127.0.0.1/cb", "http://[::1]:8000/auth/oidc", "http://127.0.0.1:8000/auth/oidc?from=cli", "http://127.0.0.1:65535"}
	for _, redirect := range good {
		t.Run("the loopback redirect "+redirect+" is accepted", func(t *testing.T) {
			if r := authorize("gatehouse-cli", redirect); r.StatusCode != http.StatusOK {
				t.Errorf("status %d %q", r.StatusCode, r.Header.Get("Location"))
			}
		})
	}
	t.Run("anaconda-auth's client ID is known", func(t *testing.T) {
		if r := authorize("b4ad7f1d-c784-46b5-a9fe-106e50441f5a", "http://127.0.0.1:8000/auth/oidc"); r.StatusCode != http.StatusOK {
			t.Errorf("status %d", r.StatusCode)
		}
	})
}

// Once the client and redirect URI are checked, other mistakes go back to
// the client with the state, as RFC 6749 §4.1.2.1 says.
func TestOAuthAuthorizeSendsOtherErrorsBackToTheClient(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	base := func() url.Values {
		return url.Values{"response_type": {"code"}, "client_id": {"gatehouse-cli"}, "redirect_uri": {loopback}, "state": {"s1"},
			"code_challenge": {s256(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	}
	cases := []struct {
		why    string
		mutate func(q url.Values)
		want   string
	}{
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"PKCE plain", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"a challenge that is not a SHA-256", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
		{"the implicit grant", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"no state", func(q url.Values) { q.Del("state") }, "invalid_request"},
		{"the state twice", func(q url.Values) { q.Add("state", "s2") }, "invalid_request"},
	}
	for _, c := range cases {
		t.Run("a request with "+c.why+" goes back with "+c.want, func(t *testing.T) {
			q := base()
			c.mutate(q)
			back := redirectQuery(t, b.get("/oauth/authorize?"+q.Encode()))
			if back.Get("error") != c.want || back.Has("code") {
				t.Errorf("redirect query %v, want error=%s", back, c.want)
			}
			if q.Get("state") != "" && len(q["state"]) == 1 && back.Get("state") != q.Get("state") {
				t.Errorf("state %q not echoed: %v", q.Get("state"), back)
			}
		})
	}
}

// checklist D3: the Approve button posted from another site, or without
// the session's CSRF token, is refused and stores no grant.
func TestOAuthApproveRefusesCrossSitePosts(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	cfg := e.cliConfig(t)
	page := e.consent(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	attacks := []struct {
		name    string
		mutate  func(f url.Values)
		headers map[string]string
	}{
		{"without the CSRF token", func(f url.Values) { f.Del("csrf_token") }, nil},
		{"with a wrong CSRF token", func(f url.Values) { f.Set("csrf_token", "AAAA"+f.Get("csrf_token")[4:]) }, nil},
		{"with Sec-Fetch-Site: cross-site", func(url.Values) {}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"from another Origin", func(url.Values) {}, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, a := range attacks {
		t.Run("approving "+a.name+" is refused", func(t *testing.T) {
			form := formFields(page.Body)
			form.Set("decision", "approve")
			a.mutate(form)
			b.headers = http.Header{}
			for k, v := range a.headers {
				b.headers.Set(k, v)
			}
			defer func() { b.headers = http.Header{} }()
			r := b.do(http.MethodPost, "/oauth/authorize", form)
			if r.StatusCode != http.StatusForbidden || r.Header.Get("Location") != "" {
				t.Errorf("status %d Location %q, want 403 and no redirect", r.StatusCode, r.Header.Get("Location"))
			}
		})
	}
	if n := e.rows(t, "oauth_grants"); n != 0 {
		t.Errorf("refused approvals stored %d grants", n)
	}
	t.Run("approving signed out is refused", func(t *testing.T) {
		form := formFields(page.Body)
		form.Set("decision", "approve")
		if r := e.browser().do(http.MethodPost, "/oauth/authorize", form); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	t.Run("the same form with same-origin headers works", func(t *testing.T) {
		b.headers.Set("Sec-Fetch-Site", "same-origin")
		b.headers.Set("Origin", e.ts.URL)
		defer func() { b.headers = http.Header{} }()
		redirectQuery(t, decide(b, page, "/oauth/authorize", "approve"))
	})
}
