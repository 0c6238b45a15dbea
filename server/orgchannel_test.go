package server

import (
	"net/http"
	"testing"
	"time"
)

func TestLeavingAnOrganizationClosesItsChannelsToEveryKeyAtOnce(t *testing.T) {
	// architecture.md: a user removed from an org loses that access
	// through all their keys, checked on use.
	f := newChannelFixture(t)
	f.user("bob", false)
	bobKey, _ := f.createKey("bob", "laptop", []string{"channels"}, time.Hour)
	admin := basic("admin", testPassword)
	steps := []call{
		{method: "POST", path: "/api/orgs", auth: admin, body: map[string]any{"name": "acme"}},
		{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "acme-private", "visibility": "private", "owner": "acme"}},
		{method: "PUT", path: "/api/orgs/acme/members/bob", auth: admin, body: map[string]any{"role": "member"}},
	}
	for _, c := range steps {
		if a := f.do(c); a.status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, a.status, a.body)
		}
	}
	path := "/repo/acme-private/noarch/repodata.json"
	if a := f.do(call{method: "GET", path: path, auth: bearer(bobKey)}); a.status != http.StatusOK {
		t.Fatalf("a member's key: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "DELETE", path: "/api/orgs/acme/members/bob", auth: admin}); a.status != http.StatusNoContent {
		t.Fatalf("removing bob: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "GET", path: path, auth: bearer(bobKey)}); a.status != http.StatusForbidden {
		t.Errorf("a former member's key on the next request: %d, want 403", a.status)
	}
}
