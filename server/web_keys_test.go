package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func keyForm2(name, expiration, custom string, scopes ...string) url.Values {
	return url.Values{"name": {name}, "expiration": {expiration}, "custom_date": {custom}, "scope": scopes}
}

func TestKeysPageShowsTheKeyOnceAndNeverAgain(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	alice := e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)

	empty := b.get("/settings/keys")
	if empty.StatusCode != http.StatusOK {
		t.Fatalf("GET /settings/keys: %d", empty.StatusCode)
	}
	assertContains(t, "the empty keys page", empty.Body, "Account Settings", `id="tab-api-keys"`, "Create API Key", "You have no API keys yet",
		"User resources", "Platform channels", `<option value="7"`, `<option value="custom"`, `type="date"`,
		`min="2026-03-11"`, `max="2027-03-10"`)
	if strings.Contains(empty.Body, `value="admin"`) {
		t.Error("a non-administrator is offered the Administration scope")
	}

	open := b.get("/settings/keys?create")
	assertContains(t, "?create (the no-script Create API Key link)", open.Body, `aria-labelledby="create-key-title" open data-show`)

	key, created := b.createKeyInPage(keyForm2("laptop", "30", "", "user", "channels"))
	t.Run("the creation answer shows the key in an open dialog, uncached", func(t *testing.T) {
		if got := created.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store (checklist A1)", got)
		}
		assertContains(t, "the creation answer", created.Body, `id="new-key-dialog"`, "open data-show", `data-copy="new-key"`,
			"API keys are only available at the time of creation. You will not be able to view your API key after you close the dialog. Save it in a secure location and do not share it.",
			`data-replace-url="/settings/keys"`)
		if strings.Contains(created.Body, "replaced-notice") {
			t.Error("a first key claims to replace another")
		}
		if created.Header.Get("Location") != "" {
			t.Error("the creation answer redirects: the key would have to travel in a URL")
		}
	})
	t.Run("the key works as a Bearer token with the scopes chosen", func(t *testing.T) {
		r := e.apiGet("/api/account", "Bearer "+key)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/account with the key: %d %s", r.StatusCode, r.Body)
		}
		var acct struct {
			Scopes []string `json:"scopes"`
			Key    struct {
				ExpiresAt time.Time `json:"expires_at"`
			} `json:"key"`
		}
		if err := json.Unmarshal([]byte(r.Body), &acct); err != nil {
			t.Fatal(err)
		}
		if strings.Join(acct.Scopes, ",") != "user,channels" {
			t.Errorf("scopes = %v", acct.Scopes)
		}
		if want := webStart.Add(30 * 24 * time.Hour); !acct.Key.ExpiresAt.Equal(want) {
			t.Errorf("expires_at = %v, want %v", acct.Key.ExpiresAt, want)
		}
	})
	t.Run("later pages and the API show only the hint (checklist A3)", func(t *testing.T) {
		// The use above records the last-used time in the background.
		for e.keys(alice)[0].LastUsedAt.IsZero() {
			runtime.Gosched()
		}
		page := b.get("/settings/keys")
		assertNoSecret(t, "GET /settings/keys", page.Body, key)
		assertContains(t, "the keys page", page.Body, "laptop", e.keys(alice)[0].Hint,
			"User resources", "Platform channels", "2026-03-10", "2026-04-09", "2026-03-10 22:30 UTC", "badge-active")
		if strings.Contains(page.Body, `id="new-key"`) {
			t.Error("a GET shows the new-key dialog")
		}
		list := b.get("/api/keys")
		if list.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/keys: %d", list.StatusCode)
		}
		assertNoSecret(t, "GET /api/keys", list.Body, key)
		assertNoSecret(t, "the database", e.dump(), key) // checklist A4
	})
}

func TestCreateKeyExpiry(t *testing.T) {
	// webStart is 2026-03-10 22:30:15 UTC.
	endOf := func(d string) time.Time {
		t0, _ := time.Parse(time.DateOnly, d)
		return t0.Add(24*time.Hour - time.Second)
	}
	ok := []struct {
		name, expiration, custom string
		want                     time.Time
	}{
		{"7 days is now plus 7 days", "7", "", webStart.AddDate(0, 0, 7)},
		{"30 days is now plus 30 days", "30", "", webStart.AddDate(0, 0, 30)},
		{"90 days is now plus 90 days", "90", "", webStart.AddDate(0, 0, 90)},
		{"1 year is now plus 365 days", "365", "", webStart.Add(gatehouse.MaxKeyLifetime)},
		{"a custom date ends at 23:59:59 UTC that day", "custom", "2026-04-24", endOf("2026-04-24")},
		{"tomorrow is the first custom date", "custom", "2026-03-11", endOf("2026-03-11")},
		{"the last day is capped at one year from now", "custom", "2027-03-10", webStart.Add(gatehouse.MaxKeyLifetime)},
	}
	for i, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			e := newWebEnv(t, "http://gatehouse.test")
			u := e.addUser("alice", false)
			b := e.browser()
			b.signIn("alice", webTestPassword)
			b.createKeyInPage(keyForm2("k"+strconv.Itoa(i), tc.expiration, tc.custom, "user"))
			ks := e.keys(u)
			if len(ks) != 1 || !ks[0].ExpiresAt.Equal(tc.want) {
				t.Fatalf("keys = %+v, want one expiring at %v", ks, tc.want)
			}
		})
	}

	bad := []struct {
		name, expiration, custom, msg string
	}{
		{"today is refused", "custom", "2026-03-10", "is not in the future"},
		{"a past date is refused", "custom", "2025-12-31", "is not in the future"},
		{"a date past one year is refused", "custom", "2027-03-11", "no later than 2027-03-10"},
		{"a malformed date is refused", "custom", "03/11/2026", "YYYY-MM-DD"},
		{"an empty custom date is refused", "custom", "", "YYYY-MM-DD"},
		{"an unknown preset is refused", "400", "", "Choose when the key expires"},
		{"a missing choice is refused", "", "", "Choose when the key expires"},
	}
	e := newWebEnv(t, "http://gatehouse.test")
	u := e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	for _, tc := range bad {
		t.Run(tc.name+", and the form comes back open with the values", func(t *testing.T) {
			r := b.post("/settings/keys", "/settings/keys", keyForm2("ci <runner>", tc.expiration, tc.custom, "channels"))
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", r.StatusCode)
			}
			assertContains(t, "the answer", r.Body, `id="create-key-error"`, tc.msg,
				`<dialog id="create-key-dialog" aria-labelledby="create-key-title" open data-show>`,
				`value="ci &lt;runner&gt;"`, `value="channels" id="scope-channels" checked`)
			if strings.Contains(r.Body, `value="user" id="scope-user" checked`) {
				t.Error("a scope not ticked comes back ticked")
			}
			if tc.custom != "" && !strings.Contains(r.Body, `value="`+tc.custom+`"`) {
				t.Errorf("the custom date %q is not kept", tc.custom)
			}
			if n := len(e.keys(u)); n != 0 {
				t.Errorf("%d keys were created", n)
			}
		})
	}
}

func TestCreateKeyScopes(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	alice := e.addUser("alice", false)
	root := e.addUser("root", true)
	b := e.browser()
	b.signIn("alice", webTestPassword)

	t.Run("no scope is refused with the reason", func(t *testing.T) {
		r := b.post("/settings/keys", "/settings/keys", keyForm2("none", "7", ""))
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, "Choose at least one scope")
	})
	t.Run("an unknown scope is refused", func(t *testing.T) {
		r := b.post("/settings/keys", "/settings/keys", keyForm2("odd", "7", "", "user", "root"))
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.StatusCode)
		}
	})
	t.Run("a non-administrator cannot grant Administration", func(t *testing.T) {
		r := b.post("/settings/keys", "/settings/keys", keyForm2("sneaky", "7", "", "user", "admin"))
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, "Only administrators")
	})
	if n := len(e.keys(alice)); n != 0 {
		t.Fatalf("refused forms created %d keys", n)
	}
	t.Run("an administrator is offered and granted Administration", func(t *testing.T) {
		a := e.browser()
		a.signIn("root", webTestPassword)
		assertContains(t, "the administrator's keys page", a.get("/settings/keys").Body, `value="admin" id="scope-admin"`, "Administration")
		key, _ := a.createKeyInPage(keyForm2("ops", "7", "", "admin"))
		if r := e.apiGet("/api/admin/users", "Bearer "+key); r.StatusCode != http.StatusOK {
			t.Errorf("the admin key on /api/admin/users: %d", r.StatusCode)
		}
		if ks := e.keys(root); len(ks) != 1 || ks[0].Scopes != gatehouse.ScopeAdmin {
			t.Errorf("keys = %+v", ks)
		}
	})
}

func TestCreateKeyWithAnExistingNameReplacesIt(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	u := e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	old, _ := b.createKeyInPage(keyForm2("ci", "30", "", "user", "channels"))
	e.advance(time.Minute)
	// Issue 11 item 11: reusing the name asks first, naming the key and
	// its expiry; nothing is revoked until the person confirms.
	ask := b.post("/settings/keys", "/settings/keys", keyForm2("ci", "90", "", "user"))
	if ask.StatusCode != http.StatusConflict {
		t.Fatalf("reusing the name without confirming: %d", ask.StatusCode)
	}
	assertContains(t, "the unconfirmed reuse", ask.Body, `id="key-name-warning" class="warning name-warning"`,
		"You already have an active key named “ci” (expires "+e.clock().Add(-time.Minute).AddDate(0, 0, 30).UTC().Format(time.DateOnly),
		`id="key-replace" value="ci" required`, "open data-show")
	if strings.Contains(ask.Body, `id="new-key"`) || len(e.keys(u)) != 1 || e.keys(u)[0].Status(e.clock()) != gatehouse.KeyActive {
		t.Fatalf("an unconfirmed reuse created or revoked a key: %+v", e.keys(u))
	}
	confirm := keyForm2("ci", "90", "", "user")
	confirm.Set("replace", "ci")
	fresh, r := b.createKeyInPage(confirm)
	assertContains(t, "the second creation", r.Body, `id="replaced-notice"`, "the old key with this name has been revoked")
	ks := e.keys(u)
	if len(ks) != 2 || ks[0].Status(e.clock()) != gatehouse.KeyActive || ks[1].RevokeReason != gatehouse.RevokedReplaced {
		t.Fatalf("keys = %+v", ks)
	}
	if r := e.apiGet("/api/account", "Bearer "+old); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "replaced") {
		t.Errorf("the replaced key: %d %s", r.StatusCode, r.Body)
	}
	if r := e.apiGet("/api/account", "Bearer "+fresh); r.StatusCode != http.StatusOK {
		t.Errorf("the new key: %d", r.StatusCode)
	}
	page := b.get("/settings/keys?show=all").Body
	assertContains(t, "the keys page", page, "badge-revoked", "replaced")
	assertNoSecret(t, "the keys page", page, old)
	assertNoSecret(t, "the keys page", page, fresh)
}

func TestRevokeKeyPage(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	alice := e.addUser("alice", false)
	e.addUser("mallory", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	key, _ := b.createKeyInPage(keyForm2("deploy", "30", "", "user"))
	id := e.keys(alice)[0].ID
	revokePath := "/settings/keys/" + strconv.FormatInt(id, 10) + "/revoke"

	page := b.get("/settings/keys").Body
	assertContains(t, "the keys page", page, "Never", `data-open="revoke-dialog-`+strconv.FormatInt(id, 10)+`"`,
		"Revoke key <strong>deploy</strong>? Anything using it stops working at once.", `action="`+revokePath+`"`)
	t.Run("?revoke opens the confirmation without script and changes nothing", func(t *testing.T) {
		r := b.get("/settings/keys?revoke=" + strconv.FormatInt(id, 10))
		assertContains(t, "the page", r.Body, `aria-labelledby="revoke-title-`+strconv.FormatInt(id, 10)+`" open data-show`)
		if e.keys(alice)[0].Status(e.clock()) != gatehouse.KeyActive {
			t.Fatal("a GET revoked the key")
		}
	})
	t.Run("someone else cannot revoke it: not found", func(t *testing.T) {
		m := e.browser()
		m.signIn("mallory", webTestPassword)
		r := m.post("/settings/keys", revokePath, url.Values{})
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.StatusCode)
		}
		if e.keys(alice)[0].Status(e.clock()) != gatehouse.KeyActive {
			t.Fatal("mallory revoked alice's key")
		}
	})
	t.Run("the owner revokes it and the key is refused at once", func(t *testing.T) {
		if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusOK {
			t.Fatalf("before: %d", r.StatusCode) // and now it is in the cache
		}
		r := b.post("/settings/keys", revokePath, url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "The key “deploy” was revoked", "badge-revoked", `data-replace-url="/settings/keys?show=all"`, "data-revoked-on")
		if strings.Contains(r.Body, "revoke-dialog-") {
			t.Error("a revoked key still has a Revoke button")
		}
		a := e.apiGet("/api/account", "Bearer "+key)
		if a.StatusCode != http.StatusUnauthorized || !strings.Contains(a.Body, "was revoked") {
			t.Errorf("after: %d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("revoking twice succeeds", func(t *testing.T) {
		if r := b.post("/settings/keys", revokePath, url.Values{}); r.StatusCode != http.StatusOK {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	t.Run("a malformed ID is not found", func(t *testing.T) {
		if r := b.post("/settings/keys", "/settings/keys/x/revoke", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", r.StatusCode)
		}
	})
}

// BenchmarkKeysPage measures GET /settings/keys for a user with 50 keys:
// session lookup, key listing and rendering.
func BenchmarkKeysPage(b *testing.B) {
	e := newWebEnv(b, "http://gatehouse.test")
	u := e.addUser("alice", false)
	for i := range 50 {
		k := &gatehouse.APIKey{UserID: u.ID, Name: "key-" + strconv.Itoa(i), Hash: make([]byte, 32), Hint: "gk-AbCd…wxyz",
			Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels, CreatedAt: webStart, ExpiresAt: webStart.AddDate(0, 1, 0)}
		k.Hash[0], k.Hash[1] = byte(i), 1
		if _, err := e.store.CreateKey(context.Background(), k); err != nil {
			b.Fatal(err)
		}
	}
	br := e.browser()
	br.signIn("alice", webTestPassword)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := br.get("/settings/keys"); r.StatusCode != http.StatusOK {
			b.Fatalf("status %d", r.StatusCode)
		}
	}
}
