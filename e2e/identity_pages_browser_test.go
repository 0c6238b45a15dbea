package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// The identity pages in Chromium against the real binary: an
// organization's service keys, single sign-on and key policy tabs,
// Administration → Key policy and Domains, and a channel's trusted
// publishers, at a desktop width and at 400 px (a phone), where no page
// may be wider than the window.

// widths are the viewports every identity page is checked at.
var widths = []int64{1280, 400}

// assertFits fails if the page is wider than the window: a horizontal
// scroll bar on a phone.
func assertFits(t *testing.T, b *Browser, page string, width int64) {
	t.Helper()
	got := Get(t, b, "measuring "+page, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if got > width {
		wide := Get(t, b, "finding what sticks out", chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > %d && e.getClientRects().length && !e.parentElement.closest(".table-wrap, pre"))
			.slice(0, 6).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`, width)))
		t.Errorf("%s at %d px is %d px wide: %v", page, width, got, wide)
	}
}

// atWidth sets the viewport and opens path, waiting for the element
// with the id ready.
func atWidth(t *testing.T, b *Browser, width int64, url, ready string) {
	t.Helper()
	b.Do(t, fmt.Sprintf("opening %s at %d px", url, width),
		chromedp.EmulateViewport(width, 860),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID(ready)),
	)
}

// identitySetup creates, through the API, an organization, its private
// channel, and a user who is a plain member of it; it returns their names
// and the member's password.
func identitySetup(t *testing.T, srv *Server) (org, channel, member, memberPW string) {
	t.Helper()
	org, member, memberPW = uniqueName("acme"), uniqueName("bob"), randomText(20)
	channel = org + "-lab"
	srv.RecordSecret(memberPW)
	admin := basic("admin", srv.AdminPassword)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/admin/users", fmt.Sprintf(`{"username":%q,"password":%q}`, member, memberPW)},
		{"POST", "/api/orgs", `{"name":"` + org + `"}`},
		{"PUT", "/api/orgs/" + org + "/members/" + member, `{"role":"member"}`},
		{"POST", "/api/channels", `{"name":"` + channel + `","visibility":"private","owner":"` + org + `"}`},
	} {
		if r := call(t, c.method, srv.URL+c.path, c.body, admin); r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	return org, channel, member, memberPW
}

func TestBrowserIdentityPages(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	org, channel, member, memberPW := identitySetup(t, srv)
	b := NewBrowser(t, 180*time.Second)
	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)

	b.Do(t, "opening the organization's Key policy tab",
		chromedp.Navigate(srv.URL+"/orgs/"+org),
		chromedp.WaitVisible(chromedp.ID("tab-org-policy")),
		chromedp.Click(chromedp.ID("tab-org-policy")),
		chromedp.WaitVisible(chromedp.ID("policy-form")),
	)
	b.Do(t, "asking for a lifetime over a year (past the browser's own check)",
		chromedp.SetValue(chromedp.ID("policy-max"), "500"),
		chromedp.SetValue(chromedp.ID("policy-warning"), "10"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("policy-form").noValidate = true`),
		chromedp.Click(chromedp.ID("policy-save")),
		chromedp.WaitVisible(chromedp.ID("error-max_key_lifetime_days")),
	)
	b.Do(t, "setting 60 days",
		chromedp.SetValue(chromedp.ID("policy-max"), "60"),
		chromedp.Click(chromedp.ID("policy-save")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)

	var key string
	t.Run("a service key is created within the policy, shown once, listed with its creator, and revoked", func(t *testing.T) {
		b.Do(t, "opening the create dialog on the Service keys tab",
			chromedp.Click(chromedp.ID("tab-org-keys")),
			chromedp.WaitVisible(chromedp.ID("create-org-key-open")),
			chromedp.Click(chromedp.ID("create-org-key-open")),
			chromedp.WaitVisible(chromedp.ID("org-key-name")),
		)
		presets := Get(t, b, "reading the expiry choices", chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("#org-key-expiration option")].map(o => o.value)`))
		if strings.Join(presets, ",") != "7,30,60,custom" {
			t.Errorf("the expiry choices under a 60-day policy are %v", presets)
		}
		b.Do(t, "creating a read-only key for the lab channel",
			chromedp.SendKeys(chromedp.ID("org-key-name"), "ci"),
			chromedp.Click(chromedp.CSS("#org-key-restrict summary")),
			chromedp.WaitVisible(chromedp.ID("org-key-channel-"+channel)),
			chromedp.Click(chromedp.ID("org-key-channel-"+channel)),
			chromedp.Click(chromedp.ID("org-key-read-only")),
			chromedp.Click(chromedp.ID("create-org-key-submit")),
			chromedp.WaitVisible(chromedp.ID("new-key")),
			chromedp.WaitVisible(chromedp.ID("copy-new-key")),
		)
		key = strings.TrimSpace(Get(t, b, "reading the key", chromedp.Text(chromedp.ID("new-key"))))
		srv.RecordSecret(key)
		if r := call(t, "GET", srv.URL+"/repo/"+channel+"/noarch/repodata.json", "", bearer(key)); r.Status != http.StatusOK {
			t.Errorf("the service key reading its channel: %d %s", r.Status, r.Body)
		}
		b.Do(t, "closing the dialog", chromedp.Click(chromedp.ID("new-key-close")), chromedp.WaitNotPresent(chromedp.ID("new-key-dialog")))
		if strings.Contains(b.HTML(t), key) {
			t.Error("the key is still in the page after the dialog closed")
		}
		who := Get(t, b, "reading the creator", chromedp.Text(chromedp.CSS(`tr[data-key-name="ci"] [data-created-by]`)))
		if who != "admin" {
			t.Errorf("created by %q", who)
		}
	})

	t.Run("a channel trusts a GitHub Actions workflow from the preset, with the snippet to copy", func(t *testing.T) {
		b.Do(t, "adding a publisher",
			chromedp.Navigate(srv.URL+"/channels/"+channel),
			chromedp.WaitVisible(chromedp.ID("publishers-link")),
			chromedp.Click(chromedp.ID("publishers-link")),
			chromedp.WaitVisible(chromedp.ID("preset-github")),
			chromedp.Click(chromedp.ID("preset-github")),
			chromedp.WaitVisible(chromedp.ID("preset-help")),
			chromedp.SendKeys(chromedp.ID("claim-value-0"), org+"/lab"),
			chromedp.SendKeys(chromedp.ID("claim-value-1"), org+"/lab/.github/workflows/release.yml@refs/heads/main"),
			chromedp.SendKeys(chromedp.ID("claim-value-2"), "release"),
			chromedp.Click(chromedp.ID("publisher-add")),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-issuer="https://token.actions.githubusercontent.com"]`)),
		)
		snippet := Get(t, b, "reading the GitHub Actions snippet", chromedp.Text(chromedp.ID("snippet-github")))
		if !strings.Contains(snippet, "id-token: write") || !strings.Contains(snippet, "--channel "+channel) {
			t.Errorf("the snippet:\n%s", snippet)
		}
		if r := call(t, "GET", srv.URL+"/api/channels/"+channel+"/trusted-publishers", "", basic("admin", srv.AdminPassword)); !strings.Contains(r.Body, `"environment":"release"`) {
			t.Errorf("the API lists %s", r.Body)
		}
	})

	pages := []struct{ path, ready string }{
		{"/orgs/" + org + "/keys", "org-keys-table"},
		{"/orgs/" + org + "/sso", "sso-form"},
		{"/orgs/" + org + "/policy", "policy-form"},
		{"/admin/policy", "policy-form"},
		{"/admin/domains", "pending-domains"},
		{"/channels/" + channel + "/publishers", "publishers-table"},
	}
	for _, w := range widths {
		t.Run(fmt.Sprintf("every page fits %d px", w), func(t *testing.T) {
			for i, p := range pages {
				atWidth(t, b, w, srv.URL+p.path, p.ready)
				assertFits(t, b, p.path, w)
				// Pictures for people to look at, as the keys test leaves.
				png := Get(t, b, "taking a screenshot", chromedp.FullScreenshot(100)) // 100: PNG
				if err := os.WriteFile(fmt.Sprintf("/tmp/gatehouse-identity-%d-%d.png", i, w), png, 0o644); err != nil {
					t.Logf("saving the screenshot: %v", err)
				}
			}
			b.Do(t, "opening the create dialog", chromedp.Navigate(srv.URL+"/orgs/"+org+"/keys?create"), chromedp.WaitVisible(chromedp.ID("org-key-name")))
			assertFits(t, b, "the create dialog", w)
		})
	}
	b.Do(t, "back to the desktop width", chromedp.EmulateViewport(1280, 860))
	b.Do(t, "revoking the key",
		chromedp.Navigate(srv.URL+"/orgs/"+org+"/keys"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-key-name="ci"] .actions a`)),
		chromedp.Click(chromedp.CSS(`tr[data-key-name="ci"] .actions a`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] button.danger`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if st := Get(t, b, "reading the status", chromedp.Text(chromedp.CSS(`tr[data-key-name="ci"] [data-status]`))); st != "revoked" {
		t.Errorf("after revoking, the status is %q", st)
	}
	b.SignOut(t)

	t.Run("a plain member is refused every identity page and offered none of their controls", func(t *testing.T) {
		b.SignIn(t, srv.URL, "/orgs/"+org, member, memberPW)
		b.Do(t, "opening the organization", chromedp.WaitVisible(chromedp.ID("tab-members")))
		html := b.HTML(t)
		for _, id := range []string{"tab-org-keys", "tab-org-sso", "tab-org-policy"} {
			if strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("a member is offered %s", id)
			}
		}
		for _, w := range widths {
			for _, p := range pages {
				atWidth(t, b, w, srv.URL+p.path, "page-error")
				assertFits(t, b, "the refusal of "+p.path, w)
				html := b.HTML(t)
				for _, form := range []string{"create-org-key-form", "sso-form", "policy-form", "publisher-form", "confirm-"} {
					if strings.Contains(html, form) {
						t.Errorf("%s shows %s to a member", p.path, form)
					}
				}
			}
		}
		msg := Get(t, b, "reading the refusal", chromedp.Text(chromedp.ID("page-error")))
		if msg == "" {
			t.Error("the refusal says nothing")
		}
	})
	b.AssertNoPageErrors(t)
}

// Single sign-on configured in the organization's page against a real
// provider, the claim confirmed in Administration → Domains, then a
// person of the provider signing in through it: the account is created,
// and the group mapping made in the page gives her the channel.
func TestBrowserSingleSignOnConfiguredInThePage(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{Env: []string{"GATEHOUSE_SECRET_KEY=" + e2eSealKey}})
	org, channel, _, _ := identitySetup(t, srv)
	domain := org + ".example"
	clientSecret := "cs-" + randomText(24)
	srv.RecordSecret(clientSecret) // sealed in the database, never in clear
	idp := idptest.Start(t)
	idp.AddClient("gatehouse", clientSecret, srv.URL+"/login/sso/callback")
	dana := uniqueName("dana")
	idp.AddUser(idptest.User{Username: dana, Email: dana + "@" + domain, EmailVerified: true, Groups: []string{"eng"}})

	b := NewBrowser(t, 150*time.Second)
	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
	b.Do(t, "filling the organization's single sign-on form",
		chromedp.Navigate(srv.URL+"/orgs/"+org),
		chromedp.WaitVisible(chromedp.ID("tab-org-sso")),
		chromedp.Click(chromedp.ID("tab-org-sso")),
		chromedp.WaitVisible(chromedp.ID("sso-form")),
		chromedp.SendKeys(chromedp.ID("sso-issuer"), idp.URL),
		chromedp.SendKeys(chromedp.ID("sso-client-id"), "gatehouse"),
		chromedp.SendKeys(chromedp.ID("sso-client-secret"), clientSecret),
		chromedp.SendKeys(chromedp.ID("sso-domains"), domain),
		chromedp.SendKeys(chromedp.ID("role-group-0"), "eng"),
		chromedp.SendKeys(chromedp.ID("grant-group-0"), "eng"),
		chromedp.SetValue(chromedp.ID("grant-channel-0"), channel),
		chromedp.SetValue(chromedp.ID("grant-role-0"), "write"),
		chromedp.Click(chromedp.ID("sso-save")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	html := b.HTML(t)
	if strings.Contains(html, clientSecret) {
		t.Error("the page shows the client secret back")
	}
	if st := Get(t, b, "reading the secret's state", chromedp.Text(chromedp.ID("sso-secret-state"))); st != "set" {
		t.Errorf("the secret's state reads %q", st)
	}
	if st := Get(t, b, "reading the claim's state", chromedp.Text(chromedp.CSS(`li[data-domain="`+domain+`"] [data-state]`))); st != "awaiting confirmation" {
		t.Errorf("the new claim reads %q", st)
	}
	b.Do(t, "confirming the claim in Administration → Domains",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/admin/users"]`)),
		chromedp.WaitVisible(chromedp.ID("tab-domains")),
		chromedp.Click(chromedp.ID("tab-domains")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-domain="`+domain+`"] button.primary`)),
		chromedp.Click(chromedp.CSS(`tr[data-domain="`+domain+`"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirmed-table tr[data-domain="`+domain+`"]`)),
	)
	b.SignOut(t)

	b.Do(t, "signing in with the work address",
		chromedp.SendKeys(chromedp.ID("identifier"), dana+"@"+domain),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("idp-username")),
		chromedp.SendKeys(chromedp.ID("idp-username"), dana),
		chromedp.Click(chromedp.ID("idp-sign-in")),
		chromedp.WaitVisible(chromedp.ID("user-menu")),
	)
	if who := Get(t, b, "reading the user menu", chromedp.Text(chromedp.CSS("#user-menu summary"))); strings.TrimSpace(who) != dana {
		t.Errorf("signed in as %q, want %s", who, dana)
	}
	b.Do(t, "opening the channel the group gives",
		chromedp.Navigate(srv.URL+"/channels/"+channel),
		chromedp.WaitVisible(chromedp.ID("channel-role")),
	)
	if role := Get(t, b, "reading the role", chromedp.Text(chromedp.ID("channel-role"))); role != "write" {
		t.Errorf("the group gives %q on %s", role, channel)
	}
	b.AssertNoPageErrors(t)
}
