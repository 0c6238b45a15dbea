package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 11, the web items, in Chromium against the real binary, at a
// desktop width and at 400 px: the 404 page (items 14, 15), the top bar
// at phone width (19), the API keys list (17) and the name-reuse warning
// (11), the audit log (18), the device page's code check (16), and copy
// buttons on shown commands (30). No page may be wider than the window.
// Screenshots go to $GATEHOUSE_E2E_SHOTS when it is set.
func TestNewcomerPagesInChromium(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	admin := basic("admin", srv.AdminPassword)
	channel := uniqueName("lab")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/keys", `{"name":"build-server-eu-west-01","scopes":["user","channels"],"expires_at":"` + time.Now().Add(60*24*time.Hour).UTC().Format(time.RFC3339) + `"}`},
		{"POST", "/api/keys", `{"name":"old-laptop","scopes":["channels"],"expires_at":"` + time.Now().Add(10*24*time.Hour).UTC().Format(time.RFC3339) + `"}`},
		{"POST", "/api/channels", `{"name":"` + channel + `","visibility":"private"}`},
	} {
		if r := call(t, c.method, srv.URL+c.path, c.body, admin); r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	b := NewBrowser(t, 240*time.Second)
	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
	shots := os.Getenv("GATEHOUSE_E2E_SHOTS")
	shoot := func(name string, width int64) {
		if shots == "" {
			return
		}
		png := Get(t, b, "taking a screenshot of "+name, chromedp.FullScreenshot(100)) // 100: PNG
		if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
			t.Error(err)
		}
	}
	pages := []struct{ name, path, ready string }{
		{"keys", "/settings/keys", "api-keys"},
		{"keys-create", "/settings/keys?create", "create-key-dialog"},
		{"password", "/settings/password", "password"},
		{"audit", "/admin/audit", "audit"},
		{"users", "/admin/users", "tab-users"},
		{"not-found", "/no/such/page", "page-error"},
		{"device", "/device", "device"},
		{"channel", "/channels/" + channel, "grant-form"},
	}
	for _, w := range widths {
		for _, p := range pages {
			atWidth(t, b, w, srv.URL+p.path, p.ready)
			assertFits(t, b, p.name, w)
			// Item 19: the top bar fits and its menu is on screen.
			right := Get(t, b, "measuring the top bar", chromedp.Evaluate[float64](
				`Math.max(document.querySelector(".topbar").scrollWidth, document.getElementById("user-menu").getBoundingClientRect().right)`))
			if right > float64(w) {
				t.Errorf("%s at %d px: the top bar or its user menu reaches %v px", p.name, w, right)
			}
			shoot(p.name, w)
		}
		// Item 14: the 404 page is titled with the reason and leads on.
		atWidth(t, b, w, srv.URL+"/no/such/page", "page-error")
		if title := Get(t, b, "reading the title", chromedp.Title()); title != "There is no page at this address. · Gatehouse" {
			t.Errorf("the 404 page's title is %q", title)
		}
		// Item 17: names do not break at their hyphens, headers do not wrap
		// (at a desktop width; a phone gets one card per key).
		if w == 1280 {
			atWidth(t, b, w, srv.URL+"/settings/keys", "keys-table")
			lines := Get(t, b, "counting the lines of a name", chromedp.Evaluate[int64](`(() => {
				const td = document.querySelector('tr[data-key-name="build-server-eu-west-01"] td.key-name');
				const r = document.createRange(); r.selectNodeContents(td);
				return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
			})()`))
			if lines != 1 {
				t.Errorf("the key name spans %d lines", lines)
			}
			tall := Get(t, b, "measuring the headers", chromedp.Evaluate[bool](`[...document.querySelectorAll("#keys-table th")].some(th => th.getBoundingClientRect().height > 40)`))
			if tall {
				t.Error("a header of the keys table wraps")
			}
		}
	}

	// Item 11: typing the name of an active key warns at once, naming it
	// and its expiry, and asks to confirm.
	atWidth(t, b, 1280, srv.URL+"/settings/keys", "api-keys")
	b.Do(t, "reusing a key name",
		chromedp.Click(chromedp.ID("create-key-open")),
		chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "old-laptop"),
		chromedp.WaitVisible(chromedp.ID("key-name-warning")),
	)
	warning := Get(t, b, "reading the warning", chromedp.Text(chromedp.ID("key-name-warning-text")))
	if !strings.Contains(warning, "“old-laptop”") || !strings.Contains(warning, time.Now().Add(10*24*time.Hour).UTC().Format("2006-01")) {
		t.Errorf("the warning says %q", warning)
	}
	if !Get(t, b, "checking the confirmation", chromedp.Evaluate[bool](`document.getElementById("key-replace").required`)) {
		t.Error("replacing is not asked to be confirmed")
	}
	shoot("keys-reuse", 1280)

	// Item 16: a letter outside the alphabet is named.
	atWidth(t, b, 400, srv.URL+"/device", "user-code")
	b.Do(t, "typing a code with a Y",
		chromedp.SendKeys(chromedp.ID("user-code"), "BCDF-GHJY"),
		chromedp.Click(chromedp.ID("device-continue")),
		chromedp.WaitVisible(chromedp.ID("page-error")),
	)
	if msg := Get(t, b, "reading the refusal", chromedp.Text(chromedp.ID("page-error"))); !strings.Contains(msg, "'Y'") || !strings.Contains(msg, "B C D F") {
		t.Errorf("a code with a Y: %q", msg)
	}
	shoot("device-typo", 400)

	// Item 30: every command the channel page shows has a Copy button.
	atWidth(t, b, 1280, srv.URL+"/channels/"+channel, "grant-form")
	missing := Get(t, b, "counting copy buttons", chromedp.Evaluate[int64](`[...document.querySelectorAll("pre, .command > code")]
		.filter(c => !c.closest("dialog") && !document.querySelector('[data-copy="' + (c.querySelector("code") || c).id + '"]')).length`))
	if missing != 0 {
		t.Errorf("%d commands on the channel page have no Copy button", missing)
	}
	b.AssertNoPageErrors(t)
}
