package server

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
	"github.com/gatehouse-dev/gatehouse/usercode"
	"golang.org/x/oauth2"
)

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// devicePoll is one token request of a device-flow client.
func (e *oauthEnv) devicePoll(t *testing.T, da *oauth2.DeviceAuthResponse) (int, map[string]any) {
	t.Helper()
	status, body, _ := e.postForm(t, "/oauth/token", url.Values{"grant_type": {grantTypeDevice},
		"client_id": {"gatehouse-cli"}, "device_code": {da.DeviceCode}})
	return status, body
}

func wantPoll(t *testing.T, status int, body map[string]any, want string) {
	t.Helper()
	if status != http.StatusBadRequest || body["error"] != want {
		t.Errorf("poll: %d %v, want 400 %s", status, body, want)
	}
}

// typeCode submits the /device form with what a person typed, using the
// page's CSRF token.
func typeCode(b *webBrowser, typed string) *webResp {
	return b.post("/device", "/device", url.Values{"user_code": {typed}})
}

// The device flow as a CLI on another machine runs it, with x/oauth2's
// DeviceAuth and DeviceAccessToken as the client.
func TestOAuthDeviceFlowEndsInAWorkingKey(t *testing.T) {
	e := newOAuthEnv(t)
	alice := e.addUser("alice", false)
	cfg := e.cliConfig(t, "openid", "repo:read")
	da, err := cfg.DeviceAuth(e.ctx, oauth2.SetAuthURLParam("client_name", "cli-ci-runner-7"))
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	t.Run("the device answer has a readable user code, both verification URIs, 10 minutes and 5 seconds", func(t *testing.T) {
		if !userCodeShape.MatchString(da.UserCode) {
			t.Errorf("user_code %q", da.UserCode)
		}
		if da.VerificationURI != e.ts.URL+"/device" || da.VerificationURIComplete != e.ts.URL+"/device?user_code="+da.UserCode {
			t.Errorf("verification URIs %q, %q", da.VerificationURI, da.VerificationURIComplete)
		}
		if left := time.Until(da.Expiry); left > 10*time.Minute || left < 9*time.Minute || da.Interval != 5 {
			t.Errorf("expires in %v, interval %d", left, da.Interval)
		}
		if len(da.DeviceCode) < 43 {
			t.Errorf("device_code %d characters long", len(da.DeviceCode))
		}
	})
	t.Run("polling before approval is pending, too fast is slow_down, at the interval pending again", func(t *testing.T) {
		status, body := e.devicePoll(t, da)
		wantPoll(t, status, body, "authorization_pending")
		e.advance(time.Second)
		status, body = e.devicePoll(t, da)
		wantPoll(t, status, body, "slow_down")
		e.advance(deviceInterval)
		status, body = e.devicePoll(t, da)
		wantPoll(t, status, body, "authorization_pending")
	})

	b := e.browser()
	b.signIn("alice", webTestPassword)
	page := b.get(e.local(t, da.VerificationURIComplete))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `value="`+da.UserCode+`"`) {
		t.Fatalf("the complete verification URI: %d, code not prefilled:\n%s", page.StatusCode, page.Body)
	}
	// Typed lower case, with spaces instead of the dash.
	consent := typeCode(b, " "+strings.ToLower(strings.Replace(da.UserCode, "-", " ", 1))+" ")
	if consent.StatusCode != http.StatusOK || !strings.Contains(consent.Body, `id="consent-form"`) {
		t.Fatalf("typing the code: %d\n%s", consent.StatusCode, consent.Body)
	}
	t.Run("the consent page names the machine, the account, the scopes and the code", func(t *testing.T) {
		assertContains(t, "device consent", consent.Body, "<strong>cli-ci-runner-7</strong>", "<strong>alice</strong>",
			"Platform channels", `<code id="consent-user-code">`+da.UserCode+`</code>`)
		if strings.Contains(consent.Body, "User resources") {
			t.Error("a login that asked for repo:read only offers User resources")
		}
		if csp := consent.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "form-action 'self' http") {
			t.Errorf("device consent CSP %q: form-action must stay 'self'", csp)
		}
	})
	done := decide(b, consent, "/device", "approve")
	if done.StatusCode != http.StatusOK || !strings.Contains(done.Body, "Sign-in approved") {
		t.Fatalf("approving: %d\n%s", done.StatusCode, done.Body)
	}

	e.advance(deviceInterval)
	da.Interval = 1 // the library waits this long, in real time, before it polls
	tok, err := cfg.DeviceAccessToken(e.ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, login.AccessTokenPrefix) || tok.Extra("scope") != "channels" {
		t.Errorf("token %q… scope %v", tok.AccessToken[:4], tok.Extra("scope"))
	}
	r := e.apiCall(http.MethodPost, "/api/auth/api-keys", "Bearer "+tok.AccessToken, `{"tags": ["gatehouse/test"]}`, nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("creating the key: %d %s", r.StatusCode, r.Body)
	}
	created := jsonOf(t, r)
	if created["name"] != "cli-ci-runner-7" || !equalJSON(created["scopes"], []any{"channels"}) {
		t.Errorf("key %v: want the machine's name and the login's scope", created)
	}
	if keys := e.keys(alice); len(keys) != 1 {
		t.Errorf("%d keys", len(keys))
	}
	t.Run("the device code is used once: polling again is invalid_grant", func(t *testing.T) {
		e.advance(deviceInterval)
		status, body := e.devicePoll(t, da)
		wantPoll(t, status, body, "invalid_grant")
		if n := e.rows(t, "oauth_tokens"); n != 1 {
			t.Errorf("%d tokens", n)
		}
	})
	t.Run("the code cannot be typed again", func(t *testing.T) {
		if r := typeCode(b, da.UserCode); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "is not valid") {
			t.Errorf("typing a used code: %d", r.StatusCode)
		}
	})
	assertAudited(t, e, gatehouse.AuditOAuthApprove, gatehouse.AuditOAuthToken, gatehouse.AuditKeyCreate)
}

func TestOAuthDeviceFlowDeniedIsAccessDenied(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	cfg := e.cliConfig(t)
	da, err := cfg.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("alice", webTestPassword)
	done := decide(b, typeCode(b, da.UserCode), "/device", "deny")
	if done.StatusCode != http.StatusOK || !strings.Contains(done.Body, "Sign-in denied") {
		t.Fatalf("denying: %d\n%s", done.StatusCode, done.Body)
	}
	da.Interval = 1
	_, err = cfg.DeviceAccessToken(e.ctx, da)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("DeviceAccessToken after denial: %v, want access_denied", err)
	}
	t.Run("approving after denying is refused", func(t *testing.T) {
		if r := decide(b, typeCode(b, da.UserCode), "/device", "approve"); r.StatusCode == http.StatusOK {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	assertAudited(t, e, gatehouse.AuditOAuthDeny)
	if n := e.rows(t, "oauth_tokens"); n != 0 {
		t.Errorf("%d tokens after a denial", n)
	}
}

func TestOAuthDeviceCodesExpireAfterTenMinutes(t *testing.T) { // checklist D4
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	cfg := e.cliConfig(t)
	da, err := cfg.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("alice", webTestPassword)
	e.advance(deviceLifetime - time.Second)
	if r := typeCode(b, da.UserCode); r.StatusCode != http.StatusOK {
		t.Fatalf("the code a second before expiry: %d", r.StatusCode)
	}
	e.advance(time.Second)
	status, body := e.devicePoll(t, da)
	wantPoll(t, status, body, "expired_token")
	if r := typeCode(b, da.UserCode); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "expired") {
		t.Errorf("typing an expired code: %d", r.StatusCode)
	}
	// Approving a consent page opened before expiry fails too.
	e.advance(-time.Second)
	consent := typeCode(b, da.UserCode)
	e.advance(time.Second)
	if r := decide(b, consent, "/device", "approve"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("approving after expiry: %d", r.StatusCode)
	}
}

func TestOAuthDevicePageSignedOutSignsInAndComesBack(t *testing.T) {
	e := newOAuthEnv(t)
	r := e.browser().get("/device?user_code=BCDF-GHJK")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape("/device?user_code=BCDF-GHJK") {
		t.Errorf("signed out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.browser().do(http.MethodPost, "/device", url.Values{"user_code": {"BCDF-GHJK"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST signed out: %d", r.StatusCode)
	}
}

// checklist D4: guessing user codes is throttled per account and per
// address long before the 20^8 codes could matter, and a throttled
// guess learns nothing, even when it is right.
func TestOAuthDeviceCodeGuessingIsThrottled(t *testing.T) {
	e := newOAuthEnv(t)
	for _, u := range []string{"mallory", "bob", "carol", "dave"} {
		e.addUser(u, false)
	}
	cfg := e.cliConfig(t)
	victim, err := cfg.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	guess := func(i int) string {
		code := usercode.New()
		for code == victim.UserCode {
			code = usercode.New()
		}
		return code
	}
	mallory := e.browser()
	mallory.signIn("mallory", webTestPassword)
	token := mallory.csrf("/device")
	try := func(b *webBrowser, token, code string) *webResp {
		return b.do(http.MethodPost, "/device", url.Values{"csrf_token": {token}, "user_code": {code}})
	}

	t.Run("one account gets 429 after a few wrong codes, and for all of 1000", func(t *testing.T) {
		first429 := -1
		for i := range 1000 {
			r := try(mallory, token, guess(i))
			switch {
			case r.StatusCode == http.StatusTooManyRequests && first429 < 0:
				first429 = i
				if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 {
					t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
				}
			case r.StatusCode == http.StatusBadRequest && first429 >= 0:
				t.Fatalf("guess %d was checked after the first 429 at %d", i, first429)
			case r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusTooManyRequests:
				t.Fatalf("guess %d: status %d", i, r.StatusCode)
			}
		}
		if first429 < 0 || first429 > 10 {
			t.Errorf("first 429 at guess %d, want within the account's 10", first429)
		}
		if r := try(mallory, token, victim.UserCode); r.StatusCode != http.StatusTooManyRequests || strings.Contains(r.Body, `id="consent-form"`) {
			t.Errorf("the right code while throttled: %d; want 429, not the consent page", r.StatusCode)
		}
	})
	t.Run("another account at the same address may still try, until the address's budget is spent", func(t *testing.T) {
		var accepted int
		for i, name := range []string{"bob", "carol", "dave"} {
			b := e.browser()
			b.signIn(name, webTestPassword)
			tok := b.csrf("/device")
			for j := range 10 {
				if r := try(b, tok, guess(i*10+j)); r.StatusCode == http.StatusBadRequest {
					accepted++
				}
			}
		}
		// mallory spent 10 of the address's 30; bob, carol and dave get
		// the other 20, though each alone could have had 10.
		if accepted != 20 {
			t.Errorf("%d wrong codes checked for the three other accounts, want the address's remaining 20", accepted)
		}
	})
	t.Run("after waiting, one more try is allowed: throttled, never locked", func(t *testing.T) {
		e.advance(time.Minute)
		if r := try(mallory, token, victim.UserCode); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="consent-form"`) {
			t.Errorf("the right code after waiting: %d", r.StatusCode)
		}
	})
}

func TestOAuthDeviceCodeRequests(t *testing.T) {
	e := newOAuthEnv(t)
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"an unknown client", url.Values{"client_id": {"evil"}}, "invalid_client"},
		{"no client", url.Values{"scope": {"openid"}}, "invalid_client"},
		{"the client twice", url.Values{"client_id": {"gatehouse-cli", "gatehouse-cli"}}, "invalid_request"},
	}
	for _, c := range cases {
		t.Run("a device code request with "+c.name+" is refused", func(t *testing.T) {
			status, body, _ := e.postForm(t, "/oauth/device/code", c.form)
			if status != http.StatusBadRequest || body["error"] != c.want {
				t.Errorf("%d %v, want 400 %s", status, body, c.want)
			}
		})
	}
	t.Run("a JSON body is refused: the endpoint takes forms", func(t *testing.T) {
		r := e.apiCall(http.MethodPost, "/oauth/device/code", "", `{"client_id": "gatehouse-cli"}`, nil)
		if r.StatusCode != http.StatusBadRequest || jsonOf(t, r)["error"] != "invalid_request" {
			t.Errorf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("anaconda-auth's request gets every field it requires", func(t *testing.T) {
		status, body, h := e.postForm(t, "/oauth/device/code", url.Values{"client_id": {"b4ad7f1d-c784-46b5-a9fe-106e50441f5a"}, "scope": {"openid"}})
		if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v", status, body)
		}
		for _, k := range []string{"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"} {
			if _, ok := body[k]; !ok {
				t.Errorf("answer lacks %s: %v", k, body)
			}
		}
		if body["expires_in"] != float64(600) || body["interval"] != float64(5) {
			t.Errorf("expires_in %v interval %v", body["expires_in"], body["interval"])
		}
	})
}

// Expired grants and tokens are deleted by the token endpoint, at most
// once a minute.
func TestOAuthTokenEndpointSweepsExpiredGrants(t *testing.T) {
	e := newOAuthEnv(t)
	expiredGrant := func() {
		now := e.clock()
		g := &gatehouse.OAuthGrant{Kind: gatehouse.GrantDevice, CodeHash: secret.Hash(secret.Token()), UserCode: usercode.New(),
			ClientID: "gatehouse-cli", CreatedAt: now.Add(-deviceLifetime - oauthKeepExpired), ExpiresAt: now.Add(-oauthKeepExpired - time.Second)}
		if err := e.store.CreateGrant(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	poll := func() {
		e.postForm(t, "/oauth/token", url.Values{"grant_type": {grantTypeDevice}, "client_id": {"gatehouse-cli"}, "device_code": {"x"}})
	}
	expiredGrant()
	poll()
	if n := e.rows(t, "oauth_grants"); n != 0 {
		t.Fatalf("%d grants after the first token request, want the expired one gone", n)
	}
	expiredGrant()
	e.advance(30 * time.Second)
	poll()
	if n := e.rows(t, "oauth_grants"); n != 1 {
		t.Errorf("%d grants 30 s after a sweep, want 1: sweeping runs at most once a minute", n)
	}
	e.advance(30 * time.Second)
	poll()
	if n := e.rows(t, "oauth_grants"); n != 0 {
		t.Errorf("%d grants a minute after the last sweep, want 0", n)
	}
}
