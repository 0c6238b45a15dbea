package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 11 items 20, 21, 25 and 28 in Chromium, at 1280 and 400 px: a
// private channel's URL opened in a browser leads to its page through
// sign-in; the page searches packages and opens a package's page with
// download links; a writer uploads from the page; a newcomer asks for an
// account and an administrator approves it; a network rule covering the
// administrator's own address asks first.
func TestBrowserNewcomerChannelsSignupAndNetworks(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{Args: []string{"--signup", "approval", "--signup-domains", "example.com"}})
	admin := basic("admin", srv.AdminPassword)
	if r := call(t, "POST", srv.URL+"/api/channels", `{"name":"lab","visibility":"private"}`, admin); r.Status != http.StatusCreated {
		t.Fatalf("creating lab: %d %s", r.Status, r.Body)
	}
	for _, p := range []PackageFile{
		BuildConda(t, "numpy", "1.26.4", "py312_0", "linux-64", nil, nil),
		BuildConda(t, "numpy", "2.1.0", "py312_0", "linux-64", nil, nil),
		BuildConda(t, "numpy-base", "2.1.0", "py312_0", "noarch", nil, nil),
		BuildConda(t, "scipy", "1.14.0", "py312_0", "linux-64", nil, nil),
	} {
		if res, err := Upload(http.DefaultClient, srv.URL, "lab", admin, p); err != nil || res.Status != http.StatusCreated {
			t.Fatalf("uploading %s: %v %+v", p.Filename, err, res)
		}
	}
	dir := t.TempDir()
	for _, width := range []int64{1280, 400} {
		t.Run(fmt.Sprintf("at %d px", width), func(t *testing.T) {
			b := NewBrowser(t, 150*time.Second)
			b.Do(t, "setting the viewport", chromedp.EmulateViewport(width, 900))

			// Item 21: the channel URL the page shows, opened signed out.
			b.Do(t, "opening the private channel's URL", chromedp.Navigate(srv.URL+"/repo/lab/"))
			if loc := b.Location(t); !strings.Contains(loc, "/login?next=") {
				t.Fatalf("the channel URL led to %s, not sign-in", loc)
			}
			b.EnterPassword(t, "admin", srv.AdminPassword)
			b.Do(t, "landing on the channel page", chromedp.WaitVisible(chromedp.ID("packages-table")))
			if loc := b.Location(t); !strings.HasSuffix(loc, "/channels/lab") {
				t.Errorf("after sign-in: %s", loc)
			}
			b.Do(t, "opening the platform URL", chromedp.Navigate(srv.URL+"/repo/lab/noarch/"), chromedp.WaitVisible(chromedp.ID("packages-count")))
			if c := Get(t, b, "reading the count", chromedp.Text(chromedp.ID("packages-count"))); !strings.Contains(c, "package") || !strings.Contains(c, " on noarch") {
				t.Errorf("the platform URL shows %q", c)
			}

			// Item 20: search, count, a package's page, download.
			b.Do(t, "searching for numpy",
				chromedp.Navigate(srv.URL+"/channels/lab"),
				chromedp.WaitVisible(chromedp.ID("package-q")),
				chromedp.SendKeys(chromedp.ID("package-q"), "numpy"),
				chromedp.Click(chromedp.ID("package-search-submit")),
				chromedp.WaitVisible(chromedp.ID("package-search-clear")),
			)
			rows := Get(t, b, "counting rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#packages-table tr[data-name]")].map(r => r.dataset.name)`))
			if strings.Join(rows, ",") != "numpy,numpy-base" {
				t.Errorf("the search lists %v", rows)
			}
			fitsWidth(t, b, "#packages")
			fitsWidth(t, b, "#upload")
			b.Do(t, "opening numpy's page",
				chromedp.Click(chromedp.CSS(`#packages-table tr[data-name="numpy"] a`)),
				chromedp.WaitVisible(chromedp.ID("files-table")),
			)
			files := Get(t, b, "reading the files", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#files-table tr[data-filename]")].map(r => r.dataset.filename)`))
			if strings.Join(files, ",") != "numpy-2.1.0-py312_0.conda,numpy-1.26.4-py312_0.conda" {
				t.Errorf("numpy's page lists %v", files)
			}
			n := Get(t, b, "downloading through the link", chromedp.Evaluate[int](`fetch(document.querySelector("#files-table a[data-download]").href).then(r => r.ok ? r.arrayBuffer() : null).then(b => b ? b.byteLength : -1)`, chromedp.EvalAwaitPromise))
			if n <= 0 {
				t.Errorf("the download link gave %d bytes", n)
			}
			fitsWidth(t, b, "#package-files")
			fitsWidth(t, b, "#package-install")

			// Item 20: upload from the page.
			p := BuildConda(t, fmt.Sprintf("webpkg%d", width), "0.1.0", "0", "noarch", nil, nil)
			path := filepath.Join(dir, p.Filename)
			if err := os.WriteFile(path, p.Data, 0o600); err != nil {
				t.Fatal(err)
			}
			b.Do(t, "uploading from the channel page",
				chromedp.Navigate(srv.URL+"/channels/lab"),
				chromedp.WaitVisible(chromedp.ID("upload-form")),
				chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{path}),
				chromedp.Click(chromedp.ID("upload-submit")),
				chromedp.WaitVisible(chromedp.ID("files-table")),
			)
			if h := b.HTML(t); !strings.Contains(h, "noarch/"+p.Filename+" was uploaded to lab") {
				t.Error("the package page does not confirm the upload")
			}
			r := call(t, "GET", srv.URL+"/repo/lab/noarch/repodata.json", "", admin)
			if !strings.Contains(r.Body, p.Filename) {
				t.Errorf("repodata lacks the uploaded %s", p.Filename)
			}

			b.Do(t, "opening the channels list", chromedp.Navigate(srv.URL+"/channels"), chromedp.WaitVisible(chromedp.ID("channels-table")))
			fitsWidth(t, b, "#channels")
			if owned := Get(t, b, "reading Your channels", chromedp.Text(chromedp.ID("channels-table"))); !strings.Contains(owned, "lab") {
				t.Errorf("Your channels lacks the administrator's own lab: %q", owned)
			}

			// Item 28: a rule covering this browser's own address.
			b.Do(t, "adding a network that covers the administrator",
				chromedp.Navigate(srv.URL+"/admin/networks"),
				chromedp.WaitVisible(chromedp.ID("network-cidr")),
				chromedp.SendKeys(chromedp.ID("network-cidr"), "127.0.0.0/8"),
				chromedp.Click(chromedp.ID("add-network-submit")),
				chromedp.WaitVisible(chromedp.ID("own-network-warning")),
			)
			fitsWidth(t, b, "#add-network")
			if rules := call(t, "GET", srv.URL+"/api/admin/network-rules", "", admin); strings.Contains(rules.Body, "127.0.0.0/8") {
				t.Error("the rule was added before the confirmation")
			}
			b.Do(t, "confirming", chromedp.Click(chromedp.ID("confirm-own-network")), chromedp.Click(chromedp.ID("add-network-submit")),
				chromedp.WaitVisible(chromedp.CSS(`#networks-table tr[data-cidr="127.0.0.0/8"]`)))
			b.Do(t, "removing it again", chromedp.Click(chromedp.CSS(`#networks-table tr[data-cidr="127.0.0.0/8"] a[data-open]`)),
				chromedp.WaitVisible(chromedp.CSS(`dialog[open] button[type=submit]`)), chromedp.Click(chromedp.CSS(`dialog[open] button[type=submit]`)),
				chromedp.WaitNotPresent(chromedp.CSS(`#networks-table tr[data-cidr="127.0.0.0/8"]`)))
			b.SignOut(t)

			// Item 25: a newcomer asks, the administrator approves.
			user := fmt.Sprintf("newbie%d", width)
			const pw = "a long enough password"
			b.Do(t, "following Create one from the sign-in page",
				chromedp.Navigate(srv.URL+"/login"),
				chromedp.WaitVisible(chromedp.CSS("#signup-link a")),
				chromedp.Click(chromedp.CSS("#signup-link a")),
				chromedp.WaitVisible(chromedp.ID("signup-form")),
			)
			fitsWidth(t, b, "#signup")
			b.Do(t, "asking for an account",
				chromedp.SendKeys(chromedp.ID("signup-username"), user),
				chromedp.SendKeys(chromedp.ID("signup-email"), user+"@example.com"),
				chromedp.SendKeys(chromedp.ID("signup-password"), pw),
				chromedp.SendKeys(chromedp.ID("signup-password2"), pw),
				chromedp.Click(chromedp.ID("signup-submit")),
				chromedp.WaitVisible(chromedp.ID("signup-done")),
			)
			b.SignIn(t, srv.URL, "/admin/signups", "admin", srv.AdminPassword)
			b.Do(t, "approving the request",
				chromedp.WaitVisible(chromedp.CSS(`#pending-table tr[data-username="`+user+`"] button.primary`)),
				chromedp.Click(chromedp.CSS(`#pending-table tr[data-username="`+user+`"] button.primary`)),
				chromedp.WaitVisible(chromedp.CSS(`#decided-table tr[data-username="`+user+`"]`)),
			)
			fitsWidth(t, b, "#signup-requests")
			b.SignOut(t)
			b.SignIn(t, srv.URL, "", user, pw)
			b.AssertNoPageErrors(t)
		})
	}
}
