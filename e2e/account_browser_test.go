package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// createUserInBrowser creates a user through Administration → Users, as
// the signed-in administrator, and waits for the row.
func createUserInBrowser(t *testing.T, b *Browser, srv *Server, username, password string) {
	t.Helper()
	b.Do(t, "creating user "+username+" on the administration page",
		chromedp.Navigate(srv.URL+"/orgs"),
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/admin/users"]`)),
		chromedp.WaitVisible(chromedp.ID("create-user-form")),
		chromedp.SendKeys(chromedp.ID("new-username"), username),
		chromedp.SendKeys(chromedp.ID("new-email"), username+"@example.com"),
		chromedp.SendKeys(chromedp.ID("new-password"), password),
		chromedp.Click(chromedp.ID("create-user-submit")),
		chromedp.WaitVisible(chromedp.ID("user-"+username)),
	)
}

// A person changes their password in Account Settings → Password, signs
// out, and signs in with the new one; the old one no longer works.
func TestBrowserChangePassword(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 90*time.Second)
	user := uniqueName("pat")
	// Random, so that the search for them in the logs and the database
	// (at cleanup) finds nothing by chance.
	first, second := randomText(16), "Ünïcode "+randomText(16)
	srv.RecordSecret(first)
	srv.RecordSecret(second)

	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
	createUserInBrowser(t, b, srv, user, first)
	b.SignOut(t)

	b.SignIn(t, srv.URL, "", user, first)
	b.Do(t, "changing the password",
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.Click(chromedp.ID("menu-account-settings")),
		chromedp.WaitVisible(chromedp.ID("tab-password")),
		chromedp.Click(chromedp.ID("tab-password")),
		chromedp.WaitVisible(chromedp.ID("password-form")),
		chromedp.SendKeys(chromedp.ID("current-password"), first),
		chromedp.SendKeys(chromedp.ID("new-password"), second),
		chromedp.SendKeys(chromedp.ID("confirm-password"), second),
		chromedp.Click(chromedp.ID("change-password")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if flash := Get(t, b, "reading the message", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "Your password was changed") {
		t.Errorf("the message reads %q", flash)
	}
	// Still signed in here, with the new session: a form still works.
	b.Do(t, "opening the keys page after the change",
		chromedp.Click(chromedp.ID("tab-api-keys")),
		chromedp.WaitVisible(chromedp.ID("create-key-open")),
	)
	b.SignOut(t)

	b.EnterPassword(t, user, first)
	b.Do(t, "trying the old password", chromedp.WaitVisible(chromedp.ID("page-error")))
	if msg := Get(t, b, "reading the error", chromedp.Text(chromedp.ID("page-error"))); msg != "Wrong username or password." {
		t.Errorf("the old password: %q", msg)
	}
	b.SignIn(t, srv.URL, "", user, second)
	if r := call(t, "GET", srv.URL+"/api/account", "", basic(user, second)); r.Status != http.StatusOK {
		t.Errorf("the new password over the API: %d", r.Status)
	}
	b.AssertNoPageErrors(t)
}

// An administrator creates a user, then an organization, and adds the
// user to it; the user then sees the organization.
func TestBrowserOrganizationMembers(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 90*time.Second)
	user := uniqueName("sam")
	org := uniqueName("team")
	pw := randomText(16)
	srv.RecordSecret(pw)

	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
	createUserInBrowser(t, b, srv, user, pw)
	b.Do(t, "creating the organization",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/orgs"]`)),
		chromedp.WaitVisible(chromedp.ID("create-org-form")),
		chromedp.SendKeys(chromedp.ID("org-name"), org),
		chromedp.Click(chromedp.ID("create-org-submit")),
		chromedp.WaitVisible(chromedp.ID("members-table")),
	)
	if title := Get(t, b, "reading the title", chromedp.Text(chromedp.ID("org-title"))); title != org {
		t.Errorf("the page is titled %q", title)
	}
	b.Do(t, "adding the user as an admin",
		chromedp.SendKeys(chromedp.ID("member-username"), user),
		chromedp.SetValue(chromedp.ID("member-role"), "admin"),
		chromedp.Click(chromedp.ID("add-member-submit")),
		chromedp.WaitVisible(chromedp.ID("member-"+user)),
	)
	role := Get(t, b, "reading the new member's role", chromedp.Value(chromedp.ID("role-"+user)))
	if role != "admin" {
		t.Errorf("the new member's role is %q", role)
	}
	if flash := Get(t, b, "reading the message", chromedp.Text(chromedp.CSS(".flash"))); flash != user+" is now an admin of "+org+"." {
		t.Errorf("the message reads %q", flash)
	}
	b.Do(t, "reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("member-"+user)))
	if loc := b.Location(t); loc != srv.URL+"/orgs/"+org {
		t.Errorf("after adding, the location is %q", loc)
	}
	b.SignOut(t)

	b.SignIn(t, srv.URL, "/orgs", user, pw)
	b.Do(t, "opening the organization as the new member",
		chromedp.WaitVisible(chromedp.ID("orgs-table")),
		chromedp.Click(chromedp.CSS(`#orgs-table a[href="/orgs/`+org+`"]`)),
		chromedp.WaitVisible(chromedp.ID("members-table")),
	)
	// An org admin may add members too.
	if !strings.Contains(b.HTML(t), `id="add-member-form"`) {
		t.Error("an organization admin is not offered the add-member form")
	}
	b.AssertNoPageErrors(t)
}
