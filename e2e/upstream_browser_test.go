package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
)

// loopbackUpstreams lets the server reach the test upstreams, which
// listen on loopback: upstream channels may reach internal networks only
// when the administrator allows them (SSRF, issue 9).
const loopbackUpstreams = "--upstream-allow=127.0.0.0/8,::1"

// forgePkgs are n opaque packages of the test upstream, a few of them
// under a licence a filter can keep out.
func forgePkgs(n int) []upstreamtest.Pkg {
	old := time.Now().AddDate(-1, 0, 0)
	out := make([]upstreamtest.Pkg, n)
	for i := range out {
		lic := "MIT"
		if i%7 == 3 {
			lic = "GPL-3.0-only"
		}
		out[i] = upstreamtest.Pkg{Subdir: "linux-64", Name: fmt.Sprintf("pkg%04d", i), Version: "1.0", Build: "h0_0",
			License: lic, Timestamp: old, Depends: []string{}}
	}
	return out
}

// fitsWidth asserts nothing inside the elements root selects reaches past
// the viewport's right edge (tables scroll inside their own wrapper).
func fitsWidth(t *testing.T, b *Browser, root string) {
	t.Helper()
	wide := Get(t, b, "measuring "+root, chromedp.Evaluate[[]string](`[...document.querySelectorAll(`+"`"+root+`, `+root+` *`+"`"+`)]
		.filter(e => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-wrap"))
		.slice(0, 8).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
	if len(wide) > 0 {
		t.Errorf("in %s, wider than the window: %v", root, wide)
	}
}

// Issue 9, checklist E4: the create form makes a mirror with filters; the
// channel page shows its mode, URL, filters, state, last sync and
// progress, and "Sync now" (a CSRF-protected POST) syncs it; a stored
// token is never shown; a channel of 600 records lists its names a page of 50 at a time; and
// the pages fit a 400 px wide screen.
func TestBrowserUpstreamChannels(t *testing.T) {
	up := upstreamtest.Start(forgePkgs(40))
	t.Cleanup(up.Close)
	srv := Start(t, gatehouseBin, Options{Args: []string{"--secret-key", strings.Repeat("ab", 32), loopbackUpstreams}})
	b := NewBrowser(t, 120*time.Second)
	name := uniqueName("mirror")

	b.SignIn(t, srv.URL, "/channels", "admin", srv.AdminPassword)
	b.Do(t, "filling the create form for a mirror with a licence filter",
		chromedp.WaitVisible(chromedp.ID("create-channel-form")),
		chromedp.SendKeys(chromedp.ID("channel-name"), name),
		chromedp.Click(chromedp.ID("visibility-public")),
		chromedp.Click(chromedp.ID("kind-mirror")),
		chromedp.SendKeys(chromedp.ID("upstream-url"), up.URL),
		chromedp.Click(chromedp.CSS("#upstream-filter-fields summary")),
		chromedp.WaitVisible(chromedp.ID("filter-licenses")),
		chromedp.SendKeys(chromedp.ID("filter-licenses"), "MIT"),
		chromedp.SendKeys(chromedp.ID("filter-exclude"), "pkg000*"),
		chromedp.Click(chromedp.ID("create-channel-submit")),
		chromedp.WaitVisible(chromedp.ID("upstream")),
	)
	text := func(id string) string {
		return strings.TrimSpace(Get(t, b, "reading #"+id, chromedp.Text(chromedp.ID(id))))
	}
	if got := text("upstream-mode"); got != "mirror" {
		t.Errorf("mode %q, want mirror", got)
	}
	if got := text("upstream-url"); got != up.URL {
		t.Errorf("upstream URL %q, want %q", got, up.URL)
	}
	filters := text("upstream-filters")
	if !strings.Contains(filters, "MIT") || !strings.Contains(filters, "pkg000*") {
		t.Errorf("filters shown: %q", filters)
	}
	// The first sync runs in the background: reload until it is done.
	deadline := time.Now().Add(60 * time.Second)
	for text("upstream-state") != "ok" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		b.Do(t, "reloading the channel page", chromedp.Navigate(srv.URL+"/channels/"+name), chromedp.WaitVisible(chromedp.ID("upstream-state")))
	}
	if st := text("upstream-state"); st != "ok" {
		t.Fatalf("state %q after a minute", st)
	}
	// 40 records: 10 excluded by name (pkg0000-pkg0009), a seventh of the
	// rest by licence.
	want := 0
	for i := 10; i < 40; i++ {
		if i%7 != 3 {
			want++
		}
	}
	counts := text("sync-counts")
	if !strings.Contains(counts, fmt.Sprintf("%d of %d files copied", want, want)) {
		t.Errorf("progress %q, want %d of %d files copied", counts, want, want)
	}
	if text("upstream-refreshed") == "—" {
		t.Error("no last sync time shown")
	}

	t.Run("Sync now syncs again, and refuses a POST without the CSRF token", func(t *testing.T) {
		before := up.Hits("/linux-64/repodata_shards.msgpack.zst")
		b.Do(t, "clicking Sync now",
			chromedp.Click(chromedp.ID("sync-now")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		if flash := strings.TrimSpace(Get(t, b, "reading the flash", chromedp.Text(chromedp.CSS(".flash")))); !strings.Contains(flash, "sync of "+name+" started") {
			t.Errorf("flash %q", flash)
		}
		deadline := time.Now().Add(30 * time.Second)
		for up.Hits("/linux-64/repodata_shards.msgpack.zst") == before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if up.Hits("/linux-64/repodata_shards.msgpack.zst") == before {
			t.Error("Sync now did not ask the upstream")
		}
		// A cross-site form post: no token, another origin.
		req, _ := http.NewRequest("POST", srv.URL+"/channels/"+name+"/sync", strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.SetBasicAuth("admin", srv.AdminPassword)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusSeeOther {
			t.Errorf("a POST without session and CSRF token: %d", res.StatusCode)
		}
	})

	t.Run("a proxy's token is never shown, and its page lists 600 packages 50 at a time", func(t *testing.T) {
		big := upstreamtest.Start(forgePkgs(600))
		t.Cleanup(big.Close)
		big.Token = randomText(12) + randomText(12)
		srv.RecordSecret(big.Token)
		proxy := uniqueName("proxy")
		body := fmt.Sprintf(`{"name":%q,"visibility":"public","upstream":{"url":%q,"mode":"proxy","token":%q}}`, proxy, big.URL, big.Token)
		if r := call(t, "POST", srv.URL+"/api/channels", body, basic("admin", srv.AdminPassword)); r.Status != http.StatusCreated {
			t.Fatalf("creating the proxy: %d %s", r.Status, r.Body)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			b.Do(t, "opening the proxy's page", chromedp.Navigate(srv.URL+"/channels/"+proxy), chromedp.WaitVisible(chromedp.ID("upstream-state")))
			if text("upstream-state") == "ok" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if st := text("upstream-state"); st != "ok" {
			t.Fatalf("proxy state %q (%s)", st, b.HTML(t))
		}
		html := b.HTML(t)
		if strings.Contains(html, big.Token) {
			t.Error("the page shows the upstream's token")
		}
		if !strings.Contains(text("upstream-token"), "never shown") {
			t.Error("the page does not say a token is stored")
		}
		rows := Get(t, b, "counting package rows", chromedp.Evaluate[int](`document.querySelectorAll("#packages-table tr[data-name]").length`))
		if rows != 50 {
			t.Errorf("the page lists %d packages, want 50 (of 600)", rows)
		}
		if !strings.Contains(text("packages-capped"), "1–50 of 600") {
			t.Errorf("the page says %q, not which 50 of 600 it lists", text("packages-capped"))
		}
	})

	// (The site header's menu is wider than 400 px on every page; that is
	// the layout's, not these sections'.)
	t.Run("at 400 px the upstream section and the create form fit the screen", func(t *testing.T) {
		b.Do(t, "narrowing the window", chromedp.EmulateViewport(400, 900))
		b.Do(t, "opening the mirror's page", chromedp.Navigate(srv.URL+"/channels/"+name), chromedp.WaitVisible(chromedp.ID("sync-now")))
		fitsWidth(t, b, "#upstream")
		fitsWidth(t, b, "#packages")
		b.Do(t, "opening the create form", chromedp.Navigate(srv.URL+"/channels"), chromedp.WaitVisible(chromedp.ID("kind-proxy")),
			chromedp.Click(chromedp.CSS("#upstream-filter-fields summary")), chromedp.WaitVisible(chromedp.ID("filter-versions")))
		fitsWidth(t, b, "#create-channel")
		b.Do(t, "widening the window", chromedp.EmulateViewport(1280, 900))
	})

	t.Run("a bad version rule in the form is refused naming the field, and the form keeps its values", func(t *testing.T) {
		b.Do(t, "submitting a proxy with a bad version rule",
			chromedp.Navigate(srv.URL+"/channels"),
			chromedp.WaitVisible(chromedp.ID("create-channel-form")),
			chromedp.SendKeys(chromedp.ID("channel-name"), uniqueName("bad")),
			chromedp.Click(chromedp.ID("visibility-private")),
			chromedp.Click(chromedp.ID("kind-proxy")),
			chromedp.SendKeys(chromedp.ID("upstream-url"), up.URL),
			chromedp.Click(chromedp.CSS("#upstream-filter-fields summary")),
			chromedp.SendKeys(chromedp.ID("filter-versions"), "numpy >=1,,"),
			chromedp.Click(chromedp.ID("create-channel-submit")),
			chromedp.WaitVisible(chromedp.ID("create-channel-error")),
		)
		if msg := text("create-channel-error"); !strings.Contains(msg, "numpy") {
			t.Errorf("error %q does not name the rule", msg)
		}
		if v := Get(t, b, "reading the URL field", chromedp.Evaluate[string](`document.getElementById("upstream-url").value`)); v != up.URL {
			t.Errorf("the form lost the URL: %q", v)
		}
	})
	b.AssertNoPageErrors(t)
}
