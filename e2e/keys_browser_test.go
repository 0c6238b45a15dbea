package e2e

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotPath is where TestBrowserAPIKeyLifecycle leaves a picture of
// the keys page with the new key's dialog open, for people to look at.
const screenshotPath = "/tmp/gatehouse-keys.png"

var keyShape = regexp.MustCompile(`^gk-[0-9A-Za-z]{49}$`)

// The flow of the seed's "API keys" page, in a real browser against the
// real binary: sign in, Account Settings → API Keys, create a key with a
// custom expiry, see it once, use it with plain HTTP, revoke it.
func TestBrowserAPIKeyLifecycle(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 90*time.Second)
	name := uniqueName("laptop")
	expiryDay := time.Now().UTC().AddDate(0, 0, 45).Format(time.DateOnly)

	b.SignIn(t, srv.URL, "/orgs", "admin", srv.AdminPassword)
	b.Do(t, "opening Account Settings → API Keys from the user menu",
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.WaitVisible(chromedp.ID("menu-account-settings")),
		chromedp.Click(chromedp.ID("menu-account-settings")),
		chromedp.WaitVisible(chromedp.ID("tab-api-keys")),
		chromedp.Click(chromedp.ID("tab-api-keys")),
		chromedp.WaitVisible(chromedp.ID("create-key-open")),
	)
	b.Do(t, "filling the Create API Key dialog",
		chromedp.Click(chromedp.ID("create-key-open")),
		chromedp.WaitVisible(chromedp.ID("create-key-dialog")),
		chromedp.SendKeys(chromedp.ID("key-name"), name),
		chromedp.WaitNotVisible(chromedp.ID("key-custom-date")),
		chromedp.SendKeys(chromedp.ID("key-expiration"), "Custom"), // types into the dropdown, as a person would
		chromedp.WaitVisible(chromedp.ID("key-custom-date")),
		chromedp.SetValue(chromedp.ID("key-custom-date"), expiryDay),
	)
	checked := Get(t, b, "reading the scope boxes", chromedp.Evaluate[[]bool](
		`[document.getElementById("scope-user").checked, document.getElementById("scope-channels").checked]`))
	if !checked[0] || !checked[1] {
		t.Fatalf("scope boxes = %v, want both ticked by default (a conda user needs Platform channels)", checked)
	}
	b.Do(t, "creating the key",
		chromedp.Click(chromedp.ID("create-key-submit")),
		chromedp.WaitVisible(chromedp.ID("new-key")),
	)
	key := strings.TrimSpace(Get(t, b, "reading the new key", chromedp.Text(chromedp.ID("new-key"))))
	srv.RecordSecret(key)
	if !keyShape.MatchString(key) {
		t.Fatalf("the dialog shows %q, not a key", key)
	}
	warning := Get(t, b, "reading the warning", chromedp.Text(chromedp.CSS("#new-key-dialog .warning")))
	if !strings.Contains(warning, "You will not be able to view your API key after you close the dialog") {
		t.Errorf("the warning reads %q", warning)
	}
	if !Get(t, b, "checking the dialog", chromedp.Evaluate[bool](`document.getElementById("new-key-dialog").matches(":modal")`)) {
		t.Error("the new key's dialog is not modal")
	}
	png := Get(t, b, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Errorf("saving the screenshot: %v", err)
	}

	b.Do(t, "closing the dialog",
		chromedp.Click(chromedp.ID("new-key-close")),
		chromedp.WaitNotPresent(chromedp.ID("new-key-dialog")),
	)
	if strings.Contains(b.HTML(t), key) {
		t.Error("the key is still in the page after the dialog closed")
	}
	b.Do(t, "reloading the page", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("keys-table")))
	t.Run("after a reload the key is nowhere in the page (checklist A3)", func(t *testing.T) {
		html := b.HTML(t)
		if f := NewSecretFinder([]string{key}); f.Find([]byte(html)) != "" {
			t.Fatalf("the reloaded page holds a piece of the key")
		}
		if loc := b.Location(t); loc != srv.URL+"/settings/keys" {
			t.Errorf("location = %q", loc)
		}
		if n := strings.Count(html, `data-key-name="`+name+`"`); n != 1 {
			t.Errorf("%d rows for the key: the reload resubmitted the form", n)
		}
	})

	t.Run("the key works with Bearer, with the scopes and the end of the chosen day", func(t *testing.T) {
		r := call(t, "GET", srv.URL+"/api/account", "", bearer(key))
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/account: %d %s", r.Status, r.Body)
		}
		var acct struct {
			User   struct{ Username string } `json:"user"`
			Scopes []string                  `json:"scopes"`
			Key    struct {
				Name      string    `json:"name"`
				Scopes    []string  `json:"scopes"`
				ExpiresAt time.Time `json:"expires_at"`
			} `json:"key"`
		}
		decode(t, r, &acct)
		if acct.User.Username != "admin" || acct.Key.Name != name || strings.Join(acct.Key.Scopes, ",") != "user,channels" {
			t.Errorf("account = %+v", acct)
		}
		if want := expiryDay + "T23:59:59Z"; acct.Key.ExpiresAt.UTC().Format(time.RFC3339) != want {
			t.Errorf("expires_at = %v, want %s", acct.Key.ExpiresAt, want)
		}
	})
	t.Run("the key works as the password of HTTP Basic", func(t *testing.T) {
		if r := call(t, "GET", srv.URL+"/api/account", "", basic("anyone", key)); r.Status != http.StatusOK {
			t.Errorf("GET /api/account: %d %s", r.Status, r.Body)
		}
	})

	rowID := Get(t, b, "finding the key's row", chromedp.Evaluate[string](
		`document.querySelector('tr[data-key-name="`+name+`"]').id.replace("key-", "")`))
	b.Do(t, "revoking the key through the confirmation dialog",
		chromedp.Click(chromedp.ID("revoke-open-"+rowID)),
		chromedp.WaitVisible(chromedp.ID("revoke-dialog-"+rowID)),
	)
	question := Get(t, b, "reading the question", chromedp.Text(chromedp.CSS("#revoke-dialog-"+rowID+" p")))
	if question != "Revoke key "+name+"? Anything using it stops working at once." {
		t.Errorf("the confirmation asks %q", question)
	}
	b.Do(t, "confirming",
		chromedp.Click(chromedp.ID("revoke-confirm-"+rowID)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if status := Get(t, b, "reading the status", chromedp.Text(chromedp.CSS("#key-"+rowID+" [data-status]"))); status != "revoked" {
		t.Errorf("status = %q, want revoked", status)
	}
	t.Run("the revoked key is refused at once, and says why", func(t *testing.T) {
		r := call(t, "GET", srv.URL+"/api/account", "", bearer(key))
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "revoked") {
			t.Errorf("GET /api/account: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("a 401 without WWW-Authenticate")
		}
	})
	b.AssertNoPageErrors(t)
}
