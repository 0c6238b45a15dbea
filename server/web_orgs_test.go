package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func TestOrgPages(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("olivia", false)
	bob := e.addUser("bob", false)
	e.addUser("carol", false)
	owner := e.browser()
	owner.signIn("olivia", webTestPassword)

	role := func(org string, u *gatehouse.User) gatehouse.OrgRole {
		t.Helper()
		o, err := e.store.OrgByName(context.Background(), org)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.store.OrgMember(context.Background(), o.ID, u.ID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return ""
		} else if err != nil {
			t.Fatal(err)
		}
		return m.Role
	}

	assertContains(t, "an empty /orgs", owner.get("/orgs").Body, "You are not in any organization yet", `id="create-org-form"`)

	t.Run("creating an organization shows its page with the creator as owner", func(t *testing.T) {
		r := owner.post("/orgs", "/orgs", url.Values{"name": {"data-team"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "Organization data-team created", `id="member-olivia"`, `data-replace-url="/orgs/data-team"`, `id="add-member-form"`)
		assertContains(t, "/orgs", owner.get("/orgs").Body, `href="/orgs/data-team"`, "owner")
	})
	t.Run("a taken or malformed name is refused on the same page, value kept", func(t *testing.T) {
		for name, status := range map[string]int{"data-team": http.StatusConflict, "olivia": http.StatusConflict, "Bad Name": http.StatusBadRequest} {
			r := owner.post("/orgs", "/orgs", url.Values{"name": {name}})
			if r.StatusCode != status {
				t.Errorf("%q: status %d, want %d", name, r.StatusCode, status)
			}
			assertContains(t, "the answer", r.Body, `id="create-org-error"`, `value="`+name+`"`)
		}
	})
	t.Run("the owner adds bob as a member", func(t *testing.T) {
		r := owner.post("/orgs/data-team", "/orgs/data-team/members", url.Values{"username": {"bob"}, "role": {"member"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "bob is now a member of data-team", `id="member-bob"`)
		if got := role("data-team", bob); got != gatehouse.OrgMember {
			t.Errorf("bob's role = %q", got)
		}
	})
	t.Run("adding an unknown user says so and adds nobody", func(t *testing.T) {
		r := owner.post("/orgs/data-team", "/orgs/data-team/members", url.Values{"username": {"nobody"}, "role": {"member"}})
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", r.StatusCode)
		}
		// Issue 11 item 23: at the form, not at the head of the page.
		assertContains(t, "the answer", r.Body, `<p class="error" role="alert" id="add-member-error">`, `value="nobody"`, `id="members-table"`)
		if strings.Index(r.Body, `id="add-member-error"`) < strings.Index(r.Body, `id="members-table"`) {
			t.Error("the refusal is above the members table, far from the form")
		}
	})
	t.Run("a member sees the members but cannot manage them", func(t *testing.T) {
		m := e.browser()
		m.signIn("bob", webTestPassword)
		page := m.get("/orgs/data-team")
		if page.StatusCode != http.StatusOK {
			t.Fatalf("status %d", page.StatusCode)
		}
		if strings.Contains(page.Body, "add-member-form") || strings.Contains(page.Body, "remove-open-olivia") {
			t.Error("a member is offered member management")
		}
		assertContains(t, "bob's view", page.Body, `id="remove-open-bob"`, "Leave")
		r := m.post("/orgs/data-team", "/orgs/data-team/members", url.Values{"username": {"carol"}, "role": {"owner"}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("a member adding an owner: status %d", r.StatusCode)
		}
		r = m.post("/orgs/data-team", "/orgs/data-team/members/olivia/remove", url.Values{})
		if r.StatusCode != http.StatusForbidden || role("data-team", e.user("olivia")) != gatehouse.OrgOwner {
			t.Errorf("a member removing the owner: status %d", r.StatusCode)
		}
	})
	t.Run("a non-member gets not found, for pages and forms alike", func(t *testing.T) {
		c := e.browser()
		c.signIn("carol", webTestPassword)
		if r := c.get("/orgs/data-team"); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET: %d", r.StatusCode)
		}
		if r := c.get("/orgs/no-such-org"); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET of a missing org: %d", r.StatusCode)
		}
		r := c.post("/orgs", "/orgs/data-team/members", url.Values{"username": {"carol"}, "role": {"owner"}})
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("POST: %d", r.StatusCode)
		}
		if strings.Contains(r.Body, "olivia") {
			t.Error("the refusal shows the members")
		}
	})
	t.Run("the owner changes bob's role", func(t *testing.T) {
		r := owner.post("/orgs/data-team", "/orgs/data-team/members/bob", url.Values{"role": {"admin"}})
		if r.StatusCode != http.StatusOK || role("data-team", bob) != gatehouse.OrgAdmin {
			t.Fatalf("status %d, role %q", r.StatusCode, role("data-team", bob))
		}
		assertContains(t, "the answer", r.Body, "bob is now an admin of data-team")
	})
	t.Run("the role form does not add non-members", func(t *testing.T) {
		r := owner.post("/orgs/data-team", "/orgs/data-team/members/carol", url.Values{"role": {"member"}})
		if r.StatusCode != http.StatusNotFound || role("data-team", e.user("carol")) != "" {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	t.Run("the last owner cannot be demoted", func(t *testing.T) {
		r := owner.post("/orgs/data-team", "/orgs/data-team/members/olivia", url.Values{"role": {"member"}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, "at least one owner")
	})
	t.Run("removing goes through a confirmation dialog", func(t *testing.T) {
		page := owner.get("/orgs/data-team").Body
		assertContains(t, "the org page", page, `data-open="remove-dialog-bob"`, `action="/orgs/data-team/members/bob/remove"`,
			"Remove <strong>bob</strong> from <strong>data-team</strong>?")
		assertContains(t, "?remove=bob", owner.get("/orgs/data-team?remove=bob").Body, `aria-labelledby="remove-title-bob" open data-show`)
		r := owner.post("/orgs/data-team", "/orgs/data-team/members/bob/remove", url.Values{})
		if r.StatusCode != http.StatusOK || role("data-team", bob) != "" {
			t.Fatalf("status %d, role %q", r.StatusCode, role("data-team", bob))
		}
		assertContains(t, "the answer", r.Body, "bob was removed from data-team")
	})
	t.Run("a member can leave", func(t *testing.T) {
		owner.post("/orgs/data-team", "/orgs/data-team/members", url.Values{"username": {"carol"}, "role": {"member"}})
		c := e.browser()
		c.signIn("carol", webTestPassword)
		r := c.post("/orgs/data-team", "/orgs/data-team/members/carol/remove", url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "You left data-team", `data-replace-url="/orgs"`)
	})
}

// user returns an existing user by name.
func (e *webEnv) user(name string) *gatehouse.User {
	e.t.Helper()
	u, err := e.store.UserByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}
