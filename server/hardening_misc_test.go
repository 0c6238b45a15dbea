package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestHTTPSAnswersCarryHSTS(t *testing.T) {
	// checklist E6: once reached over HTTPS, browsers never fall back to
	// plain HTTP with the session cookie.
	plain := newFixture(t)
	if h := plain.do(call{method: "GET", path: "/login"}).header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("a plain-HTTP server sent HSTS %q", h)
	}
	tls := newFixture(t, func(c *Config) { c.PublicURL = &url.URL{Scheme: "https", Host: "gatehouse.test"} })
	for _, path := range []string{"/login", "/api/account", "/repo/x/noarch/repodata.json", "/healthz"} {
		if h := tls.do(call{method: "GET", path: path}).header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
			t.Errorf("%s over HTTPS: Strict-Transport-Security %q", path, h)
		}
	}
}

func TestAKeyCannotTakeAwayAStrongerKey(t *testing.T) {
	// A user-scope key, stolen, must not revoke or replace the owner's
	// admin key (neither its scopes nor its expiry are the thief's).
	f := newFixture(t)
	adminKey, adminID := f.createKey("admin", "ops", []string{"user", "channels", "admin"}, 24*time.Hour)
	weak, _ := f.createKey("admin", "laptop", []string{"user"}, time.Hour)
	if a := f.do(call{method: "DELETE", path: "/api/keys/" + itoa(int(adminID)), auth: bearer(weak)}); a.status != http.StatusForbidden {
		t.Errorf("a user-scope key revoking the admin key: %d %s, want 403", a.status, a.body)
	}
	a := f.do(call{method: "POST", path: "/api/keys", auth: bearer(weak),
		body: map[string]any{"name": "ops", "scopes": []string{"user"}, "expires_at": f.expiry(time.Minute)}})
	if a.status != http.StatusForbidden {
		t.Errorf("a user-scope key replacing the admin key by name: %d %s, want 403", a.status, a.body)
	}
	if a := f.do(call{method: "GET", path: "/api/admin/users", auth: bearer(adminKey)}); a.status != http.StatusOK {
		t.Errorf("the admin key after both attempts: %d", a.status)
	}
	other, otherID := f.createKey("admin", "other", []string{"user"}, time.Hour)
	_ = other
	if a := f.do(call{method: "DELETE", path: "/api/keys/" + itoa(int(otherID)), auth: bearer(weak)}); a.status != http.StatusNoContent {
		t.Errorf("a user-scope key revoking a user-scope key: %d", a.status)
	}
}

func TestAReaderMayLeaveAChannel(t *testing.T) {
	// A read grant is the grantee's to drop; someone else's is not.
	f := newChannelFixture(t)
	f.user("bob", false)
	f.user("carol", false)
	for _, u := range []string{"bob", "carol"} {
		f.must(call{method: "PUT", path: "/api/channels/lab/members/" + u, auth: bearer(f.key), body: map[string]any{"role": "read"}}, http.StatusNoContent)
	}
	bob, _ := f.createKey("bob", "k", []string{"user"}, time.Hour)
	if a := f.do(call{method: "DELETE", path: "/api/channels/lab/members/carol", auth: bearer(bob)}); a.status != http.StatusForbidden {
		t.Errorf("a reader removing another reader: %d, want 403", a.status)
	}
	if a := f.do(call{method: "DELETE", path: "/api/channels/lab/members/bob", auth: bearer(bob)}); a.status != http.StatusNoContent {
		t.Errorf("a reader leaving: %d %s, want 204", a.status, a.body)
	}
}

func TestTheConsentPageSaysTheMachineNameIsAClaim(t *testing.T) {
	// The name comes from the requester: the page must not vouch for it.
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	cfg := e.cliConfig(t)
	verifier := oauth2.GenerateVerifier()
	page := e.consent(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("client_name", "build-7")))
	// Issue 11 item 13: the machine as the client reported it (the CLI
	// sends its host name), marked as its claim, in a centred card.
	assertContains(t, "the consent page", page.Body, "<h1>Approve this sign-in?</h1>", `<strong id="consent-machine-title">build-7</strong>`,
		"its own claim, which anyone can make", "(its own claim, not verified)", `class="card form-card centered"`)
}
