package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// e2eSealKey is the --secret-key of servers that keep providers' secrets.
const e2eSealKey = "ZTJlLXNlYWwta2V5LTMyLWJ5dGVzLWxvbmctLS0tLS0="

// ssoServer starts the binary with an organization whose people sign in at
// a real OpenID provider running in this test: acme, its private channel
// lab (write for group eng), the provider's user carol in eng.
func ssoServer(t *testing.T) (*Server, *idptest.Provider, string) {
	t.Helper()
	srv := Start(t, gatehouseBin, Options{Env: []string{"GATEHOUSE_SECRET_KEY=" + e2eSealKey}})
	clientSecret := "cs-" + randomText(24)
	srv.RecordSecret(clientSecret) // sealed in the database, never in clear
	idp := idptest.Start(t)
	idp.AddClient("gatehouse", clientSecret, srv.URL+"/login/sso/callback")
	org := uniqueName("acme")
	domain := org + ".example"
	idp.AddUser(idptest.User{Username: "carol", Email: "carol@" + domain, EmailVerified: true, Groups: []string{"eng"}})
	admin := basic("admin", srv.AdminPassword)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/orgs", `{"name":"` + org + `"}`},
		{"POST", "/api/channels", `{"name":"` + org + `-lab","visibility":"private","owner":"` + org + `"}`},
		{"POST", "/api/channels", `{"name":"` + org + `-other","visibility":"private","owner":"` + org + `"}`},
		{"PUT", "/api/orgs/" + org + "/sso", `{"issuer":"` + idp.URL + `","client_id":"gatehouse","client_secret":"` + clientSecret + `",
			"domains":["` + domain + `"],"group_roles":{"eng":"member"},"group_channels":{"eng":{"` + org + `-lab":"write"}}}`},
		{"POST", "/api/admin/sso-domains/" + domain + "/confirm", `{"org":"` + org + `"}`},
	} {
		if r := call(t, c.method, srv.URL+c.path, c.body, admin); r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	return srv, idp, org
}

// Single sign-on in Chromium against the real binary and a real provider:
// the email step sends carol to her organization's provider, the first
// sign-in creates her account, the CLI's device approval page sits behind
// the same sign-in, and a key she limits to one channel in the dialog is
// refused on another with the 403 conda shows.
func TestBrowserSingleSignOnAndChannelRestrictedKey(t *testing.T) {
	srv, _, org := ssoServer(t)
	b := NewBrowser(t, 120*time.Second)
	b.Do(t, "opening the device approval page signed out, then giving the work address",
		chromedp.Navigate(srv.URL+"/device"),
		chromedp.WaitVisible(chromedp.ID("identifier")),
		chromedp.SendKeys(chromedp.ID("identifier"), "carol@"+org+".example"),
		chromedp.Click(chromedp.ID("continue")),
	)
	b.Do(t, "signing in at the organization's provider",
		chromedp.WaitVisible(chromedp.ID("idp-username")),
		chromedp.SendKeys(chromedp.ID("idp-username"), "carol"),
		chromedp.Click(chromedp.ID("idp-sign-in")),
		chromedp.WaitVisible(chromedp.ID("user-menu")),
	)
	if loc := b.Location(t); !strings.HasPrefix(loc, srv.URL+"/device") {
		t.Errorf("after single sign-on the browser is at %s, want back at the device approval page", loc)
	}
	if who := Get(t, b, "reading the user menu", chromedp.Text(chromedp.CSS("#user-menu summary"))); strings.TrimSpace(who) != "carol" {
		t.Errorf("signed in as %q, want carol (created on first sign-in)", who)
	}

	b.Do(t, "creating a key limited to the lab channel, read-only",
		chromedp.Navigate(srv.URL+"/settings/keys"),
		chromedp.WaitVisible(chromedp.ID("create-key-open")),
		chromedp.Click(chromedp.ID("create-key-open")),
		chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "docker-build"), // both scopes are ticked by default
		chromedp.Click(chromedp.CSS("#key-restrict summary")),
		chromedp.WaitVisible(chromedp.ID("key-channel-"+org+"-lab")),
		chromedp.Click(chromedp.ID("key-channel-"+org+"-lab")),
		chromedp.Click(chromedp.ID("key-read-only")),
		chromedp.Click(chromedp.ID("create-key-submit")),
		chromedp.WaitVisible(chromedp.ID("new-key")),
	)
	key := strings.TrimSpace(Get(t, b, "reading the new key", chromedp.Text(chromedp.ID("new-key"))))
	srv.RecordSecret(key)
	png := Get(t, b, "taking a screenshot", chromedp.FullScreenshot(90))
	if err := os.WriteFile("/tmp/gatehouse-sso-keys.png", png, 0o644); err != nil {
		t.Logf("saving the screenshot: %v", err)
	}

	t.Run("the key reads its channel and gets conda's 403 JSON on the other", func(t *testing.T) {
		if r := call(t, "GET", srv.URL+"/repo/"+org+"-lab/noarch/repodata.json", "", bearer(key)); r.Status != http.StatusOK {
			t.Fatalf("lab: %d %s", r.Status, r.Body)
		}
		r := call(t, "GET", srv.URL+"/repo/t/"+key+"/"+org+"-other/noarch/repodata.json", "", nil)
		var body struct{ Reason, Message string }
		decode(t, r, &body)
		if r.Status != http.StatusForbidden || body.Reason != "ACCESS DENIED" || !strings.Contains(body.Message, "limited to the channels") || strings.Contains(r.Body, key) {
			t.Errorf("other channel: %d %s", r.Status, r.Body)
		}
	})
	t.Run("the keys list shows the restriction", func(t *testing.T) {
		b.Do(t, "closing the dialog", chromedp.Click(chromedp.ID("new-key-close")), chromedp.WaitNotPresent(chromedp.ID("new-key-dialog")))
		cell := Get(t, b, "reading the key's channels", chromedp.Text(chromedp.CSS(`tr[data-key-name="docker-build"] [data-restriction]`)))
		if !strings.Contains(cell, org+"-lab") || !strings.Contains(cell, "read-only") {
			t.Errorf("restriction cell = %q", cell)
		}
	})
	b.AssertNoPageErrors(t)
}
