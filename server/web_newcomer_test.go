package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Issue 11: what a newcomer tripped over in the web pages, one test per
// item.

// Item 12: the Create API Key dialog opens with the defaults every key
// has (the CLI's too): both scopes, 90 days.
func TestKeyDialogOpensWithTheDefaultsEveryKeyHas(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	page := b.get("/settings/keys?create")
	assertContains(t, "the dialog", page.Body, `id="scope-user" checked`, `id="scope-channels" checked`, `<option value="90" selected>`)
	if gatehouse.DefaultKeyScopes != gatehouse.ScopeUser|gatehouse.ScopeChannels || gatehouse.DefaultKeyDays != 90 {
		t.Errorf("defaults %v, %d days", gatehouse.DefaultKeyScopes, gatehouse.DefaultKeyDays)
	}
	if strings.Contains(page.Body, `<option value="30" selected>`) {
		t.Error("30 days is still the dialog's default")
	}
}

// Items 14 and 15: unknown paths get the styled 404 page, titled with the
// reason and with links on; the section addresses people type redirect to
// their first tab.
func TestUnknownPathsGetAStyledNotFoundPage(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	signedOut := e.browser()
	for _, path := range []string{"/nope", "/settings/nope", "/channels/x/y/z", "/favicon.ico.bak"} {
		r := signedOut.get(path)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
		assertContains(t, path, r.Body, "<title>There is no page at this address. · Gatehouse</title>",
			`<h1 id="page-error" role="alert">There is no page at this address.</h1>`, "Page not found", `id="error-sign-in"`,
			`href="/register"`, `/static/gatehouse.css`)
		if strings.Contains(r.Body, "Something went wrong") || strings.Contains(r.Body, "404 page not found") {
			t.Errorf("GET %s is the old page", path)
		}
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s has no CSP (checklist E6)", path)
		}
	}
	// checklist J2: the 404 does not echo a key from the path.
	if r := signedOut.get("/gk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x"); strings.Contains(r.Body, "gk-AAAA") {
		t.Errorf("the 404 page echoes the path")
	}
	admin := e.browser()
	admin.signIn("root", webTestPassword)
	r := admin.get("/nope")
	assertContains(t, "the signed-in 404", r.Body, `href="/settings/keys"`, `href="/channels"`, `href="/admin/users"`, `id="user-menu"`)
	for from, to := range map[string]string{"/settings": "/settings/keys", "/settings/": "/settings/keys", "/account": "/settings/keys", "/admin": "/admin/users", "/admin/": "/admin/users"} {
		r := signedOut.do(http.MethodGet, from, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != to {
			t.Errorf("GET %s: %d to %q, want 303 to %s", from, r.StatusCode, r.Header.Get("Location"), to)
		}
	}
	// The JSON API keeps its own JSON 404.
	if r := e.apiGet("/api/nope", ""); !strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Errorf("/api/nope: %s", r.Header.Get("Content-Type"))
	}
}

// Item 15: a refusal page's heading is the reason itself.
func TestRefusalPagesAreTitledWithTheReason(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("bob", false)
	b := e.browser()
	b.signIn("bob", webTestPassword)
	r := b.get("/admin/users")
	if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Fatalf("a non-administrator on /admin/users: %d", r.StatusCode)
	}
	i := strings.Index(r.Body, `<h1 id="page-error" role="alert">`)
	if i < 0 {
		t.Fatalf("no reason heading:\n%s", r.Body)
	}
	heading := r.Body[i+len(`<h1 id="page-error" role="alert">`):]
	heading = heading[:strings.Index(heading, "</h1>")]
	if !strings.Contains(r.Body, "<title>"+heading+" · Gatehouse</title>") || heading == "" {
		t.Errorf("the title is not the reason %q", heading)
	}
}

// Item 17: the keys list shows active keys by default, with a filter for
// the expired and revoked ones and the day each was revoked.
func TestKeysListFiltersRevokedKeysAndDatesThem(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	alice := e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	b.createKeyInPage(keyForm2("build-server-01", "30", "", "user", "channels"))
	b.createKeyInPage(keyForm2("old-laptop", "30", "", "channels"))
	var oldID string
	for _, k := range e.keys(alice) {
		if k.Name == "old-laptop" {
			oldID = strconv.FormatInt(k.ID, 10)
		}
	}
	b.post("/settings/keys", "/settings/keys/"+oldID+"/revoke", url.Values{})
	day := e.clock().UTC().Format(time.DateOnly)

	active := b.get("/settings/keys").Body
	assertContains(t, "the default list", active, `data-key-name="build-server-01"`, `id="keys-show-active" aria-current="page">Active <span class="count">1</span>`,
		`Expired and revoked <span class="count">1</span>`, `<th>Last used</th>`, `class="strong key-name"`)
	if strings.Contains(active, `data-key-name="old-laptop"`) {
		t.Error("the revoked key is in the default list")
	}
	inactive := b.get("/settings/keys?show=inactive").Body
	assertContains(t, "the expired and revoked keys", inactive, `data-key-name="old-laptop"`, "revoked "+day)
	if strings.Contains(inactive, `data-key-name="build-server-01"`) {
		t.Error("an active key is among the revoked ones")
	}
	all := b.get("/settings/keys?show=all").Body
	assertContains(t, "all keys", all, `data-key-name="old-laptop"`, `data-key-name="build-server-01"`, `All <span class="count">2</span>`)
}

// Item 26: the first administrator, whose password was printed at first
// start, must choose a new one at the first web sign-in; every page sends
// them to the Password tab until they do, and back where they were going
// afterwards. Keys are unaffected.
func TestFirstAdministratorMustChangeThePrintedPassword(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	created, err := e.srv.Services().Users.EnsureInitialAdmin(t.Context(), "root", webTestPassword, true)
	if err != nil || !created {
		t.Fatalf("EnsureInitialAdmin: %v %v", created, err)
	}
	b := e.browser()
	b.signIn("root", webTestPassword)
	r := b.get("/admin/users")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/password?next=%2Fadmin%2Fusers" {
		t.Fatalf("a page before the change: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	page := b.get("/settings/password?next=%2Fadmin%2Fusers")
	assertContains(t, "the password tab", page.Body, `id="must-change-password"`, `name="next" value="/admin/users"`)
	// A POST elsewhere is refused, not performed.
	if r := b.post("/settings/password", "/orgs", url.Values{"name": {"team"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("creating an organization before the change: %d", r.StatusCode)
	}
	// checklist E8: the printed password may not be kept.
	same := url.Values{"current_password": {webTestPassword}, "new_password": {webTestPassword}, "confirm_password": {webTestPassword}, "next": {"/admin/users"}}
	if r := b.post("/settings/password", "/settings/password", same); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "not the one printed") {
		t.Errorf("keeping the printed password: %d", r.StatusCode)
	}
	const fresh = "a much better passphrase of mine"
	changed := b.post("/settings/password", "/settings/password", url.Values{"current_password": {webTestPassword},
		"new_password": {fresh}, "confirm_password": {fresh}, "next": {"/admin/users"}})
	if changed.StatusCode != http.StatusSeeOther || changed.Header.Get("Location") != "/admin/users" {
		t.Fatalf("changing the password: %d to %q", changed.StatusCode, changed.Header.Get("Location"))
	}
	if r := b.get("/admin/users"); r.StatusCode != http.StatusOK {
		t.Errorf("after the change, /admin/users: %d", r.StatusCode)
	}
	if u, err := e.store.UserByName(t.Context(), "root"); err != nil || u.MustChangePassword {
		t.Errorf("the flag after the change: %+v %v", u, err)
	}
	// An ordinary user, and an administrator whose password the operator
	// chose, are never asked.
	other := newWebEnv(t, "http://gatehouse.test")
	other.srv.Services().Users.EnsureInitialAdmin(t.Context(), "root", webTestPassword, false)
	ob := other.browser()
	ob.signIn("root", webTestPassword)
	if r := ob.get("/admin/users"); r.StatusCode != http.StatusOK {
		t.Errorf("an operator-chosen password: %d", r.StatusCode)
	}
}
