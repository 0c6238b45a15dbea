package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// webPostForms are the state-changing forms of the account pages, each
// with a valid body, for the CSRF tests.
func webPostForms(keyID int64) []struct {
	path string
	form url.Values
} {
	return []struct {
		path string
		form url.Values
	}{
		{"/settings/keys", url.Values{"name": {"x"}, "scope": {"user"}, "expiration": {"7"}}},
		{"/settings/keys/" + strconv.FormatInt(keyID, 10) + "/revoke", url.Values{}},
		{"/settings/password", url.Values{"current_password": {webTestPassword}, "new_password": {"new password 1"}, "confirm_password": {"new password 1"}}},
		{"/orgs", url.Values{"name": {"neworg"}}},
		{"/orgs/team/members", url.Values{"username": {"bob"}, "role": {"member"}}},
		{"/orgs/team/members/carol", url.Values{"role": {"admin"}}},
		{"/orgs/team/members/carol/remove", url.Values{}},
		{"/admin/users", url.Values{"username": {"eve"}, "password": {webTestPassword}}},
		{"/admin/users/bob", url.Values{"disabled": {"true"}}},
		{"/orgs/team/keys", url.Values{"name": {"ci"}, "scope": {"channels"}, "expiration": {"7"}}},
		{"/orgs/team/keys/1/revoke", url.Values{}},
		{"/orgs/team/sso", url.Values{"issuer": {"https://login.team.example"}, "client_id": {"g"}, "client_secret": {"env:X"}, "domains": {"team.example"}}},
		{"/orgs/team/policy", url.Values{"max_key_lifetime_days": {"7"}, "expiry_warning_days": {"1"}}},
		{"/admin/policy", url.Values{"max_key_lifetime_days": {"7"}, "expiry_warning_days": {"1"}}},
		{"/admin/domains/team.example/confirm", url.Values{"org": {"team"}}},
		{"/admin/domains/team.example/reject", url.Values{"org": {"team"}}},
		{"/channels/lab/publishers", url.Values{"issuer": {"https://gitlab.com"}, "claim_name": {"ref"}, "claim_value": {"main"}}},
		{"/channels/lab/publishers/1/remove", url.Values{}},
		{"/logout", url.Values{}},
	}
}

// checklist E4: a form posted from another site, or without the session's
// token, is refused and changes nothing.
func TestWebFormsRefuseCrossSiteAndTokenlessPosts(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	e.addUser("bob", false)
	e.addUser("carol", false)
	b := e.browser()
	b.signIn("root", webTestPassword)
	b.post("/orgs", "/orgs", url.Values{"name": {"team"}})
	b.post("/orgs/team", "/orgs/team/members", url.Values{"username": {"carol"}, "role": {"member"}})
	b.createKeyInPage(keyForm2("k", "7", "", "user"))
	keyID := e.keys(e.user("root"))[0].ID
	token := b.csrf("/settings/keys")
	before := e.dump()

	attacks := []struct {
		name    string
		token   string
		headers map[string]string
		status  int
	}{
		{"without a token", "", nil, http.StatusForbidden},
		{"with a wrong token", "AAAA" + token[4:], nil, http.StatusForbidden},
		{"with the token but Sec-Fetch-Site: cross-site", token, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"with the token but from another Origin", token, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, a := range attacks {
		for _, f := range webPostForms(keyID) {
			t.Run("POST "+f.path+" "+a.name+" is refused", func(t *testing.T) {
				form := url.Values{}
				for k, v := range f.form {
					form[k] = v
				}
				if a.token != "" {
					form.Set("csrf_token", a.token)
				}
				b.headers = http.Header{}
				for k, v := range a.headers {
					b.headers.Set(k, v)
				}
				r := b.do(http.MethodPost, f.path, form)
				if r.StatusCode != a.status {
					t.Errorf("status %d, want %d", r.StatusCode, a.status)
				}
			})
		}
	}
	b.headers = http.Header{}
	if after := e.dump(); after != before {
		t.Errorf("refused posts changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Run("the same form with the token and same-site headers works", func(t *testing.T) {
		b.headers.Set("Sec-Fetch-Site", "same-origin")
		b.headers.Set("Origin", "http://gatehouse.test")
		defer func() { b.headers = http.Header{} }()
		r := b.do(http.MethodPost, "/orgs", url.Values{"csrf_token": {token}, "name": {"neworg"}})
		if r.StatusCode != http.StatusOK {
			t.Errorf("status %d: %s", r.StatusCode, r.Body)
		}
	})
}

// checklist E6: every HTML answer carries the security headers.
func TestHTMLSecurityHeaders(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	b := e.browser()
	b.signIn("root", webTestPassword)
	b.post("/orgs", "/orgs", url.Values{"name": {"team"}})
	pages := []string{"/login", "/settings/keys", "/settings/password", "/orgs", "/orgs/team", "/admin/users", "/admin/audit", "/orgs/missing"}
	for _, p := range pages {
		t.Run(p+" has CSP, nosniff, Referrer-Policy and no-store", func(t *testing.T) {
			client := b
			if p == "/login" {
				client = e.browser()
			}
			r := client.get(p)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, Content-Type %q", r.StatusCode, r.Header.Get("Content-Type"))
			}
			csp := r.Header.Get("Content-Security-Policy")
			for _, d := range []string{"frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'", "script-src 'self'", "style-src 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			want := map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
			for h, v := range want {
				if got := r.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			// The CSP forbids inline code: the pages must not need it.
			for _, bad := range []string{" style=", " onclick=", " onsubmit=", "<script>", "javascript:"} {
				if strings.Contains(r.Body, bad) {
					t.Errorf("the page holds %q, which the CSP blocks", bad)
				}
			}
		})
	}
}

// checklist E1: the session cookie's attributes, on plain HTTP and behind
// an https PublicURL.
func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		publicURL, name string
		secure          bool
	}{
		{"http://127.0.0.1:8080", "gatehouse_session", false},
		{"https://gatehouse.example", "__Host-gatehouse_session", true},
	} {
		t.Run(tc.publicURL+" sets "+tc.name, func(t *testing.T) {
			e := newWebEnv(t, tc.publicURL)
			e.addUser("alice", false)
			r := e.browser().signIn("alice", webTestPassword)
			var found *http.Cookie
			for _, c := range r.Cookies() {
				if c.Name == tc.name {
					found = c
				}
			}
			if found == nil {
				t.Fatalf("no %s cookie in %q", tc.name, r.Header.Values("Set-Cookie"))
			}
			if !found.HttpOnly || found.SameSite != http.SameSiteLaxMode || found.Path != "/" || found.Domain != "" || found.Secure != tc.secure {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", found, tc.secure)
			}
		})
	}
}

// checklist E2: signing in always issues a new session ID; a cookie
// planted before sign-in is worth nothing.
func TestSignInIssuesANewSessionID(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("alice", false)
	b := e.browser()
	planted := strings.Repeat("A", 43)
	b.cookies["gatehouse_session"] = planted
	b.signIn("alice", webTestPassword)
	first := b.cookies["gatehouse_session"]
	if first == "" || first == planted {
		t.Fatalf("session cookie after sign-in = %q", first)
	}
	// Signing in again while signed in (the login form, opened before,
	// posted again) replaces the session too.
	r := b.do(http.MethodPost, "/login", url.Values{"csrf_token": {b.cookies["gatehouse_csrf"]}, "username": {"alice"}, "password": {webTestPassword}})
	if second := b.cookies["gatehouse_session"]; r.StatusCode != http.StatusSeeOther || second == first {
		t.Error("signing in again kept the session ID")
	}
	attacker := e.browser()
	attacker.cookies["gatehouse_session"] = planted
	if r := attacker.get("/settings/keys"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the planted cookie opens the account: %d", r.StatusCode)
	}
	attacker.cookies["gatehouse_session"] = first
	if r := attacker.get("/settings/keys"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the session replaced by signing in again still works: %d", r.StatusCode)
	}
}

// checklist E3: after sign-out, the old cookie is refused, for pages,
// forms and the API.
func TestSignedOutCookieIsRefused(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	stolen := b.cookies["gatehouse_session"]
	token := b.csrf("/settings/keys")
	if r := b.post("/settings/keys", "/logout", url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("sign out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := b.cookies["gatehouse_session"]; ok {
		t.Error("sign-out left the cookie in the browser")
	}
	replay := e.browser()
	replay.cookies["gatehouse_session"] = stolen
	if r := replay.get("/settings/keys"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("GET with the old cookie: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r := replay.do(http.MethodPost, "/settings/keys", url.Values{"csrf_token": {token}, "name": {"x"}, "scope": {"user"}, "expiration": {"7"}})
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with the old cookie: %d", r.StatusCode)
	}
	if r := replay.get("/api/keys"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the old cookie: %d", r.StatusCode)
	}
	if n := len(e.keys(e.user("alice"))); n != 0 {
		t.Errorf("the replayed cookie created %d keys", n)
	}
}

func TestSignedOutPagesSendToSignIn(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	for _, p := range []string{"/settings/keys", "/settings/password", "/orgs", "/orgs/x", "/admin/users", "/admin/audit"} {
		r := e.browser().get(p)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s signed out: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
}
