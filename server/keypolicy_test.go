package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Key policies over the API and the conda endpoints: channel-restricted
// and read-only keys, lifetime policies of the server and of
// organizations, expiry warnings, and organization service keys.

func (f *channelFixture) mkKey(t *testing.T, auth string, body map[string]any) (string, map[string]any) {
	t.Helper()
	a := f.do(call{method: "POST", path: "/api/keys", auth: auth, body: body})
	if a.status != http.StatusCreated {
		t.Fatalf("creating key %v: %d %s", body, a.status, a.body)
	}
	m := a.json(t)
	return m["key"].(string), m
}

func condaRefusal(t *testing.T, a answer) (reason, message string) {
	t.Helper()
	var body struct{ Reason, Message string }
	if a.status != http.StatusForbidden || json.Unmarshal(a.body, &body) != nil {
		t.Fatalf("want a 403 with the JSON conda shows, got %d %s", a.status, a.body)
	}
	return body.Reason, body.Message
}

func TestChannelRestrictedKeys(t *testing.T) {
	f := newChannelFixture(t)
	if a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(f.key), body: map[string]any{"name": "other", "visibility": "private"}}); a.status != http.StatusCreated {
		t.Fatal(a.status)
	}
	labOnly, view := f.mkKey(t, bearer(f.key), map[string]any{"name": "lab-only", "scopes": []string{"channels"},
		"expires_at": f.expiry(24 * time.Hour), "channels": []string{"lab"}})
	if ch, _ := view["channels"].([]any); len(ch) != 1 || ch[0] != "lab" {
		t.Errorf("the created key shows channels %v", view["channels"])
	}
	readOnly, _ := f.mkKey(t, bearer(f.key), map[string]any{"name": "lab-read", "scopes": []string{"channels"},
		"expires_at": f.expiry(24 * time.Hour), "channels": []string{"lab"}, "channel_access": "read"})
	pkg := readFixture(t, "noarch", firstFixture(t, "noarch"))

	t.Run("the key works on its channel", func(t *testing.T) {
		if a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(labOnly)}); a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	for _, ch := range []string{"other", "pub", "missing"} {
		t.Run("on channel "+ch+" it gets the 403 JSON conda shows, saying nothing of whether the channel exists (checklist B6, J6)", func(t *testing.T) {
			reason, msg := condaRefusal(t, f.do(call{method: "GET", path: "/repo/t/" + labOnly + "/" + ch + "/noarch/repodata.json"}))
			if reason != "ACCESS DENIED" || !strings.Contains(msg, `limited to the channels lab`) || strings.Contains(msg, labOnly) {
				t.Errorf("reason %q, message %q", reason, msg)
			}
		})
	}
	t.Run("a read-only key reads its channel and cannot upload to it (checklist F13)", func(t *testing.T) {
		if a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(readOnly)}); a.status != http.StatusOK {
			t.Fatalf("read: %d", a.status)
		}
		if a := f.upload(bearer(readOnly), "lab", "x.conda", pkg, ""); a.status != http.StatusForbidden {
			t.Errorf("upload with a read-only key: %d %s", a.status, a.body)
		}
	})
	t.Run("a restricted key uploads to its channel only", func(t *testing.T) {
		if a := f.upload(bearer(labOnly), "other", "x.conda", pkg, ""); a.status != http.StatusNotFound && a.status != http.StatusForbidden {
			t.Errorf("upload elsewhere: %d %s", a.status, a.body)
		}
	})
	t.Run("the key list shows the restrictions", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/api/keys", auth: bearer(f.key)})
		if !strings.Contains(string(a.body), `"channel_access":"read"`) || !strings.Contains(string(a.body), `"channels":["lab"]`) {
			t.Errorf("GET /api/keys: %s", a.body)
		}
	})
	t.Run("a restricted key cannot mint a key for more channels or more access (checklist A5)", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"name": "wider", "scopes": []string{"channels"}, "expires_at": f.expiry(time.Hour)},
			{"name": "elsewhere", "scopes": []string{"channels"}, "expires_at": f.expiry(time.Hour), "channels": []string{"other"}},
		} {
			a := f.do(call{method: "POST", path: "/api/keys", auth: bearer(labOnly), body: body})
			if a.status != http.StatusForbidden {
				t.Errorf("%v: %d %s", body["name"], a.status, a.body)
			}
		}
	})
	t.Run("a channel the owner cannot see is refused like a missing one, and nothing is written", func(t *testing.T) {
		a := f.do(call{method: "POST", path: "/api/keys", auth: bearer(f.key), body: map[string]any{"name": "x", "scopes": []string{"channels"},
			"expires_at": f.expiry(time.Hour), "channels": []string{"nowhere"}}})
		if a.status != http.StatusNotFound || !strings.Contains(string(a.body), `"field":"channels"`) {
			t.Errorf("%d %s", a.status, a.body)
		}
		for _, bad := range []string{"Bad Name", "a,b"} {
			a := f.do(call{method: "POST", path: "/api/keys", auth: bearer(f.key), body: map[string]any{"name": "x", "scopes": []string{"channels"},
				"expires_at": f.expiry(time.Hour), "channels": []string{bad}}})
			if a.status != http.StatusBadRequest {
				t.Errorf("channel %q: %d %s", bad, a.status, a.body)
			}
		}
		if a := f.do(call{method: "POST", path: "/api/keys", auth: bearer(f.key), body: map[string]any{"name": "x", "scopes": []string{"channels"},
			"expires_at": f.expiry(time.Hour), "channel_access": "admin"}}); a.status != http.StatusBadRequest {
			t.Errorf("channel_access admin: %d %s", a.status, a.body)
		}
	})
}

// firstFixture names the first package fixture of the subdir.
func firstFixture(t *testing.T, subdir string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(fixtureDir, subdir))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no fixtures in %s: %v", subdir, err)
	}
	return entries[0].Name()
}

func adminPrincipal(f *fixture) *gatehouse.Principal {
	return &gatehouse.Principal{User: f.admin, Method: gatehouse.AuthSession}
}

func userUpdate(disabled *bool) gatehouse.UserUpdate { return gatehouse.UserUpdate{Disabled: disabled} }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestKeyLifetimePolicies(t *testing.T) {
	f := newChannelFixture(t)
	admin := basic("admin", testPassword)
	f.user("bob", false)
	bob := basic("bob", testPassword)
	if a := f.do(call{method: "PATCH", path: "/api/admin/policy", auth: admin, body: map[string]any{"max_key_lifetime_days": 90, "expiry_warning_days": 10}}); a.status != http.StatusOK {
		t.Fatalf("server policy: %d %s", a.status, a.body)
	}
	tests := []struct {
		name string
		body map[string]any
		want int
		msg  string
	}{
		{"a key within the server's maximum is created", map[string]any{"name": "a", "scopes": []string{"user"}, "expires_at": f.expiry(89 * 24 * time.Hour)}, http.StatusCreated, ""},
		{"a longer key is refused with a message naming the server's policy", map[string]any{"name": "b", "scopes": []string{"user"}, "expires_at": f.expiry(91 * 24 * time.Hour)}, http.StatusBadRequest, "key policy of the server allows keys of at most 90 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(call{method: "POST", path: "/api/keys", auth: bob, body: tt.body})
			if a.status != tt.want || !strings.Contains(string(a.body), tt.msg) {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	t.Run("an organization's stricter policy bounds keys that can reach its channels", func(t *testing.T) {
		f.do(call{method: "POST", path: "/api/orgs", auth: admin, body: map[string]any{"name": "acme"}})
		f.do(call{method: "PUT", path: "/api/orgs/acme/members/bob", auth: admin, body: map[string]any{"role": "member"}})
		f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "acme-lab", "visibility": "private", "owner": "acme"}})
		if a := f.do(call{method: "PATCH", path: "/api/orgs/acme/policy", auth: bob, body: map[string]any{"max_key_lifetime_days": 7}}); a.status != http.StatusForbidden {
			t.Errorf("a member set the organization's policy: %d", a.status)
		}
		if a := f.do(call{method: "PATCH", path: "/api/orgs/acme/policy", auth: admin, body: map[string]any{"max_key_lifetime_days": 7}}); a.status != http.StatusOK {
			t.Fatalf("org policy: %d %s", a.status, a.body)
		}
		a := f.do(call{method: "POST", path: "/api/keys", auth: bob, body: map[string]any{"name": "c", "scopes": []string{"channels"}, "expires_at": f.expiry(30 * 24 * time.Hour)}})
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "organization acme allows keys of at most 7 days") {
			t.Errorf("an unrestricted key of a member: %d %s", a.status, a.body)
		}
		a = f.do(call{method: "POST", path: "/api/keys", auth: admin, body: map[string]any{"name": "d", "scopes": []string{"channels"},
			"expires_at": f.expiry(30 * 24 * time.Hour), "channels": []string{"lab"}}})
		if a.status != http.StatusCreated {
			t.Errorf("a key limited to a channel outside the organization (admin owns acme too): %d %s", a.status, a.body)
		}
		a = f.do(call{method: "POST", path: "/api/keys", auth: admin, body: map[string]any{"name": "e", "scopes": []string{"channels"},
			"expires_at": f.expiry(30 * 24 * time.Hour), "channels": []string{"acme-lab"}}})
		if a.status != http.StatusBadRequest {
			t.Errorf("a key limited to the organization's channel: %d %s", a.status, a.body)
		}
		a = f.do(call{method: "GET", path: "/api/keys", auth: bob})
		if !strings.Contains(string(a.body), `"max_key_lifetime_days":7`) || !strings.Contains(string(a.body), `"expiry_warning_days":10`) {
			t.Errorf("GET /api/keys limits: %s", a.body)
		}
	})
	t.Run("a login asks for the longest key allowed and gets it", func(t *testing.T) {
		a := f.do(call{method: "POST", path: "/api/auth/api-keys", auth: bob, body: map[string]any{"scopes": []string{"user"}}})
		if a.status != http.StatusCreated {
			t.Fatalf("%d %s", a.status, a.body)
		}
		exp, _ := time.Parse(time.RFC3339, a.json(t)["expires_at"].(string))
		if d := exp.Sub(f.clock.Now()); d > 7*24*time.Hour || d < 7*24*time.Hour-time.Minute {
			t.Errorf("the login key lives %v, want the 7 days acme allows", d)
		}
	})
	t.Run("keys expiring within the window are flagged in the list and in a header", func(t *testing.T) {
		key, _ := f.createKey("admin", "soon", []string{"user", "channels"}, 5*24*time.Hour)
		a := f.do(call{method: "GET", path: "/api/keys", auth: bearer(key)})
		if !strings.Contains(string(a.body), `"expiring_soon":true`) {
			t.Errorf("no key flagged: %s", a.body)
		}
		if a.header.Get("Gatehouse-Key-Expires") == "" {
			t.Errorf("no Gatehouse-Key-Expires header for a key expiring in 5 days")
		}
		if a := f.do(call{method: "GET", path: "/api/keys", auth: bearer(f.key)}); a.header.Get("Gatehouse-Key-Expires") != "" {
			t.Errorf("a key expiring in 30 days was flagged")
		}
	})
	t.Run("bad policies are refused and change nothing", func(t *testing.T) {
		for _, body := range []map[string]any{{"max_key_lifetime_days": 400}, {"max_key_lifetime_days": 0}, {"expiry_warning_days": -1}} {
			if a := f.do(call{method: "PATCH", path: "/api/admin/policy", auth: admin, body: body}); a.status != http.StatusBadRequest {
				t.Errorf("%v: %d", body, a.status)
			}
		}
		if a := f.do(call{method: "GET", path: "/api/admin/policy", auth: admin}); !strings.Contains(string(a.body), `"max_key_lifetime_days":90`) {
			t.Errorf("policy after bad updates: %s", a.body)
		}
		if a := f.do(call{method: "PATCH", path: "/api/admin/policy", auth: bob, body: map[string]any{"max_key_lifetime_days": 1}}); a.status != http.StatusForbidden {
			t.Errorf("a user changed the server policy: %d", a.status)
		}
	})
}

func TestOrganizationServiceKeys(t *testing.T) {
	f := newChannelFixture(t)
	admin := basic("admin", testPassword)
	f.user("bob", false)
	f.user("carol", false)
	f.do(call{method: "POST", path: "/api/orgs", auth: admin, body: map[string]any{"name": "acme"}})
	f.do(call{method: "PUT", path: "/api/orgs/acme/members/bob", auth: admin, body: map[string]any{"role": "admin"}})
	f.do(call{method: "PUT", path: "/api/orgs/acme/members/carol", auth: admin, body: map[string]any{"role": "member"}})
	f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "acme-lab", "visibility": "private", "owner": "acme"}})

	if a := f.do(call{method: "POST", path: "/api/orgs/acme/keys", auth: basic("carol", testPassword), body: map[string]any{
		"name": "ci", "scopes": []string{"channels"}, "expires_at": f.expiry(24 * time.Hour)}}); a.status != http.StatusForbidden {
		t.Errorf("a member created an organization key: %d %s", a.status, a.body)
	}
	a := f.do(call{method: "POST", path: "/api/orgs/acme/keys", auth: basic("bob", testPassword), body: map[string]any{
		"name": "ci", "scopes": []string{"user", "channels"}, "expires_at": f.expiry(24 * time.Hour)}})
	if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("bob creating the key: %d %s", a.status, a.body)
	}
	orgKey := a.json(t)["key"].(string)
	keyID := int64(a.json(t)["id"].(float64))
	pkg := readFixture(t, "noarch", firstFixture(t, "noarch"))

	t.Run("it uploads to and reads the organization's channels, and nothing private elsewhere", func(t *testing.T) {
		if a := f.upload(bearer(orgKey), "acme-lab", firstFixture(t, "noarch"), pkg, ""); a.status != http.StatusCreated {
			t.Fatalf("upload: %d %s", a.status, a.body)
		}
		if a := f.do(call{method: "GET", path: "/repo/acme-lab/noarch/repodata.json", auth: bearer(orgKey)}); a.status != http.StatusOK {
			t.Errorf("read: %d", a.status)
		}
		if a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(orgKey)}); a.status != http.StatusForbidden {
			t.Errorf("admin's private channel with the org key: %d", a.status)
		}
	})
	t.Run("it survives its creator leaving, and any admin lists and revokes it", func(t *testing.T) {
		if a := f.do(call{method: "DELETE", path: "/api/orgs/acme/members/bob", auth: admin}); a.status != http.StatusNoContent {
			t.Fatalf("removing bob: %d", a.status)
		}
		disabled := true
		if _, err := f.srv.Services().Users.UpdateUser(t.Context(), adminPrincipal(f.fixture), "bob", userUpdate(&disabled)); err != nil {
			t.Fatal(err)
		}
		if a := f.do(call{method: "GET", path: "/repo/acme-lab/noarch/repodata.json", auth: bearer(orgKey)}); a.status != http.StatusOK {
			t.Fatalf("after bob left and was disabled: %d %s", a.status, a.body)
		}
		a := f.do(call{method: "GET", path: "/api/orgs/acme/keys", auth: admin})
		if !strings.Contains(string(a.body), `"name":"ci"`) || !strings.Contains(string(a.body), `"org":"acme"`) {
			t.Errorf("listing: %s", a.body)
		}
		if a := f.do(call{method: "GET", path: "/api/keys", auth: basic("admin", testPassword)}); strings.Contains(string(a.body), `"name":"ci"`) {
			t.Errorf("the organization key is in a person's list")
		}
		if a := f.do(call{method: "DELETE", path: "/api/orgs/acme/keys/" + itoa64(keyID), auth: admin}); a.status != http.StatusNoContent {
			t.Fatalf("revoking: %d %s", a.status, a.body)
		}
		reason, _ := condaRefusal(t, f.do(call{method: "GET", path: "/repo/acme-lab/noarch/repodata.json", auth: bearer(orgKey)}))
		if reason != "API KEY REVOKED" {
			t.Errorf("after revocation: %s", reason)
		}
	})
	t.Run("the audit log shows the organization acting, with the person", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/api/admin/audit?action=org_key.create", auth: admin})
		if !strings.Contains(string(a.body), `"actor":"org:acme by bob"`) {
			t.Errorf("audit: %s", a.body)
		}
		a = f.do(call{method: "GET", path: "/api/admin/audit?action=package.upload", auth: admin})
		if !strings.Contains(string(a.body), `org:acme via key:`) {
			t.Errorf("upload audit: %s", a.body)
		}
	})
	t.Run("an organization key cannot create keys, channels or organizations", func(t *testing.T) {
		a := f.do(call{method: "POST", path: "/api/orgs/acme/keys", auth: admin, body: map[string]any{
			"name": "ci2", "scopes": []string{"user", "channels"}, "expires_at": f.expiry(24 * time.Hour)}})
		k2 := a.json(t)["key"].(string)
		for _, c := range []call{
			{method: "POST", path: "/api/keys", body: map[string]any{"name": "x", "scopes": []string{"user"}, "expires_at": f.expiry(time.Hour)}},
			{method: "POST", path: "/api/channels", body: map[string]any{"name": "sneaky"}},
			{method: "POST", path: "/api/orgs", body: map[string]any{"name": "sneaky"}},
		} {
			c.auth = bearer(k2)
			if a := f.do(c); a.status != http.StatusForbidden {
				t.Errorf("%s %s: %d %s", c.method, c.path, a.status, a.body)
			}
		}
	})
}

func TestKeyDialogFollowsTheKeyPolicies(t *testing.T) {
	e := newSSOEnv(t) // a cookie-keeping browser; SSO plays no part here
	if a := e.do(call{method: "PATCH", path: "/api/admin/policy", auth: basic("admin", testPassword), body: map[string]any{"max_key_lifetime_days": 45}}); a.status != http.StatusOK {
		t.Fatal(a.status)
	}
	b := e.browser()
	p := b.get(t, "http://gatehouse.test/login?email=admin")
	res, err := b.c.PostForm("http://gatehouse.test/login", url.Values{"csrf_token": {formFields(p.body).Get("csrf_token")},
		"username": {"admin"}, "password": {testPassword}, "next": {"/settings/keys"}})
	if err != nil {
		t.Fatal(err)
	}
	page := readPage(t, res).body
	maxDate := e.clock.Now().Add(45 * 24 * time.Hour).UTC().Format(time.DateOnly)
	for _, want := range []string{`<option value="7"`, `<option value="30"`, `<option value="45"`, `max="` + maxDate + `"`, "maximum lifespan of 45 days", `id="key-channel-lab"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the dialog lacks %s", want)
		}
	}
	for _, gone := range []string{`<option value="90"`, `<option value="365"`} {
		if strings.Contains(page, gone) {
			t.Errorf("the dialog offers %s, longer than the policy", gone)
		}
	}
}
