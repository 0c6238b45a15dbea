package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/repo"
)

// Issue 11 item 2: a stale key must not lock a machine out of the tools
// channel, the one place the fix is installed from. Elsewhere a bad key is
// still refused, never anonymous (checklist B3, A6).
func TestAStaleKeyIsIgnoredOnTheToolsChannelOnly(t *testing.T) {
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	if a := f.do(call{method: "POST", path: "/api/channels", auth: basic("admin", testPassword), body: map[string]any{"name": "gatehouse-tools", "visibility": "public"}}); a.status != 201 {
		t.Fatalf("tools channel: %d %s", a.status, a.body)
	}
	// The gate is on for the client's network: the tools channel must
	// still answer (checklist C1).
	if a := f.do(call{method: "POST", path: "/api/admin/network-rules", auth: basic("admin", testPassword),
		body: map[string]any{"cidr": "10.0.0.0/8", "action": "require-registration"}}); a.status != 201 {
		t.Fatalf("adding a rule: %d %s", a.status, a.body)
	}
	const remote = "10.1.2.3:4000"

	revoked, revokedID := f.createKey("admin", "old", []string{"user", "channels"}, 24*time.Hour)
	if a := f.do(call{method: "DELETE", path: "/api/keys/" + itoa64(revokedID), auth: basic("admin", testPassword)}); a.status != http.StatusNoContent {
		t.Fatalf("revoking: %d %s", a.status, a.body)
	}
	expiring, _ := f.createKey("admin", "short", []string{"user", "channels"}, time.Hour)
	userOnly, _ := f.createKey("admin", "api-only", []string{"user"}, 24*time.Hour)
	f.clock.Advance(2 * time.Hour)
	malformed := "gk-" + strings.Repeat("A", 40)

	keys := []struct{ name, key, reason string }{
		{"a revoked key", revoked, "API KEY REVOKED"},
		{"an expired key", expiring, "API KEY EXPIRED"},
		{"a malformed key", malformed, "INVALID API KEY"},
		{"a key without the channels scope", userOnly, "MISSING SCOPE"},
	}
	for _, k := range keys {
		forms := []call{
			{method: "GET", path: "/repo/gatehouse-tools/noarch/repodata.json", auth: bearer(k.key), remote: remote},
			{method: "GET", path: "/repo/t/" + k.key + "/gatehouse-tools/noarch/repodata.json", remote: remote},
			{method: "GET", path: "/t/" + k.key + "/repo/gatehouse-tools/noarch/repodata.json", remote: remote},
		}
		for i, c := range forms {
			form := []string{"Bearer", "/repo/t/<key>/", "/t/<key>/repo/"}[i]
			t.Run(k.name+" in "+form+" is answered as anonymous on the tools channel", func(t *testing.T) {
				a := f.do(c)
				if a.status != http.StatusOK {
					t.Fatalf("status %d %s", a.status, a.body)
				}
				if got := a.header.Get(repo.KeyIgnoredHeader); got != k.reason {
					t.Fatalf("%s = %q, want %q", repo.KeyIgnoredHeader, got, k.reason)
				}
				for name, vs := range a.header {
					for _, v := range vs {
						if strings.Contains(v, k.key[3:20]) {
							t.Fatalf("header %s echoes the key", name)
						}
					}
				}
			})
		}
		t.Run(k.name+" is still refused on another channel", func(t *testing.T) {
			a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", auth: bearer(k.key)})
			if a.status != http.StatusForbidden || a.header.Get(repo.KeyIgnoredHeader) != "" {
				t.Fatalf("status %d, %s %q: %s", a.status, repo.KeyIgnoredHeader, a.header.Get(repo.KeyIgnoredHeader), a.body)
			}
			var m reply.Refusal
			json.Unmarshal(a.body, &m)
			if m.Reason != k.reason {
				t.Fatalf("reason %q, want %q", m.Reason, k.reason)
			}
		})
	}
	t.Run("a working key on the tools channel has nothing ignored", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/gatehouse-tools/noarch/repodata.json", auth: bearer(f.key), remote: remote})
		if a.status != http.StatusOK || a.header.Get(repo.KeyIgnoredHeader) != "" {
			t.Fatalf("status %d, header %q", a.status, a.header.Get(repo.KeyIgnoredHeader))
		}
	})
}
