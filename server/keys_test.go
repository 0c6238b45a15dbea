package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
)

func TestCreateKeyShowsTheKeyOnceAndNeverAgain(t *testing.T) {
	// checklist A1, A3
	f := newFixture(t)
	a := f.do(call{method: "POST", path: "/api/keys", auth: basic("admin", testPassword),
		body: map[string]any{"name": "ci", "scopes": []string{"user", "channels"}, "expires_at": f.expiry(gatehouse.MaxKeyLifetime)}})
	if a.status != http.StatusCreated {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	m := a.json(t)
	key, _ := m["key"].(string)
	if err := apikey.Check(key); err != nil {
		t.Fatalf("the answer's key is not a valid key: %v", err)
	}
	if strings.Count(string(a.body), key) != 1 {
		t.Errorf("the key appears %d times in the creation answer, want once", strings.Count(string(a.body), key))
	}
	if m["name"] != "ci" || m["status"] != "active" || m["hint"] != apikey.Hint(key) {
		t.Errorf("metadata = %v", m)
	}
	list := f.do(call{method: "GET", path: "/api/keys", auth: bearer(key)})
	if list.status != http.StatusOK {
		t.Fatalf("listing: %d %s", list.status, list.body)
	}
	if strings.Contains(string(list.body), key[3:11]) || strings.Contains(string(list.body), key[len(key)-10:]) {
		t.Errorf("the key list holds part of the key: %s", list.body)
	}
}

func TestCreateKeyRefusesBadInputAndWritesNothing(t *testing.T) {
	// checklist A2
	f := newFixture(t)
	now := f.clock.Now()
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"an expiry one second beyond a year", map[string]any{"name": "k", "scopes": []string{"user"}, "expires_at": now.Add(gatehouse.MaxKeyLifetime + time.Second).UTC().Format(time.RFC3339)}, "expires_at"},
		{"no expiry", map[string]any{"name": "k", "scopes": []string{"user"}}, "expires_at"},
		{"an expiry in the past", map[string]any{"name": "k", "scopes": []string{"user"}, "expires_at": now.Add(-time.Hour).UTC().Format(time.RFC3339)}, "expires_at"},
		{"an expiry with a zone offset", map[string]any{"name": "k", "scopes": []string{"user"}, "expires_at": now.Add(time.Hour).Format("2006-01-02T15:04:05-07:00")}, "expires_at"},
		{"an expiry that is a date only", map[string]any{"name": "k", "scopes": []string{"user"}, "expires_at": "2026-04-01"}, "expires_at"},
		{"no scopes", map[string]any{"name": "k", "scopes": []string{}, "expires_at": f.expiry(time.Hour)}, "scopes"},
		{"an unknown scope", map[string]any{"name": "k", "scopes": []string{"root"}, "expires_at": f.expiry(time.Hour)}, "scopes"},
		{"no name", map[string]any{"name": "  ", "scopes": []string{"user"}, "expires_at": f.expiry(time.Hour)}, "name"},
		{"a name with a control character", map[string]any{"name": "a\x00b", "scopes": []string{"user"}, "expires_at": f.expiry(time.Hour)}, "name"},
		{"an unknown field", map[string]any{"name": "k", "scope": []string{"user"}, "expires_at": f.expiry(time.Hour)}, ""},
		{"a body that is not JSON", "name=k", ""},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			a := f.do(call{method: "POST", path: "/api/keys", auth: basic("admin", testPassword), body: c.body})
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", a.status, a.body)
			}
			m := a.json(t)
			if m["code"] != "invalid" || m["message"] == "" {
				t.Errorf("body = %s", a.body)
			}
			if c.field != "" && m["field"] != c.field {
				t.Errorf("field = %v, want %s", m["field"], c.field)
			}
		})
	}
	keys, err := f.store.ListKeys(context.Background(), f.admin.ID)
	if err != nil || len(keys) != 0 {
		t.Errorf("after refusals the store holds %d keys (err %v), want 0", len(keys), err)
	}
}

func TestAKeyNeverMintsAStrongerKey(t *testing.T) {
	// checklist A5
	f := newFixture(t)
	userOnly, _ := f.createKey("admin", "user-only", []string{"user"}, 30*24*time.Hour)
	channelsOnly, _ := f.createKey("admin", "channels-only", []string{"channels"}, 30*24*time.Hour)
	cases := []struct {
		name   string
		auth   string
		scopes []string
		ttl    time.Duration
		status int
	}{
		{"a user key may mint a user key that expires sooner", bearer(userOnly), []string{"user"}, 24 * time.Hour, http.StatusCreated},
		{"a user key may not add the channels scope", bearer(userOnly), []string{"user", "channels"}, 24 * time.Hour, http.StatusForbidden},
		{"a user key may not outlive itself", bearer(userOnly), []string{"user"}, 60 * 24 * time.Hour, http.StatusForbidden},
		{"a channels key may not use the user API at all", bearer(channelsOnly), []string{"channels"}, time.Hour, http.StatusForbidden},
		{"a user key of an administrator may not grant administration", bearer(userOnly), []string{"user", "admin"}, time.Hour, http.StatusForbidden},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(call{method: "POST", path: "/api/keys", auth: c.auth,
				body: map[string]any{"name": fmt.Sprintf("child-%d", i), "scopes": c.scopes, "expires_at": f.expiry(c.ttl)}})
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
		})
	}
	t.Run("a user who is not an administrator cannot create an admin key", func(t *testing.T) {
		f.user("bob", false)
		a := f.do(call{method: "POST", path: "/api/keys", auth: basic("bob", testPassword),
			body: map[string]any{"name": "x", "scopes": []string{"admin"}, "expires_at": f.expiry(time.Hour)}})
		if a.status != http.StatusForbidden {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	})
}

func TestRevokedKeyIsRefusedOnTheVeryNextRequest(t *testing.T) {
	// checklist A6, B3
	f := newFixture(t)
	key, id := f.createKey("admin", "ci", []string{"user"}, 24*time.Hour)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != http.StatusOK {
		t.Fatalf("fresh key refused: %d %s", a.status, a.body) // and now it is cached
	}
	if a := f.do(call{method: "DELETE", path: fmt.Sprintf("/api/keys/%d", id), auth: basic("admin", testPassword)}); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("revoked key: status %d, want 401", a.status)
	}
	m := a.json(t)
	if m["reason"] != "API KEY REVOKED" || !strings.Contains(m["message"].(string), "revoked on 2026-03-14") {
		t.Errorf("body = %s", a.body)
	}
	if a.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	events, _ := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: gatehouse.AuditKeyUseRevoked})
	if len(events) != 1 {
		t.Errorf("use-after-revoke audit events = %d, want 1", len(events))
	}
}

func TestRevokeIsIdempotentAndHidesOtherUsersKeys(t *testing.T) {
	// checklist A7
	f := newFixture(t)
	f.user("bob", false)
	_, id := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	path := fmt.Sprintf("/api/keys/%d", id)
	for i := range 2 {
		if a := f.do(call{method: "DELETE", path: path, auth: basic("admin", testPassword)}); a.status != http.StatusNoContent {
			t.Fatalf("revoke #%d: %d %s", i+1, a.status, a.body)
		}
	}
	if a := f.do(call{method: "DELETE", path: path, auth: basic("bob", testPassword)}); a.status != http.StatusNotFound {
		t.Errorf("revoking another user's key: %d, want 404", a.status)
	}
	if a := f.do(call{method: "DELETE", path: "/api/keys/999999", auth: basic("bob", testPassword)}); a.status != http.StatusNotFound {
		t.Errorf("revoking a key that does not exist: %d, want 404", a.status)
	}
}

func TestCreatingAKeyWithAnExistingNameReplacesIt(t *testing.T) {
	// checklist A8: the rotated-out key stops working at once.
	f := newFixture(t)
	old, _ := f.createKey("admin", "laptop", []string{"user"}, time.Hour)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(old)}); a.status != http.StatusOK {
		t.Fatalf("old key: %d", a.status)
	}
	fresh, _ := f.createKey("admin", "laptop", []string{"user"}, time.Hour)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(fresh)}); a.status != http.StatusOK {
		t.Errorf("new key refused: %d %s", a.status, a.body)
	}
	a := f.do(call{method: "GET", path: "/api/account", auth: bearer(old)})
	if a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), "replaced") {
		t.Errorf("old key after replacement: %d %s", a.status, a.body)
	}
	events, _ := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: gatehouse.AuditKeyReplace})
	if len(events) != 1 {
		t.Errorf("replace audit events = %d, want 1", len(events))
	}
}

func TestKeyExpiresAtItsInstant(t *testing.T) {
	// checklist A9: the clock is fake, nothing sleeps.
	f := newFixture(t)
	key, _ := f.createKey("admin", "short", []string{"user"}, time.Hour)
	f.clock.Advance(time.Hour - time.Second)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != http.StatusOK {
		t.Fatalf("one second before expiry: %d %s", a.status, a.body)
	}
	f.clock.Advance(2 * time.Second)
	a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("one second after expiry: %d", a.status)
	}
	if m := a.json(t); m["reason"] != "API KEY EXPIRED" || !strings.Contains(m["message"].(string), "expired on 2026-03-14") {
		t.Errorf("body = %s", a.body)
	}
}

func TestDisablingAUserStopsTheirKeysAtOnce(t *testing.T) {
	// checklist A10
	f := newFixture(t)
	f.user("bob", false)
	key, _ := f.createKey("bob", "ci", []string{"user"}, time.Hour)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != http.StatusOK {
		t.Fatalf("before: %d", a.status)
	}
	a := f.do(call{method: "PATCH", path: "/api/admin/users/bob", auth: basic("admin", testPassword), body: map[string]any{"disabled": true}})
	if a.status != http.StatusOK {
		t.Fatalf("disable: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != http.StatusUnauthorized {
		t.Errorf("key of a disabled user: %d, want 401", a.status)
	}
	if a := f.do(call{method: "GET", path: "/api/account", auth: basic("bob", testPassword)}); a.status != http.StatusUnauthorized {
		t.Errorf("password of a disabled user: %d, want 401", a.status)
	}
}

func TestKeyScopesFollowTheOwnerAtTheMomentOfUse(t *testing.T) {
	f := newFixture(t)
	f.user("carol", true)
	key, _ := f.createKey("carol", "ops", []string{"user", "admin"}, time.Hour)
	if a := f.do(call{method: "GET", path: "/api/admin/users", auth: bearer(key)}); a.status != http.StatusOK {
		t.Fatalf("admin key of an administrator: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "PATCH", path: "/api/admin/users/carol", auth: basic("admin", testPassword), body: map[string]any{"is_admin": false}}); a.status != http.StatusOK {
		t.Fatalf("demote: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "GET", path: "/api/admin/users", auth: bearer(key)}); a.status != http.StatusForbidden {
		t.Errorf("admin key of a demoted user: %d, want 403", a.status)
	}
	userKey, _ := f.createKey("admin", "plain", []string{"user"}, time.Hour)
	a := f.do(call{method: "GET", path: "/api/admin/audit", auth: bearer(userKey)})
	if a.status != http.StatusForbidden || !strings.Contains(string(a.body), "Administration scope") {
		t.Errorf("user-scope key on the admin API: %d %s", a.status, a.body)
	}
}

func TestMalformedKeysAreRefusedWithoutADatabaseLookup(t *testing.T) {
	// checklist B1
	f := newFixture(t)
	good, _ := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	bad := []struct{ name, key string }{
		{"a wrong prefix", "xx-" + good[3:]},
		{"a bad checksum", good[:len(good)-1] + flip(good[len(good)-1])},
		{"a short key", good[:20]},
		{"a long key", good + "A"},
		{"a non-base62 character", good[:10] + "_" + good[11:]},
		{"a 10 KB value", "gk-" + strings.Repeat("A", 10<<10)},
	}
	before := f.store.keyLookups.Load()
	for _, b := range bad {
		t.Run("refuses "+b.name, func(t *testing.T) {
			a := f.do(call{method: "GET", path: "/api/account", auth: bearer(b.key), remote: "198.51.100.7:1"})
			if a.status != http.StatusUnauthorized {
				t.Fatalf("status %d", a.status)
			}
			if strings.Contains(string(a.body), b.key[3:12]) {
				t.Errorf("the answer echoes the key: %s", a.body)
			}
		})
	}
	if n := f.store.keyLookups.Load() - before; n != 0 {
		t.Errorf("malformed keys caused %d database lookups, want 0", n)
	}
	// checklist B2: a well-formed unknown key costs one lookup and is refused.
	unknown, _ := apikey.Generate()
	a := f.do(call{method: "GET", path: "/api/account", auth: bearer(unknown)})
	if a.status != http.StatusUnauthorized || a.json(t)["reason"] != "INVALID API KEY" {
		t.Errorf("unknown key: %d %s", a.status, a.body)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestEveryCredentialFormIsAccepted(t *testing.T) {
	// checklist B4
	f := newFixture(t)
	key, _ := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	for _, c := range []struct{ name, auth string }{
		{"Bearer", bearer(key)},
		{"token", "token " + key},
		{"Basic with the key as password and any user name", basic("whoever", key)},
		{"Basic with the owner's name", basic("admin", key)},
		{"Basic with username and password", basic("admin", testPassword)},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(call{method: "GET", path: "/api/account", auth: c.auth})
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if u := a.json(t)["user"].(map[string]any); u["username"] != "admin" {
				t.Errorf("user = %v", u)
			}
		})
	}
	for _, c := range []struct{ name, auth string }{
		{"an unknown scheme", "Digest abc"},
		{"Basic that is not base64", "Basic !!!"},
		{"an empty Bearer", "Bearer "},
	} {
		t.Run("refuses "+c.name, func(t *testing.T) {
			if a := f.do(call{method: "GET", path: "/api/account", auth: c.auth}); a.status != http.StatusUnauthorized {
				t.Fatalf("status %d", a.status)
			}
		})
	}
}

func TestFailedKeysFromOneAddressAreSlowedDown(t *testing.T) {
	// checklist B7, I5
	f := newFixture(t)
	good, _ := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	var limited answer
	for i := range 10_000 {
		k, _ := apikey.Generate()
		a := f.do(call{method: "GET", path: "/api/account", auth: bearer(k), remote: "203.0.113.9:5555"})
		if a.status == http.StatusTooManyRequests {
			limited = a
			if i < 10 {
				t.Errorf("throttled after only %d attempts", i)
			}
			break
		}
	}
	if limited.status != http.StatusTooManyRequests {
		t.Fatal("10,000 bad keys from one address were never throttled")
	}
	if limited.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(good), remote: "198.51.100.1:1"}); a.status != http.StatusOK {
		t.Errorf("a good key from another address: %d, want 200", a.status)
	}
	f.clock.Advance(time.Minute)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(good), remote: "203.0.113.9:5555"}); a.status != http.StatusOK {
		t.Errorf("the throttled address after a minute: %d, want 200 (no permanent lock)", a.status)
	}
}

func TestFailedSignInsForOneAccountAreSlowedDownFromAnyAddress(t *testing.T) {
	// checklist E7: per account, without a permanent lock.
	f := newFixture(t)
	throttled := false
	for i := range 50 {
		a := f.do(call{method: "GET", path: "/api/account", auth: basic("admin", "wrong password"), remote: fmt.Sprintf("198.51.100.%d:1", i+1)})
		if a.status == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("50 wrong passwords from 50 addresses were never throttled")
	}
	f.clock.Advance(10 * time.Minute)
	if a := f.do(call{method: "GET", path: "/api/account", auth: basic("admin", testPassword), remote: "192.0.2.200:1"}); a.status != http.StatusOK {
		t.Errorf("right password after the throttle period: %d", a.status)
	}
}

func TestAccountShowsTheKeysScopesAndExpiry(t *testing.T) {
	f := newFixture(t)
	key, _ := f.createKey("admin", "ci", []string{"user", "channels"}, 48*time.Hour)
	m := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}).json(t)
	k := m["key"].(map[string]any)
	if k["name"] != "ci" || fmt.Sprint(k["scopes"]) != "[user channels]" {
		t.Errorf("key = %v", k)
	}
	want := f.clock.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if k["expires_at"] != want {
		t.Errorf("expires_at = %v, want %s", k["expires_at"], want)
	}
	if m["auth_method"] != "key" || fmt.Sprint(m["scopes"]) != "[user channels]" {
		t.Errorf("account = %v", m)
	}
}

func TestKeysNeverReachTheLogs(t *testing.T) {
	// checklist J1
	f := newFixture(t)
	key, id := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	f.do(call{method: "GET", path: "/api/nothing/t/" + key + "/x", auth: bearer(key)})
	f.do(call{method: "DELETE", path: fmt.Sprintf("/api/keys/%d", id), auth: bearer(key)})
	f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	logs := f.logs.String()
	if !strings.Contains(logs, "/api/account") {
		t.Fatal("the access log is empty: the test proves nothing")
	}
	if strings.Contains(logs, key[3:20]) || strings.Contains(logs, key[len(key)-12:]) {
		t.Errorf("a key reached the logs:\n%s", logs)
	}
}
