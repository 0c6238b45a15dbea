package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// Trusted publishing against the test provider issuing tokens shaped like
// GitHub Actions' and GitLab CI's.

func TestTrustedPublishing(t *testing.T) {
	e := newSSOEnv(t) // acme, its channel lab, a provider
	admin := basic("admin", testPassword)
	f := e.fixture
	for _, body := range []map[string]any{
		{"issuer": e.idp.URL, "claims": map[string]string{"repository": "acme/lab", "environment": "release"}},
		{"issuer": e.idp.URL, "audience": "gitlab-aud", "claims": map[string]string{"project_path": "acme/lab", "ref": "main"}},
	} {
		if a := f.do(call{method: "POST", path: "/api/channels/lab/trusted-publishers", auth: admin, body: body}); a.status != http.StatusCreated {
			t.Fatalf("adding a publisher: %d %s", a.status, a.body)
		}
	}
	if a := f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "elsewhere", "visibility": "private", "owner": "acme"}}); a.status != http.StatusCreated {
		t.Fatal(a.status)
	}
	exchange := func(token, channel string) answer {
		return f.do(call{method: "POST", path: "/api/trusted-publishing/token", body: map[string]any{"token": token, "channel": channel}})
	}
	pkg := readFixture(t, "noarch", firstFixture(t, "noarch"))

	var key string
	t.Run("a GitHub Actions token with the right claims gets an upload key for the channel", func(t *testing.T) {
		tok := e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), 5*time.Minute)
		a := exchange(tok, "lab")
		if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %s", a.status, a.body)
		}
		key = a.json(t)["key"].(string)
		exp, _ := time.Parse(time.RFC3339, a.json(t)["expires_at"].(string))
		if d := exp.Sub(f.clock.Now()); d > gatehouse.TrustedPublishingKeyLifetime || d <= 0 {
			t.Errorf("the key lives %v", d)
		}
		if a := f.upload(bearer(key), "lab", firstFixture(t, "noarch"), pkg, ""); a.status != http.StatusCreated {
			t.Fatalf("uploading with it: %d %s", a.status, a.body)
		}
	})
	t.Run("the key reads no other channel, uploads nowhere else and dies after 15 minutes (checklist K7)", func(t *testing.T) {
		reason, _ := condaRefusal(t, f.do(call{method: "GET", path: "/repo/elsewhere/noarch/repodata.json", auth: bearer(key)}))
		if reason != "ACCESS DENIED" {
			t.Errorf("reading elsewhere: %s", reason)
		}
		if a := f.upload(bearer(key), "elsewhere", "x.conda", pkg, ""); a.status < 400 {
			t.Errorf("uploading elsewhere: %d", a.status)
		}
		for _, c := range []call{{method: "POST", path: "/api/keys", body: map[string]any{"name": "x", "scopes": []string{"channels"}, "expires_at": f.expiry(time.Minute)}},
			{method: "GET", path: "/api/account"}} {
			c.auth = bearer(key)
			if a := f.do(c); a.status != http.StatusForbidden {
				t.Errorf("%s %s with the key: %d", c.method, c.path, a.status)
			}
		}
	})
	t.Run("a GitLab CI token with its own audience works too", func(t *testing.T) {
		tok := e.idp.IssueToken("gitlab-aud", idptest.GitLabClaims("acme/lab", "main"), 5*time.Minute)
		if a := exchange(tok, "lab"); a.status != http.StatusCreated {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	refusals := []struct {
		name, channel string
		token         func() string
		status        int
		msg           string
	}{
		{"a replayed token is refused", "lab", func() string {
			tok := e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), 5*time.Minute)
			if a := exchange(tok, "lab"); a.status != http.StatusCreated {
				t.Fatalf("first use: %d %s", a.status, a.body)
			}
			return tok
		}, http.StatusUnauthorized, "exchanged already"},
		{"a token for another audience is refused", "lab", func() string {
			return e.idp.IssueToken("pypi", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), 5*time.Minute)
		}, http.StatusUnauthorized, "audience"},
		{"a token whose claims do not match is refused, naming the claims", "lab", func() string {
			return e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("evil/fork", "refs/heads/main", "release"), 5*time.Minute)
		}, http.StatusForbidden, "repository"},
		{"an expired token is refused", "lab", func() string {
			return e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), -time.Minute)
		}, http.StatusUnauthorized, "expired"},
		{"a channel without a publisher for the issuer is refused", "elsewhere", func() string {
			return e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), 5*time.Minute)
		}, http.StatusForbidden, "No trusted publisher"},
		{"a missing channel is refused the same way", "no-such", func() string {
			return e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"), 5*time.Minute)
		}, http.StatusForbidden, "No trusted publisher"},
		{"something that is not a token is refused", "lab", func() string { return "not.a.jwt" }, http.StatusUnauthorized, "not an OpenID Connect ID token"},
	}
	for _, tt := range refusals {
		t.Run(tt.name+" (checklist K6)", func(t *testing.T) {
			before := len(e.keysOf(t))
			a := exchange(tt.token(), tt.channel)
			if a.status != tt.status || !strings.Contains(string(a.body), tt.msg) {
				t.Errorf("%d %s", a.status, a.body)
			}
			if after := len(e.keysOf(t)); after != before && tt.name != "a replayed token is refused" {
				t.Errorf("a refused exchange minted a key (%d → %d)", before, after)
			}
		})
	}
	t.Run("every exchange is audited, with the claims that matched", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/api/admin/audit?action=trusted_publishing.exchange", auth: admin})
		body := string(a.body)
		if !strings.Contains(body, "matched environment=release,repository=acme/lab") || !strings.Contains(body, "replayed token") ||
			!strings.Contains(body, "claims do not match: repository") {
			t.Errorf("audit: %s", body)
		}
	})
	t.Run("the key dies after 15 minutes (checklist K7)", func(t *testing.T) {
		f.clock.Advance(gatehouse.TrustedPublishingKeyLifetime + time.Second)
		reason, _ := condaRefusal(t, f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(key)}))
		if reason != "API KEY EXPIRED" {
			t.Errorf("after 15 minutes: %s", reason)
		}
	})
	t.Run("a publisher must require a claim, and only channel administrators add one", func(t *testing.T) {
		if a := f.do(call{method: "POST", path: "/api/channels/lab/trusted-publishers", auth: admin, body: map[string]any{"issuer": e.idp.URL}}); a.status != http.StatusBadRequest {
			t.Errorf("no claims: %d", a.status)
		}
		if a := f.do(call{method: "POST", path: "/api/channels/lab/trusted-publishers", auth: admin, body: map[string]any{"issuer": "http://idp.example.com", "claims": map[string]string{"a": "b"}}}); a.status != http.StatusBadRequest {
			t.Errorf("plain http issuer: %d", a.status)
		}
		f.user("mallory", false)
		if a := f.do(call{method: "POST", path: "/api/channels/lab/trusted-publishers", auth: basic("mallory", testPassword), body: map[string]any{"issuer": e.idp.URL, "claims": map[string]string{"repository": "m/x"}}}); a.status != http.StatusNotFound {
			t.Errorf("a stranger: %d", a.status)
		}
	})
}

// keysOf lists acme's keys (exchanges for acme's channel mint its keys).
func (e *ssoEnv) keysOf(t *testing.T) []*gatehouse.APIKey {
	acme, err := e.store.OrgByName(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e.store.ListOrgKeys(t.Context(), acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
