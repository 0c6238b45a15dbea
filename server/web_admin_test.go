package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func TestAdminPagesAreForAdministratorsOnly(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	if strings.Contains(b.get("/settings/keys").Body, `href="/admin/users"`) {
		t.Error("a non-administrator's menu links to Administration")
	}
	before := e.dump()
	token := b.csrf("/settings/keys")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/users"},
		{"GET", "/admin/audit"},
		{"POST", "/admin/users"},
		{"POST", "/admin/users/root"},
		{"GET", "/admin/policy"},
		{"POST", "/admin/policy"},
		{"GET", "/admin/domains"},
		{"POST", "/admin/domains/team.example/confirm"},
		{"POST", "/admin/domains/team.example/reject"},
	} {
		t.Run(tc.method+" "+tc.path+" is forbidden", func(t *testing.T) {
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{"csrf_token": {token}, "username": {"eve"}, "password": {webTestPassword}, "is_admin": {"true"}, "disabled": {"true"}}
			}
			r := b.do(tc.method, tc.path, form)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.StatusCode)
			}
		})
	}
	if e.dump() != before {
		t.Error("refused administration requests changed the database")
	}
}

func TestAdminUsersPage(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	a := e.browser()
	a.signIn("root", webTestPassword)

	page := a.get("/admin/users")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("status %d", page.StatusCode)
	}
	assertContains(t, "the users page", page.Body, `id="user-root"`, "(you)", `id="create-user-form"`, `name="is_admin"`)
	if strings.Contains(page.Body, `action="/admin/users/root"`) {
		t.Error("the administrator is offered buttons that change themself")
	}

	t.Run("creating a user adds them to the table", func(t *testing.T) {
		r := a.post("/admin/users", "/admin/users", url.Values{"username": {"dana"}, "password": {webTestPassword}, "email": {"dana@example.com"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "User dana created", `id="user-dana"`, "dana@example.com", `data-replace-url="/admin/users"`)
		e.browser().signIn("dana", webTestPassword)
	})
	t.Run("bad users are refused on the same page, values kept but not the password", func(t *testing.T) {
		for _, tc := range []struct {
			form   url.Values
			status int
			msg    string
		}{
			{url.Values{"username": {"dana"}, "password": {webTestPassword}}, http.StatusConflict, "not available"},
			{url.Values{"username": {"Dana Smith!"}, "password": {webTestPassword}}, http.StatusBadRequest, "Names are"},
			{url.Values{"username": {"erin"}, "password": {"short"}}, http.StatusBadRequest, "at least 8"},
			{url.Values{"username": {"erin"}, "password": {webTestPassword}, "email": {"not-an-address"}}, http.StatusBadRequest, "email"},
		} {
			r := a.post("/admin/users", "/admin/users", tc.form)
			if r.StatusCode != tc.status {
				t.Errorf("%v: status %d, want %d", tc.form, r.StatusCode, tc.status)
			}
			assertContains(t, "the answer", r.Body, `id="create-user-error"`, tc.msg)
			if strings.Contains(r.Body, tc.form.Get("password")) {
				t.Error("the answer echoes the password")
			}
		}
		if _, err := e.store.UserByName(context.Background(), "erin"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("erin exists: %v", err)
		}
	})

	dana := e.browser()
	dana.signIn("dana", webTestPassword)
	key, _ := dana.createKeyInPage(keyForm2("k", "30", "", "user"))
	t.Run("disabling a user ends their sessions and stops their keys", func(t *testing.T) {
		if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusOK {
			t.Fatalf("before: %d", r.StatusCode)
		}
		r := a.post("/admin/users", "/admin/users/dana", url.Values{"disabled": {"true"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "dana is disabled", "disabled</span>", `name="disabled" value="false"`)
		if r := dana.get("/settings/keys"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("dana's session: %d", r.StatusCode)
		}
		if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("dana's key: %d", r.StatusCode)
		}
	})
	t.Run("enabling brings the keys back", func(t *testing.T) {
		a.post("/admin/users", "/admin/users/dana", url.Values{"disabled": {"false"}})
		if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusOK {
			t.Errorf("dana's key: %d", r.StatusCode)
		}
	})
	t.Run("make admin and remove admin", func(t *testing.T) {
		r := a.post("/admin/users", "/admin/users/dana", url.Values{"is_admin": {"true"}})
		assertContains(t, "the answer", r.Body, "dana is now an administrator")
		if u := e.user("dana"); !u.IsAdmin {
			t.Error("dana is not an administrator")
		}
		a.post("/admin/users", "/admin/users/dana", url.Values{"is_admin": {"false"}})
		if u := e.user("dana"); u.IsAdmin {
			t.Error("dana is still an administrator")
		}
	})
	t.Run("an administrator cannot disable themself", func(t *testing.T) {
		r := a.post("/admin/users", "/admin/users/root", url.Values{"disabled": {"true"}})
		if r.StatusCode != http.StatusBadRequest || e.user("root").Disabled {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	t.Run("unknown users and empty or odd forms are refused", func(t *testing.T) {
		if r := a.post("/admin/users", "/admin/users/nobody", url.Values{"disabled": {"true"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("unknown user: %d", r.StatusCode)
		}
		if r := a.post("/admin/users", "/admin/users/dana", url.Values{}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("empty form: %d", r.StatusCode)
		}
		if r := a.post("/admin/users", "/admin/users/dana", url.Values{"disabled": {"maybe"}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("odd value: %d", r.StatusCode)
		}
	})
}

var auditRow = regexp.MustCompile(`<tr data-id="(\d+)">`)

func TestAdminAuditPage(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	a := e.browser()
	a.signIn("root", webTestPassword) // event 1: auth.signin
	ctx := context.Background()
	for i := range 60 {
		e.srv.Services().Audit.Record(ctx, &gatehouse.AuditEvent{Time: e.clock(), Actor: "root", Action: gatehouse.AuditOrgCreate, Target: fmt.Sprintf("org:o%02d", i), Success: true})
	}
	ids := func(body string) []string {
		var out []string
		for _, m := range auditRow.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}

	first := a.get("/admin/audit")
	if first.StatusCode != http.StatusOK {
		t.Fatalf("status %d", first.StatusCode)
	}
	got := ids(first.Body)
	t.Run("the first page holds the 50 newest, newest first", func(t *testing.T) {
		if len(got) != 50 || got[0] != "61" || got[49] != "12" {
			t.Fatalf("ids = %v", got)
		}
		assertContains(t, "the first page", first.Body, `id="audit-older"`, "before_id=12", "org:o59", "org.create", "success")
		if strings.Contains(first.Body, `id="audit-newest"`) {
			t.Error("the first page links to itself as Newest")
		}
	})
	t.Run("Older pages on from there, to the end", func(t *testing.T) {
		older := a.get("/admin/audit?before_id=12")
		got := ids(older.Body)
		if len(got) != 11 || got[0] != "11" || got[10] != "1" {
			t.Fatalf("ids = %v", got)
		}
		if strings.Contains(older.Body, `id="audit-older"`) {
			t.Error("the last page links to an older one")
		}
		assertContains(t, "the last page", older.Body, `id="audit-newest"`, "auth.signin")
	})
	t.Run("the action filter keeps to that action, pages included", func(t *testing.T) {
		r := a.get("/admin/audit?action=auth.signin")
		if got := ids(r.Body); len(got) != 1 || got[0] != "1" {
			t.Fatalf("ids = %v", got)
		}
		assertContains(t, "the filtered page", r.Body, `<option value="auth.signin" selected>`)
		r = a.get("/admin/audit?action=org.create")
		assertContains(t, "the filtered page", r.Body, "action=org.create&amp;before_id=")
	})
	t.Run("a bad before_id is refused", func(t *testing.T) {
		if r := a.get("/admin/audit?before_id=-3"); r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", r.StatusCode)
		}
	})
}
