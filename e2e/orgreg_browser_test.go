package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The organization's Registration page and the Clients page in Chromium,
// at desktop width and at 400 px.
func TestBrowserOrganizationRegistrationAndClientsPages(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	admin := basic("admin", srv.AdminPassword)
	if r := call(t, "POST", srv.URL+"/api/orgs", `{"name":"acme"}`, admin); r.Status != http.StatusCreated {
		t.Fatalf("creating acme: %d %s", r.Status, r.Body)
	}
	// A key made for conda that has not fetched yet: a pending machine.
	key := newKey(t, srv, admin, "laptop", "channels")
	for _, width := range []int64{1280, 400} {
		t.Run(fmt.Sprintf("at %d px", width), func(t *testing.T) {
			b := NewBrowser(t, 120*time.Second)
			b.Do(t, "setting the viewport", chromedp.EmulateViewport(width, 900))
			b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
			name := fmt.Sprintf("laptops-%d", width)
			b.Do(t, "creating a registration token on the organization's page",
				chromedp.Navigate(srv.URL+"/orgs/acme"),
				chromedp.WaitVisible(chromedp.ID("org-registration-link")),
				chromedp.Click(chromedp.ID("org-registration-link")),
				chromedp.WaitVisible(chromedp.ID("token-name")),
				chromedp.SendKeys(chromedp.ID("token-name"), name),
				chromedp.Click(chromedp.ID("create-token-button")),
				chromedp.WaitVisible(chromedp.ID("new-token")),
			)
			tok := strings.TrimSpace(Get(t, b, "reading the new token", chromedp.Text(chromedp.ID("new-token"))))
			srv.RecordSecret(tok)
			if !regexp.MustCompile(`^gor-[0-9A-Za-z]{32}$`).MatchString(tok) {
				t.Fatalf("the page shows %q as the token", tok)
			}
			rc := Get(t, b, "reading the .condarc", chromedp.Text(chromedp.ID("deploy-condarc")))
			if !strings.Contains(rc, "channel_alias: "+srv.URL+"/repo") || !strings.Contains(rc, "anaconda_anon_usage: true") {
				t.Errorf(".condarc shown: %q", rc)
			}
			for _, id := range []string{"created-token", "tokens", "create-token", "org-clients"} {
				r := Get(t, b, "measuring #"+id, chromedp.Evaluate[float64](`document.getElementById("`+id+`").getBoundingClientRect().right`))
				if r > float64(width)+1 {
					t.Errorf("#%s ends at %.0f px, past the %d px viewport", id, r, width)
				}
			}
			b.Do(t, "reloading: the token is not shown again",
				chromedp.Navigate(srv.URL+"/orgs/acme/registration"),
				chromedp.WaitVisible(chromedp.ID("tokens-table")),
			)
			if html := b.HTML(t); strings.Contains(html, tok) {
				t.Fatal("the token is shown again after a reload")
			}
			row := `#tokens-table tr[data-name="` + name + `"]`
			b.Do(t, "revoking it", chromedp.Click(chromedp.CSS(row+` button`)), chromedp.WaitVisible(chromedp.CSS(row+` [data-revoked]`)))

			b.Do(t, "filtering the Clients page by user",
				chromedp.Navigate(srv.URL+"/admin/clients"),
				chromedp.WaitVisible(chromedp.ID("filter-user")),
				chromedp.SendKeys(chromedp.ID("filter-user"), "admin"),
				chromedp.Click(chromedp.ID("filter-button")),
				chromedp.WaitVisible(chromedp.CSS(`#clients-table tr[data-pending]`)),
			)
			// The pending row was on the page before the filter too: wait
			// for the filtered page's address rather than for the row.
			loc := b.Location(t)
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(loc, "user=admin") && time.Now().Before(deadline); loc = b.Location(t) {
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(loc, "user=admin") {
				t.Errorf("filtered at %s", loc)
			}
			b.Do(t, "waiting for the filtered list", chromedp.WaitVisible(chromedp.CSS(`#clients-table tr[data-pending]`)))
			r := Get(t, b, "measuring the filter form", chromedp.Evaluate[float64](`document.getElementById("clients-filter").getBoundingClientRect().right`))
			if r > float64(width)+1 {
				t.Errorf("the filter form ends at %.0f px, past %d px", r, width)
			}
			b.AssertNoPageErrors(t)
		})
	}
	t.Run("revoking a pending machine's key from the Clients page", func(t *testing.T) {
		b := NewBrowser(t, 120*time.Second)
		b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
		b.Do(t, "revoking the key",
			chromedp.Navigate(srv.URL+"/admin/clients"),
			chromedp.WaitVisible(chromedp.CSS(`#clients-table tr[data-pending] button[data-revoke-key]`)),
			chromedp.Click(chromedp.CSS(`#clients-table tr[data-pending] button[data-revoke-key]`)),
			chromedp.WaitVisible(chromedp.ID("clients-empty")),
		)
		r := get(t, srv.URL+"/repo/nosuch/noarch/repodata.json", tokenAuth(key))
		if !strings.Contains(r.Body, "REVOKED") {
			t.Fatalf("the revoked key still works: %d %s", r.Status, r.Body)
		}
	})
}
